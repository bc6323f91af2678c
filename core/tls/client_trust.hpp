// How a client decides to trust a broker's certificate. Four modes, each a shared GnuTLS
// credentials object that every client session of an endpoint uses:
// - ca_file: a PEM file of trust anchors (a private CA, or the broker's self-signed cert.pem);
//   chain, validity and the server name/IP are verified.
// - pinned: the SHA-256 fingerprint of the exact certificate; nothing else is checked (the pin
//   is stronger than any name), so a self-signed certificate works from any host.
// - system: the operating system's CA store; chain, validity and name are verified.
// - insecure: nothing is verified. The caller must warn loudly; the session still records the
//   server's fingerprint so the warning can say what to pin.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>
#include <string_view>

#include "tls/fingerprint.hpp"

namespace flume::tls {

class ClientTrust {
 public:
  enum class Mode { ca_file, pinned, system, insecure };

  static std::shared_ptr<ClientTrust> from_ca_file(const std::string &path, std::string &error);
  // ca_file trust that also presents a certificate of our own when the server asks for one
  // (mutual TLS between overlay nodes).
  static std::shared_ptr<ClientTrust> from_ca_file_with_identity(const std::string &ca_file,
                                                                 const std::string &certificate,
                                                                 const std::string &key,
                                                                 std::string &error);
  static std::shared_ptr<ClientTrust> from_fingerprint(std::string_view fingerprint,
                                                       std::string &error);
  static std::shared_ptr<ClientTrust> from_system_store(std::string &error);
  static std::shared_ptr<ClientTrust> insecure();

  ~ClientTrust();
  ClientTrust(const ClientTrust &) = delete;
  ClientTrust &operator=(const ClientTrust &) = delete;

  Mode mode() const noexcept { return mode_; }
  gnutls_certificate_credentials_t native() const noexcept { return credentials_; }
  // Whether sessions must verify chain and name with gnutls_session_set_verify_cert.
  bool verifies_chain() const noexcept { return mode_ == Mode::ca_file || mode_ == Mode::system; }
  const Sha256 &pin() const noexcept { return pin_; }
  // "CA file /x/cert.pem", "pinned SHA-256 AB:…", "system trust store", "no verification".
  std::string describe() const;

 private:
  explicit ClientTrust(Mode mode) : mode_(mode) {}

  Mode mode_;
  gnutls_certificate_credentials_t credentials_ = nullptr;
  Sha256 pin_{};
  std::string source_;  // the CA file path
};

}  // namespace flume::tls
