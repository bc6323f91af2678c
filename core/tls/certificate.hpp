// X.509 certificates through GnuTLS: making the broker's self-signed one, and reading what a
// certificate says (fingerprint, validity, names) for messages and reuse decisions.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tls/fingerprint.hpp"

namespace flume::tls {

struct SelfSignedRequest {
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries; the first is the CN
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress entries ("127.0.0.1", "::1")
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
};

// What Flume puts in a broker's certificate when none is configured: DNS localhost and this
// machine's host name, IP 127.0.0.1 and ::1. Good for clients on the same machine (and on the
// LAN by host name); remote clients trust it explicitly by CA file or fingerprint.
SelfSignedRequest default_self_signed_request();

struct PemKeyPair {
  std::string certificate;  // PEM "CERTIFICATE"
  std::string private_key;  // PEM "PRIVATE KEY" (unencrypted PKCS#8)
};

// A fresh ECDSA P-256 key and a certificate signed by it, for TLS server authentication
// (extended key usage serverAuth, not a CA). nullopt with `error` set on failure.
std::optional<PemKeyPair> generate_self_signed(const SelfSignedRequest &request,
                                               std::string &error);

struct CertificateSummary {
  Sha256 sha256{};
  std::string fingerprint;  // format_fingerprint(sha256)
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::vector<std::string> names;  // subjectAltName DNS names and IP addresses, as text
  bool self_signed = false;        // issuer == subject
};

// The first certificate of a PEM text, or of one DER certificate.
std::optional<CertificateSummary> summarize_certificate_pem(std::string_view pem,
                                                            std::string &error);
std::optional<CertificateSummary> summarize_certificate_der(std::span<const std::uint8_t> der,
                                                            std::string &error);

// "2025-11-22 01:02:03 UTC"
std::string format_utc(std::time_t time);

}  // namespace flume::tls
