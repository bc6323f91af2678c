// One TLS 1.3 session configured for QUIC (ngtcp2's GnuTLS backend): priority string, ALPN,
// credentials, server name and certificate verification, and the link to the ngtcp2 connection
// (ngtcp2's GnuTLS hooks find the connection through the session pointer, so it is set before
// the first handshake byte). The QUIC layer owns one per connection.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tls/client_trust.hpp"
#include "tls/server_credentials.hpp"
#include "tls/session_context.hpp"

namespace flume::tls {

// TLS 1.3 only (QUIC requires it), without the middlebox-compatibility mode QUIC forbids, AEADs
// ngtcp2 can use, and the two groups every TLS 1.3 peer supports.
inline constexpr const char *kQuicPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";

// TLS alert numbers the transport reports specially.
inline constexpr std::uint8_t kAlertBadCertificate = 42;
inline constexpr std::uint8_t kAlertNoApplicationProtocol = 120;

class TlsSession {
 public:
  static std::unique_ptr<TlsSession> server(std::shared_ptr<const ServerCredentials> credentials,
                                            std::string_view alpn, std::string &error);
  // `server_name`: a DNS name (sent as SNI and verified) or an IP literal (verified against the
  // certificate's IP addresses; never sent as SNI, which RFC 6066 forbids).
  static std::unique_ptr<TlsSession> client(std::shared_ptr<const ClientTrust> trust,
                                            std::string_view alpn, std::string_view server_name,
                                            std::string &error);
  ~TlsSession();
  TlsSession(const TlsSession &) = delete;
  TlsSession &operator=(const TlsSession &) = delete;

  // Links session and connection both ways (ngtcp2's hooks find the connection through the
  // session pointer). Call right after ngtcp2_conn_*_new, before the first read or write.
  void attach(ngtcp2_conn *conn) noexcept;

  gnutls_session_t native() const noexcept { return session_; }

  std::string negotiated_alpn() const;
  bool alpn_matches() const { return negotiated_alpn() == alpn_; }
  std::string requested_server_name() const;  // server side: the client's SNI, "" if none
  std::string peer_fingerprint() const;       // SHA-256 of the peer's leaf certificate, or ""
  std::string peer_common_name() const;       // the CN of the peer's leaf certificate, or ""

  // Client: why the server's certificate was refused ("certificate verification failed: …"),
  // or "" when it was not refused.
  std::string verification_failure() const;

 private:
  TlsSession() = default;
  bool configure(unsigned flags, std::string_view alpn, gnutls_certificate_credentials_t creds,
                 std::string &error);

  gnutls_session_t session_ = nullptr;
  std::unique_ptr<SessionContext> context_;  // heap: its address is handed to GnuTLS
  std::string alpn_;
  std::shared_ptr<const ServerCredentials> server_credentials_;
  std::shared_ptr<const ClientTrust> client_trust_;
};

// "no_application_protocol (120)" and the like.
std::string describe_tls_alert(std::uint8_t alert);

}  // namespace flume::tls
