#include "tls/client_trust.hpp"

#include "tls/session_context.hpp"

namespace flume::tls {

namespace {

// Runs during the handshake when the server's certificate arrives. A nonzero return aborts the
// handshake (GnuTLS sends bad_certificate); the reason stays in the session context for the
// caller of connect.
int verify_pinned(gnutls_session_t session) {
  SessionContext *context = SessionContext::of(session);
  if (context == nullptr || context->trust == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  unsigned count = 0;
  const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) {
    context->verify_failure = "certificate verification failed: the server sent no certificate";
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  Sha256 got = sha256_of({chain[0].data, chain[0].size});
  if (got != context->trust->pin()) {
    context->verify_failure = "certificate verification failed: fingerprint mismatch: expected " +
                              format_fingerprint(context->trust->pin()) + " got " +
                              format_fingerprint(got);
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

std::shared_ptr<ClientTrust> with_credentials(std::shared_ptr<ClientTrust> trust,
                                              gnutls_certificate_credentials_t *slot,
                                              std::string &error) {
  if (int rv = gnutls_certificate_allocate_credentials(slot); rv < 0) {
    error = gnutls_strerror(rv);
    return nullptr;
  }
  return trust;
}

}  // namespace

ClientTrust::~ClientTrust() {
  if (credentials_ != nullptr) gnutls_certificate_free_credentials(credentials_);
}

std::shared_ptr<ClientTrust> ClientTrust::from_ca_file(const std::string &path,
                                                       std::string &error) {
  std::shared_ptr<ClientTrust> trust(new ClientTrust(Mode::ca_file));
  if (!with_credentials(trust, &trust->credentials_, error)) return nullptr;
  trust->source_ = path;
  int count = gnutls_certificate_set_x509_trust_file(trust->credentials_, path.c_str(),
                                                     GNUTLS_X509_FMT_PEM);
  if (count < 0) {
    error = "cannot load CA file " + path + ": " + gnutls_strerror(count);
    return nullptr;
  }
  if (count == 0) {
    error = "CA file " + path + " holds no certificates";
    return nullptr;
  }
  return trust;
}

std::shared_ptr<ClientTrust> ClientTrust::from_ca_file_with_identity(const std::string &ca_file,
                                                                     const std::string &certificate,
                                                                     const std::string &key,
                                                                     std::string &error) {
  auto trust = from_ca_file(ca_file, error);
  if (!trust) return nullptr;
  if (int rv = gnutls_certificate_set_x509_key_file(trust->credentials_, certificate.c_str(),
                                                    key.c_str(), GNUTLS_X509_FMT_PEM);
      rv < 0) {
    error = "cannot load " + certificate + " / " + key + ": " + gnutls_strerror(rv);
    return nullptr;
  }
  return trust;
}

std::shared_ptr<ClientTrust> ClientTrust::from_fingerprint(std::string_view fingerprint,
                                                           std::string &error) {
  auto pin = parse_fingerprint(fingerprint);
  if (!pin) {
    error = "not a SHA-256 fingerprint (expected 32 hex bytes, e.g. AB:CD:…): " +
            std::string(fingerprint);
    return nullptr;
  }
  std::shared_ptr<ClientTrust> trust(new ClientTrust(Mode::pinned));
  if (!with_credentials(trust, &trust->credentials_, error)) return nullptr;
  trust->pin_ = *pin;
  gnutls_certificate_set_verify_function(trust->credentials_, verify_pinned);
  return trust;
}

std::shared_ptr<ClientTrust> ClientTrust::from_system_store(std::string &error) {
  std::shared_ptr<ClientTrust> trust(new ClientTrust(Mode::system));
  if (!with_credentials(trust, &trust->credentials_, error)) return nullptr;
  // An empty store is not an error here: every server then fails verification with "signer not
  // found", which is the accurate description.
  if (int count = gnutls_certificate_set_x509_system_trust(trust->credentials_); count < 0) {
    error = std::string("cannot load the system trust store: ") + gnutls_strerror(count);
    return nullptr;
  }
  return trust;
}

std::shared_ptr<ClientTrust> ClientTrust::insecure() {
  std::shared_ptr<ClientTrust> trust(new ClientTrust(Mode::insecure));
  std::string ignored;
  if (!with_credentials(trust, &trust->credentials_, ignored)) return nullptr;
  return trust;
}

std::string ClientTrust::describe() const {
  switch (mode_) {
    case Mode::ca_file:
      return "CA file " + source_;
    case Mode::pinned:
      return "pinned SHA-256 " + format_fingerprint(pin_);
    case Mode::system:
      return "system trust store";
    case Mode::insecure:
      break;
  }
  return "no verification";
}

}  // namespace flume::tls
