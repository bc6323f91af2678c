// SHA-256 certificate fingerprints: what a broker prints for its certificate and what a client
// pins with --pin. One textual form everywhere: upper-case hex pairs joined by colons, the form
// `openssl x509 -fingerprint -sha256` and browsers show, so users can compare them by eye.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flume::tls {

using Sha256 = std::array<std::uint8_t, 32>;

// SHA-256 of a DER-encoded certificate.
Sha256 sha256_of(std::span<const std::uint8_t> der);

// "AB:CD:…" (95 characters for SHA-256).
std::string format_fingerprint(const Sha256 &digest);

// Accepts what users paste: colons, spaces or nothing between the pairs, either case, and an
// optional "sha256:" / "SHA256=" prefix. nullopt unless exactly 32 bytes of hex remain.
std::optional<Sha256> parse_fingerprint(std::string_view text);

}  // namespace flume::tls
