// What a broker presents in the TLS handshake: its certificate chain and private key, loaded once
// into GnuTLS credentials that every server session shares.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>

#include "tls/certificate.hpp"
#include "tls/self_signed_store.hpp"

namespace flume::tls {

class ServerCredentials {
 public:
  // The configured pair (PEM; the certificate file may hold the chain, leaf first).
  static std::shared_ptr<ServerCredentials> load_files(const std::string &certificate_path,
                                                       const std::string &key_path,
                                                       std::string &error);
  // No certificate configured: the self-signed pair in `data_dir` (made on first use, reused
  // afterwards; see self_signed_store.hpp).
  static std::shared_ptr<ServerCredentials> load_or_create_self_signed(
      const std::string &data_dir, std::string &error,
      SelfSignedPolicy policy = SelfSignedPolicy::keep);
  // From memory (tests, embedding). The paths are only for messages and may be empty.
  static std::shared_ptr<ServerCredentials> from_pem(const std::string &certificate_pem,
                                                     const std::string &key_pem,
                                                     std::string &error);

  ~ServerCredentials();
  ServerCredentials(const ServerCredentials &) = delete;
  ServerCredentials &operator=(const ServerCredentials &) = delete;

  gnutls_certificate_credentials_t native() const noexcept { return credentials_; }

  const std::string &certificate_path() const noexcept { return certificate_path_; }
  const std::string &key_path() const noexcept { return key_path_; }
  const CertificateSummary &certificate() const noexcept { return summary_; }
  const std::string &fingerprint() const noexcept { return summary_.fingerprint; }
  bool self_signed() const noexcept { return summary_.self_signed; }
  bool generated_now() const noexcept { return generated_now_; }  // made by this load
  const std::string &generation_note() const noexcept { return note_; }

  // Mutual TLS (node links): every session using these credentials demands a client certificate
  // that chains to a trust anchor in `ca_file` (PEM), and fails the handshake without one. Call
  // before the credentials are shared.
  bool require_client_certificates(const std::string &ca_file, std::string &error);
  bool requires_client_certificates() const noexcept { return require_client_; }

  // One line for the broker's start-up log, e.g. "clients trust it with --ca /var/lib/flume/
  // cert.pem or --pin AB:CD:…".
  std::string trust_hint() const;

 private:
  ServerCredentials() = default;

  gnutls_certificate_credentials_t credentials_ = nullptr;
  std::string certificate_path_;
  std::string key_path_;
  CertificateSummary summary_;
  bool generated_now_ = false;
  bool require_client_ = false;
  std::string note_;
};

}  // namespace flume::tls
