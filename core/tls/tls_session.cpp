#include "tls/tls_session.hpp"

#include <arpa/inet.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <vector>

#include "tls/certificate.hpp"
#include "tls/cluster_certificates.hpp"

namespace flume::tls {

namespace {

ngtcp2_conn *connection_of(ngtcp2_crypto_conn_ref *ref) {
  return static_cast<SessionContext *>(ref->user_data)->conn;
}

bool is_ip_literal(const std::string &name) {
  unsigned char raw[16];
  return inet_pton(AF_INET, name.c_str(), raw) == 1 || inet_pton(AF_INET6, name.c_str(), raw) == 1;
}

std::string join(const std::vector<std::string> &parts, std::string_view separator) {
  std::string out;
  for (const std::string &part : parts) {
    if (!out.empty()) out.append(separator);
    out.append(part);
  }
  return out;
}

}  // namespace

TlsSession::~TlsSession() {
  if (session_ != nullptr) gnutls_deinit(session_);
}

bool TlsSession::configure(unsigned flags, std::string_view alpn,
                           gnutls_certificate_credentials_t creds, std::string &error) {
  auto fail = [&](const char *what, int rv) {
    error = std::string(what) + ": " + gnutls_strerror(rv);
    return false;
  };
  // No 0-RTT in Flume v1 (docs/protocol.md §2), so no GNUTLS_ENABLE_EARLY_DATA; QUIC carries
  // no EndOfEarlyData message, hence GNUTLS_NO_END_OF_EARLY_DATA.
  if (int rv = gnutls_init(&session_, flags | GNUTLS_NO_END_OF_EARLY_DATA); rv < 0) {
    session_ = nullptr;
    return fail("gnutls_init", rv);
  }
  if (int rv = gnutls_priority_set_direct(session_, kQuicPriority, nullptr); rv < 0) {
    return fail("gnutls_priority_set_direct", rv);
  }
  int rv = (flags & GNUTLS_SERVER) ? ngtcp2_crypto_gnutls_configure_server_session(session_)
                                   : ngtcp2_crypto_gnutls_configure_client_session(session_);
  if (rv != 0) {
    error = "ngtcp2_crypto_gnutls_configure_session failed";
    return false;
  }
  context_ = std::make_unique<SessionContext>();
  context_->conn_ref.get_conn = connection_of;
  context_->conn_ref.user_data = context_.get();
  gnutls_session_set_ptr(session_, &context_->conn_ref);
  if (int r = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, creds); r < 0) {
    return fail("gnutls_credentials_set", r);
  }
  // Mandatory: a peer without a common protocol fails the handshake (alert 120) instead of
  // connecting and speaking something else.
  alpn_ = std::string(alpn);
  gnutls_datum_t protocol{reinterpret_cast<unsigned char *>(alpn_.data()),
                          static_cast<unsigned>(alpn_.size())};
  if (int r = gnutls_alpn_set_protocols(session_, &protocol, 1, GNUTLS_ALPN_MANDATORY); r < 0) {
    return fail("gnutls_alpn_set_protocols", r);
  }
  return true;
}

std::unique_ptr<TlsSession> TlsSession::server(std::shared_ptr<const ServerCredentials> credentials,
                                               std::string_view alpn, std::string &error) {
  if (!credentials) {
    error = "no server certificate configured";
    return nullptr;
  }
  std::unique_ptr<TlsSession> session(new TlsSession());
  // Flume does not resume sessions, so the server sends no tickets.
  if (!session->configure(GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET, alpn, credentials->native(),
                          error)) {
    return nullptr;
  }
  if (credentials->requires_client_certificates()) {
    // Mutual TLS: no certificate, or one that does not chain to the configured CA, fails the
    // handshake (certificate_required / bad_certificate alerts).
    gnutls_certificate_server_set_request(session->session_, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session->session_, nullptr, 0);
  }
  session->server_credentials_ = std::move(credentials);
  return session;
}

std::unique_ptr<TlsSession> TlsSession::client(std::shared_ptr<const ClientTrust> trust,
                                               std::string_view alpn, std::string_view server_name,
                                               std::string &error) {
  if (!trust) {
    error = "no trust configured (CA file, fingerprint, system store or insecure)";
    return nullptr;
  }
  std::unique_ptr<TlsSession> session(new TlsSession());
  if (!session->configure(GNUTLS_CLIENT, alpn, trust->native(), error)) return nullptr;
  SessionContext &context = *session->context_;
  context.trust = trust.get();
  context.expected_name = std::string(server_name);
  if (!context.expected_name.empty() && !is_ip_literal(context.expected_name)) {
    gnutls_server_name_set(session->session_, GNUTLS_NAME_DNS, context.expected_name.data(),
                           context.expected_name.size());
  }
  // A GnuTLS client verifies nothing unless asked: without set_verify_cert a handshake succeeds
  // with any certificate, trust anchor or not. This makes the handshake check
  // chain, validity and that the certificate names expected_name (DNS name or IP address).
  if (trust->verifies_chain()) {
    gnutls_session_set_verify_cert(
        session->session_, context.expected_name.empty() ? nullptr : context.expected_name.c_str(),
        0);
  }
  session->client_trust_ = std::move(trust);
  return session;
}

