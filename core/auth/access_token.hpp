// An access token: who (tenant and subject), what (grants) and when (a validity window), signed
// by an operator key. This file is the token's model and its byte encoding, with no
// cryptography, so a fuzzer can drive the parser alone; token_signing.hpp signs and verifies.
// The normative encoding is docs/protocol.md section 18.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/grants.hpp"

namespace flume::auth {

inline constexpr std::size_t kKeyIdSize = 8;
inline constexpr std::size_t kTokenIdSize = 16;
inline constexpr std::size_t kSignatureSize = 64;
// The longest token text accepted, prefix included: checked before any decoding, so a peer
// cannot make a verifier decode or allocate more.
inline constexpr std::size_t kMaxTokenText = 8192;
inline constexpr std::size_t kMaxPatternsPerList = 64;
inline constexpr std::size_t kMaxTenantLength = 64;
// How far a verifier's clock may disagree with the issuer's: a token is accepted from
// not_before - 60 s until expires + 60 s.
inline constexpr std::uint64_t kClockSkewSeconds = 60;
inline constexpr std::uint8_t kTokenVersion = 1;
inline constexpr std::string_view kTokenPrefix = "flt1.";
// What the signature covers: this context, then the body. The context keeps a token signature
// from ever being valid for anything else the operator key signs later.
inline constexpr std::string_view kSignatureContext{"flume access token v1\0", 22};

using KeyId = std::array<std::uint8_t, kKeyIdSize>;
using TokenId = std::array<std::uint8_t, kTokenIdSize>;
using Signature = std::array<std::uint8_t, kSignatureSize>;

struct AccessToken {
  std::string tenant;   // one subject token, 1 to 64 bytes ("acme")
  std::string subject;  // who holds it: a valid subject ("service.billing", "user.alice")
  Grants grants;
  std::uint64_t not_before = 0;  // Unix seconds
  std::uint64_t expires = 0;     // Unix seconds, after not_before
  TokenId id{};
  KeyId key_id{};  // the operator key that signed it
};

// Every way a token is refused, each with its own message (describe()).
enum class TokenError {
  ok = 0,
  malformed,      // not a token: prefix, base64url, structure, or an invalid field
  oversized,      // longer than kMaxTokenText
  unknown_key,    // signed by a key the verifier does not hold
  bad_signature,  // the signature does not match the body
  expired,        // now >= expires + skew
  not_yet_valid,  // now < not_before - skew
};
const char *describe(TokenError error) noexcept;

// Empty if the claims can be encoded: a valid tenant, subject and patterns, at most
// kMaxPatternsPerList per list, not_before < expires. Otherwise what is wrong with them.
std::string check_claims(const AccessToken &token);

// The body (everything the signature covers after the context). Claims must pass check_claims.
std::vector<std::uint8_t> encode_body(const AccessToken &token);
// What a signature is computed over: kSignatureContext then `body`.
std::vector<std::uint8_t> signed_bytes(std::span<const std::uint8_t> body);
// "flt1." + base64url(body || signature).
std::string token_text(std::span<const std::uint8_t> body, const Signature &signature);

// A token taken apart, not yet verified.
struct ParsedToken {
  AccessToken token;
  std::vector<std::uint8_t> body;
  Signature signature{};
};

// Parses a token's text: ok, oversized or malformed (then `detail` says what is wrong). Bounded:
// it reads at most kMaxTokenText bytes of text and allocates in proportion to them.
TokenError parse_token(std::string_view text, ParsedToken &out, std::string &detail);

}  // namespace flume::auth
