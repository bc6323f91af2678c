// Operator keys (Ed25519 through GnuTLS) and the two things done with them: issuing a token with
// the secret key, and verifying one offline against the public keys a node trusts. Several public
// keys at once is how keys rotate: trust the new key, issue with it, drop the old one once every
// token it signed has expired.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_token.hpp"

namespace flume::auth {

inline constexpr std::string_view kPublicKeyPrefix = "flpk1.";
inline constexpr std::string_view kSecretKeyPrefix = "flsk1.";
using RawKey = std::array<std::uint8_t, 32>;

// The first 8 bytes of SHA-256 of the 32-byte public key.
KeyId key_id_of(const RawKey &public_key);
std::string format_key_id(const KeyId &id);  // 16 lower-case hex digits

// A public operator key: verifies signatures. Copies share one GnuTLS key.
class VerifyingKey {
 public:
  // "flpk1." + base64url of the 32-byte key (surrounding whitespace ignored); nullopt with the
  // reason in `error`.
  static std::optional<VerifyingKey> parse(std::string_view text, std::string &error);
  static std::optional<VerifyingKey> from_raw(const RawKey &public_key, std::string &error);

  const KeyId &id() const noexcept { return id_; }
  std::string text() const;
  bool verify(std::span<const std::uint8_t> message, const Signature &signature) const;

 private:
  struct Handle;
  RawKey raw_{};
  KeyId id_{};
  std::shared_ptr<Handle> handle_;
};

// A secret operator key: signs tokens. Kept as its raw halves; a GnuTLS key is made per use.
class SigningKey {
 public:
  static std::optional<SigningKey> generate(std::string &error);
  // "flsk1." + base64url of the 32-byte private key then the 32-byte public key. Both halves are
  // stored because GnuTLS needs both to import an Ed25519 key; parse checks they belong together.
  static std::optional<SigningKey> parse(std::string_view text, std::string &error);

  const KeyId &id() const noexcept { return id_; }
  std::string text() const;  // the secret form
  const RawKey &public_key() const noexcept { return public_; }
  std::string public_text() const;
  std::optional<Signature> sign(std::span<const std::uint8_t> message, std::string &error) const;

 private:
  RawKey private_{};
  RawKey public_{};
  KeyId id_{};
};

// Signs `claims` (key id set to the key's, a fresh random token id unless one is given): the
// token's text, or nullopt with the reason (invalid claims, a token over kMaxTokenText).
std::optional<std::string> issue_token(const SigningKey &key, AccessToken claims,
                                       std::string &error, bool keep_id = false);

struct Verification {
  TokenError error = TokenError::malformed;
  std::string message;  // describe(error), then what exactly, for the person reading the log
  AccessToken token;    // as parsed; meaningful when error is ok (and shown by inspect anyway)
  bool parsed = false;  // whether `token` holds the parsed fields
};

// The whole check, in this order so each failure is the first that applies: size, structure,
// a trusted key with the token's key id, the signature, then the time window at `now` (Unix
// seconds) with kClockSkewSeconds either side. Never throws; bounded by kMaxTokenText.
Verification verify_token(std::string_view text, std::span<const VerifyingKey> keys,
                          std::uint64_t now);

}  // namespace flume::auth