void TlsSession::attach(ngtcp2_conn *conn) noexcept {
  context_->conn = conn;
  ngtcp2_conn_set_tls_native_handle(conn, session_);
}

std::string TlsSession::negotiated_alpn() const {
  gnutls_datum_t selected{};
  if (gnutls_alpn_get_selected_protocol(session_, &selected) != 0) return {};
  return {reinterpret_cast<const char *>(selected.data), selected.size};
}

std::string TlsSession::requested_server_name() const {
  char name[256] = {};
  std::size_t size = sizeof name - 1;
  unsigned type = 0;
  if (gnutls_server_name_get(session_, name, &size, &type, 0) != 0 || type != GNUTLS_NAME_DNS) {
    return {};
  }
  return {name, size};
}

std::string TlsSession::peer_fingerprint() const {
  unsigned count = 0;
  const gnutls_datum_t *chain = gnutls_certificate_get_peers(session_, &count);
  if (chain == nullptr || count == 0) return {};
  return format_fingerprint(sha256_of({chain[0].data, chain[0].size}));
}

std::string TlsSession::peer_common_name() const {
  unsigned count = 0;
  const gnutls_datum_t *chain = gnutls_certificate_get_peers(session_, &count);
  if (chain == nullptr || count == 0) return {};
  return certificate_common_name(
      {reinterpret_cast<const char *>(chain[0].data), static_cast<std::size_t>(chain[0].size)});
}

std::string TlsSession::verification_failure() const {
  if (!context_->verify_failure.empty()) return context_->verify_failure;
  if (!client_trust_ || !client_trust_->verifies_chain()) return {};
  unsigned status = gnutls_session_get_verify_cert_status(session_);
  if (status == 0 || status == static_cast<unsigned>(-1)) return {};

  std::optional<CertificateSummary> peer;
  unsigned count = 0;
  const gnutls_datum_t *chain = gnutls_certificate_get_peers(session_, &count);
  std::string ignored;
  if (chain != nullptr && count > 0)
    peer = summarize_certificate_der({chain[0].data, chain[0].size}, ignored);

  std::vector<std::string> reasons;
  if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
    reasons.emplace_back(
        peer && peer->self_signed
            ? "signer not found (self-signed certificate not trusted; pass the broker's CA file "
              "or its fingerprint)"
            : "signer not found (issued by a CA that is not trusted; pass that CA's certificate "
              "file)");
  }
  if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
    std::string names = peer ? join(peer->names, ", ") : std::string();
    reasons.push_back("name mismatch: the certificate is not valid for \"" +
                      context_->expected_name + "\"" +
                      (names.empty() ? std::string() : " (it names " + names + ")"));
  }
  if (status & GNUTLS_CERT_EXPIRED) {
    reasons.push_back("expired" + (peer ? " on " + format_utc(peer->not_after) : std::string()));
  }
  if (status & GNUTLS_CERT_NOT_ACTIVATED) {
    reasons.push_back("not yet valid" +
                      (peer ? " (valid from " + format_utc(peer->not_before) + "; check the clock)"
                            : std::string()));
  }
  if (status & GNUTLS_CERT_REVOKED) reasons.emplace_back("revoked");
  if (status & GNUTLS_CERT_SIGNER_NOT_CA) reasons.emplace_back("issuer is not a CA");
  if (status & GNUTLS_CERT_INSECURE_ALGORITHM) reasons.emplace_back("insecure signature algorithm");
  if (status & GNUTLS_CERT_SIGNATURE_FAILURE) reasons.emplace_back("bad signature");
  if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
    reasons.emplace_back("not a TLS server certificate (key purpose)");
  }
  if (reasons.empty()) {
    gnutls_datum_t text{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) >= 0) {
      reasons.emplace_back(reinterpret_cast<const char *>(text.data), text.size);
      gnutls_free(text.data);
    } else {
      reasons.emplace_back("status " + std::to_string(status));
    }
  }
  return "certificate verification failed: " + join(reasons, "; ");
}

std::string describe_tls_alert(std::uint8_t alert) {
  const char *name = gnutls_alert_get_strname(static_cast<gnutls_alert_description_t>(alert));
  return std::string(name != nullptr ? name : "unknown alert") + " (" + std::to_string(alert) + ")";
}

}  // namespace flume::tls
