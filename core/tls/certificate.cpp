#include "tls/certificate.hpp"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

#include <array>
#include <memory>

namespace flume::tls {

namespace {

struct CrtDeleter {
  void operator()(gnutls_x509_crt_t crt) const noexcept { gnutls_x509_crt_deinit(crt); }
};
struct KeyDeleter {
  void operator()(gnutls_x509_privkey_t key) const noexcept { gnutls_x509_privkey_deinit(key); }
};
using Crt = std::unique_ptr<std::remove_pointer_t<gnutls_x509_crt_t>, CrtDeleter>;
using Key = std::unique_ptr<std::remove_pointer_t<gnutls_x509_privkey_t>, KeyDeleter>;

// Takes ownership of GnuTLS-allocated output.
std::string take_datum(gnutls_datum_t &datum) {
  std::string out(reinterpret_cast<const char *>(datum.data), datum.size);
  gnutls_free(datum.data);
  datum.data = nullptr;
  return out;
}

bool failed(int rv, const char *what, std::string &error) {
  if (rv >= 0) return false;
  error = std::string(what) + ": " + gnutls_strerror(rv);
  return true;
}

// A host name usable as a dNSName: letters, digits, '-' and '.', nothing else.
bool plausible_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<CertificateSummary> summarize(gnutls_x509_crt_t crt, std::string &error) {
  CertificateSummary out;
  gnutls_datum_t der{};
  if (failed(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), "exporting certificate",
             error)) {
    return std::nullopt;
  }
  std::string bytes = take_datum(der);
  out.sha256 = sha256_of({reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size()});
  out.fingerprint = format_fingerprint(out.sha256);
  out.not_before = gnutls_x509_crt_get_activation_time(crt);
  out.not_after = gnutls_x509_crt_get_expiration_time(crt);
  for (unsigned i = 0;; ++i) {
    std::array<char, 256> name{};
    std::size_t size = name.size();
    int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name.data(), &size, nullptr);
    if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
    if (type < 0) continue;  // too long or malformed: not worth failing a summary over
    if (type == GNUTLS_SAN_DNSNAME) {
      out.names.emplace_back(name.data(), size);
    } else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(size == 4 ? AF_INET : AF_INET6, name.data(), text, sizeof text);
      out.names.emplace_back(text);
    }
  }
  gnutls_datum_t issuer{}, subject{};
  if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer) >= 0 &&
      gnutls_x509_crt_get_raw_dn(crt, &subject) >= 0) {
    out.self_signed = take_datum(issuer) == take_datum(subject);
  }
  gnutls_free(issuer.data);
  gnutls_free(subject.data);
  return out;
}

}  // namespace

SelfSignedRequest default_self_signed_request() {
  SelfSignedRequest request;
  request.dns_names.emplace_back("localhost");
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0) {
    std::string name(host.data());
    if (plausible_dns_name(name) && name != "localhost") request.dns_names.push_back(name);
  }
  request.ip_addresses = {"127.0.0.1", "::1"};
  return request;
}

