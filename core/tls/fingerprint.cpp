#include "tls/fingerprint.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cctype>

#include "text/encoding.hpp"

namespace flume::tls {

Sha256 sha256_of(std::span<const std::uint8_t> der) {
  Sha256 digest{};
  gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), digest.data());
  return digest;
}

std::string format_fingerprint(const Sha256 &digest) {
  const std::string hex = text::to_hex(digest);
  std::string out;
  out.reserve(digest.size() * 3);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (!out.empty()) out.push_back(':');
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i]))));
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1]))));
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
  std::string hex;
  for (char c : text) {
    if (c != ':' && c != ' ' && c != '-') hex.push_back(c);
  }
  const auto bytes = text::from_hex(hex);
  Sha256 digest{};
  if (!bytes || bytes->size() != digest.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

}  // namespace flume::tls
