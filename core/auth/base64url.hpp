// Base64url without padding (RFC 4648 §5), the text form of tokens and operator keys. Written here
// because GnuTLS only offers the standard alphabet with padding, and because decoding must be
// strict: a token has exactly one text form, so non-canonical trailing bits are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flume::auth {

std::string to_base64url(std::span<const std::uint8_t> bytes);
// nullopt for a byte outside the alphabet, '=' padding, an impossible length (4n+1), or unused
// trailing bits that are not zero.
std::optional<std::vector<std::uint8_t>> from_base64url(std::string_view text);

}  // namespace flume::auth
