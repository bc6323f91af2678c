#include "tls/fingerprint.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cctype>

namespace flume::tls {

Sha256 sha256_of(std::span<const std::uint8_t> der) {
  Sha256 digest{};
  gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), digest.data());
  return digest;
}

std::string format_fingerprint(const Sha256 &digest) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(digest.size() * 3);
  for (std::uint8_t byte : digest) {
    if (!out.empty()) out.push_back(':');
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

std::optional<Sha256> parse_fingerprint(std::string_view text) {
  for (std::string_view prefix : {"sha256:", "sha256=", "SHA256:", "SHA256=", "sha-256:"}) {
    if (text.substr(0, prefix.size()) == prefix) {
      text.remove_prefix(prefix.size());
      break;
    }
  }
  Sha256 digest{};
  std::size_t nibbles = 0;
  for (char c : text) {
    if (c == ':' || c == ' ' || c == '-') continue;
    int value;
    if (c >= '0' && c <= '9') {
      value = c - '0';
    } else if (std::isxdigit(static_cast<unsigned char>(c))) {
      value = std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (nibbles == digest.size() * 2) return std::nullopt;
    digest[nibbles / 2] = static_cast<std::uint8_t>(digest[nibbles / 2] << 4 | value);
    ++nibbles;
  }
  if (nibbles != digest.size() * 2) return std::nullopt;
  return digest;
}

}  // namespace flume::tls
