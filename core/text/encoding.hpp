// Hex and base64 through GnuTLS's own codecs (gnutls_hex_encode2 and friends), so the tree keeps
// no hand-written ones.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flume::text {

// Lower-case hex, two digits a byte, nothing between them.
std::string to_hex(std::span<const std::uint8_t> bytes);
// Hex digits of either case, an even number of them, nothing else; nullopt otherwise.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);
// Standard base64 (RFC 4648 §4) with '=' padding, on one line.
std::string to_base64(std::span<const std::uint8_t> bytes);

}  // namespace flume::text