std::optional<PemKeyPair> generate_self_signed(const SelfSignedRequest &request,
                                               std::string &error) {
  if (request.dns_names.empty() && request.ip_addresses.empty()) {
    error = "a certificate needs at least one name or address";
    return std::nullopt;
  }
  gnutls_x509_privkey_t raw_key = nullptr;
  if (failed(gnutls_x509_privkey_init(&raw_key), "creating key", error)) return std::nullopt;
  Key key(raw_key);
  if (failed(gnutls_x509_privkey_generate2(key.get(), GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                           nullptr, 0),
             "generating ECDSA P-256 key", error)) {
    return std::nullopt;
  }

  gnutls_x509_crt_t raw_crt = nullptr;
  if (failed(gnutls_x509_crt_init(&raw_crt), "creating certificate", error)) return std::nullopt;
  Crt crt(raw_crt);

  // A positive 16-byte serial: random so two generated certificates never collide in a client's
  // store, top bit clear because DER integers are signed.
  std::array<std::uint8_t, 16> serial{};
  gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size());
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x01);

  // Backdated an hour so a client whose clock is a little behind still accepts it.
  std::time_t now = std::time(nullptr);
  std::string cn =
      request.dns_names.empty() ? request.ip_addresses.front() : request.dns_names.front();
  std::string dn = "O=Flume self-signed,CN=" + cn;
  int rv = 0;
  const char *step = "";
  auto run = [&](const char *what, int result) {
    if (rv >= 0) {
      rv = result;
      step = what;
    }
  };
  run("set version", gnutls_x509_crt_set_version(crt.get(), 3));
  run("set serial", gnutls_x509_crt_set_serial(crt.get(), serial.data(), serial.size()));
  run("set activation", gnutls_x509_crt_set_activation_time(crt.get(), now - 3600));
  run("set expiration", gnutls_x509_crt_set_expiration_time(
                            crt.get(), now + static_cast<std::time_t>(request.validity.count())));
  run("set subject", gnutls_x509_crt_set_dn(crt.get(), dn.c_str(), nullptr));
  run("set key", gnutls_x509_crt_set_key(crt.get(), key.get()));
  for (const std::string &name : request.dns_names) {
    run("add DNS name",
        gnutls_x509_crt_set_subject_alt_name(crt.get(), GNUTLS_SAN_DNSNAME, name.data(),
                                             name.size(), GNUTLS_FSAN_APPEND));
  }
  for (const std::string &ip : request.ip_addresses) {
    std::array<std::uint8_t, 16> raw{};
    unsigned size = 0;
    if (inet_pton(AF_INET, ip.c_str(), raw.data()) == 1) {
      size = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), raw.data()) == 1) {
      size = 16;
    } else {
      error = "not an IP address: " + ip;
      return std::nullopt;
    }
    run("add IP address",
        gnutls_x509_crt_set_subject_alt_name(crt.get(), GNUTLS_SAN_IPADDRESS, raw.data(), size,
                                             GNUTLS_FSAN_APPEND));
  }
  // An end-entity certificate, not a CA: strict verifiers (rustls/webpki) refuse a CA
  // certificate presented as a server's own, while GnuTLS, OpenSSL and Go all accept a non-CA
  // self-signed certificate that is itself the trust anchor.
  run("set basic constraints", gnutls_x509_crt_set_basic_constraints(crt.get(), 0, -1));
  run("set key usage", gnutls_x509_crt_set_key_usage(crt.get(), GNUTLS_KEY_DIGITAL_SIGNATURE));
  run("set purpose", gnutls_x509_crt_set_key_purpose_oid(crt.get(), GNUTLS_KP_TLS_WWW_SERVER, 0));
  run("set subject key id", [&] {
    std::array<std::uint8_t, 64> id{};
    std::size_t size = id.size();
    int r = gnutls_x509_privkey_get_key_id(key.get(), GNUTLS_KEYID_USE_SHA1, id.data(), &size);
    return r < 0 ? r : gnutls_x509_crt_set_subject_key_id(crt.get(), id.data(), size);
  }());
  run("sign", gnutls_x509_crt_sign2(crt.get(), crt.get(), key.get(), GNUTLS_DIG_SHA256, 0));
  if (failed(rv, step, error)) return std::nullopt;

  PemKeyPair out;
  gnutls_datum_t pem{};
  if (failed(gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_PEM, &pem), "exporting certificate",
             error)) {
    return std::nullopt;
  }
  out.certificate = take_datum(pem);
  if (failed(gnutls_x509_privkey_export2_pkcs8(key.get(), GNUTLS_X509_FMT_PEM, nullptr,
                                               GNUTLS_PKCS_PLAIN, &pem),
             "exporting key", error)) {
    return std::nullopt;
  }
  out.private_key = take_datum(pem);
  return out;
}

std::optional<CertificateSummary> summarize_certificate_pem(std::string_view pem,
                                                            std::string &error) {
  gnutls_x509_crt_t raw = nullptr;
  if (failed(gnutls_x509_crt_init(&raw), "creating certificate", error)) return std::nullopt;
  Crt crt(raw);
  gnutls_datum_t datum{reinterpret_cast<unsigned char *>(const_cast<char *>(pem.data())),
                       static_cast<unsigned>(pem.size())};
  if (failed(gnutls_x509_crt_import(crt.get(), &datum, GNUTLS_X509_FMT_PEM),
             "reading PEM certificate", error)) {
    return std::nullopt;
  }
  return summarize(crt.get(), error);
}

std::optional<CertificateSummary> summarize_certificate_der(std::span<const std::uint8_t> der,
                                                            std::string &error) {
  gnutls_x509_crt_t raw = nullptr;
  if (failed(gnutls_x509_crt_init(&raw), "creating certificate", error)) return std::nullopt;
  Crt crt(raw);
  gnutls_datum_t datum{const_cast<unsigned char *>(der.data()), static_cast<unsigned>(der.size())};
  if (failed(gnutls_x509_crt_import(crt.get(), &datum, GNUTLS_X509_FMT_DER),
             "reading DER certificate", error)) {
    return std::nullopt;
  }
  return summarize(crt.get(), error);
}

std::string format_utc(std::time_t time) {
  std::tm parts{};
  gmtime_r(&time, &parts);
  char text[32] = {};
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

}  // namespace flume::tls
