// Feeds arbitrary bytes to the access-token parser and traps on any broken invariant: a token it
// accepts has valid claims and exactly one text form (re-encoding gives back the same bytes).
//
// An input starting with an even byte is the token's binary form (body then signature, base64url
// encoded here), so the fuzzer reaches the body decoder without having to discover base64url; an
// odd first byte, the rest is the text as a peer would send it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "auth/access_token.hpp"
#include "auth/base64url.hpp"

namespace {

using namespace flume::auth;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

void parse_and_check(std::string_view text) {
  ParsedToken parsed;
  std::string detail;
  const TokenError error = parse_token(text, parsed, detail);
  check(error == TokenError::ok || error == TokenError::malformed ||
        error == TokenError::oversized);
  check((error == TokenError::ok) == detail.empty());
  check((error == TokenError::oversized) == (text.size() > kMaxTokenText));
  if (error != TokenError::ok) return;
  check(check_claims(parsed.token).empty());
  check(encode_body(parsed.token) == parsed.body);
  check(token_text(parsed.body, parsed.signature) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    parse_and_check(std::string(kTokenPrefix) + to_base64url(rest));
  } else {
    parse_and_check(std::string_view(reinterpret_cast<const char *>(rest.data()), rest.size()));
  }
  return 0;
}
