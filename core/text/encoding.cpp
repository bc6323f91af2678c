#include "text/encoding.hpp"

#include <gnutls/gnutls.h>

#include <new>

namespace flume::text {
namespace {

gnutls_datum_t datum_of(const void *data, std::size_t size) {
  return {static_cast<unsigned char *>(const_cast<void *>(data)), static_cast<unsigned int>(size)};
}

// Owns what a gnutls_*2 function allocated.
struct GnutlsOutput {
  gnutls_datum_t datum{nullptr, 0};
  ~GnutlsOutput() { gnutls_free(datum.data); }
  std::string_view text() const { return {reinterpret_cast<const char *>(datum.data), datum.size}; }
};

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return {};
  const gnutls_datum_t input = datum_of(bytes.data(), bytes.size());
  GnutlsOutput output;
  // Fails only when out of memory.
  if (gnutls_hex_encode2(&input, &output.datum) != GNUTLS_E_SUCCESS) throw std::bad_alloc();
  return std::string(output.text().substr(0, bytes.size() * 2));  // without the terminating NUL
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.empty()) return std::vector<std::uint8_t>{};
  const gnutls_datum_t input = datum_of(hex.data(), hex.size());
  GnutlsOutput output;
  if (gnutls_hex_decode2(&input, &output.datum) != GNUTLS_E_SUCCESS) return std::nullopt;
  return std::vector<std::uint8_t>(output.datum.data, output.datum.data + output.datum.size);
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return {};
  const gnutls_datum_t input = datum_of(bytes.data(), bytes.size());
  GnutlsOutput output;
  if (gnutls_base64_encode2(&input, &output.datum) != GNUTLS_E_SUCCESS) throw std::bad_alloc();
  return std::string(output.text());
}

}  // namespace flume::text
