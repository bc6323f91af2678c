#include "tls/cluster_certificates.hpp"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <array>
#include <ctime>
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

constexpr std::time_t kDay = 24 * 3600;

std::string take_datum(gnutls_datum_t &datum) {
  std::string out(reinterpret_cast<const char *>(datum.data), datum.size);
  gnutls_free(datum.data);
  datum.data = nullptr;
  return out;
}

gnutls_datum_t datum_of(const std::string &text) {
  return {reinterpret_cast<unsigned char *>(const_cast<char *>(text.data())),
          static_cast<unsigned>(text.size())};
}

// Collects the first failing GnuTLS step of a sequence, so the builders read as a list of steps.
struct Steps {
  int rv = 0;
  const char *step = "";
  void run(const char *what, int result) {
    if (rv >= 0) {
      rv = result;
      step = what;
    }
  }
  bool failed(std::string &error) const {
    if (rv >= 0) return false;
    error = std::string(step) + ": " + gnutls_strerror(rv);
    return true;
  }
};

Key new_key(std::string &error) {
  gnutls_x509_privkey_t raw = nullptr;
  Steps steps;
  steps.run("creating key", gnutls_x509_privkey_init(&raw));
  Key key(raw);
  steps.run("generating ECDSA P-256 key",
            gnutls_x509_privkey_generate2(key.get(), GNUTLS_PK_ECDSA,
                                          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                          nullptr, 0));
  if (steps.failed(error)) return nullptr;
  return key;
}

// Version, random positive serial, validity (backdated an hour for skewed clocks), subject, key.
void fill_common(Steps &steps, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
                 const std::string &dn, std::time_t lifetime) {
  std::array<std::uint8_t, 16> serial{};
  gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size());
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x01);
  const std::time_t now = std::time(nullptr);
  steps.run("set version", gnutls_x509_crt_set_version(crt, 3));
  steps.run("set serial", gnutls_x509_crt_set_serial(crt, serial.data(), serial.size()));
  steps.run("set activation", gnutls_x509_crt_set_activation_time(crt, now - 3600));
  steps.run("set expiration", gnutls_x509_crt_set_expiration_time(crt, now + lifetime));
  steps.run("set subject", gnutls_x509_crt_set_dn(crt, dn.c_str(), nullptr));
  steps.run("set key", gnutls_x509_crt_set_key(crt, key));
  std::array<std::uint8_t, 64> id{};
  std::size_t size = id.size();
  int r = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id.data(), &size);
  steps.run("set subject key id",
            r < 0 ? r : gnutls_x509_crt_set_subject_key_id(crt, id.data(), size));
}

std::optional<PemKeyPair> export_pair(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
                                      std::string &error) {
  PemKeyPair out;
  gnutls_datum_t pem{};
  Steps steps;
  steps.run("exporting certificate", gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem));
  if (steps.failed(error)) return std::nullopt;
  out.certificate = take_datum(pem);
  steps.run("exporting key", gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr,
                                                               GNUTLS_PKCS_PLAIN, &pem));
  if (steps.failed(error)) return std::nullopt;
  out.private_key = take_datum(pem);
  return out;
}

}  // namespace

bool valid_node_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<PemKeyPair> generate_cluster_ca(std::string_view cluster_name, std::string &error) {
  if (!valid_node_name(cluster_name)) {
    error = "cluster name must be 1-64 letters, digits, '-', '_' or '.'";
    return std::nullopt;
  }
  Key key = new_key(error);
  if (!key) return std::nullopt;
  gnutls_x509_crt_t raw = nullptr;
  Steps steps;
  steps.run("creating certificate", gnutls_x509_crt_init(&raw));
  Crt crt(raw);
  if (steps.failed(error)) return std::nullopt;
  fill_common(steps, crt.get(), key.get(),
              "O=Flume cluster,CN=" + std::string(cluster_name) + " Flume cluster CA", 3650 * kDay);
  // A CA that may sign end-entity certificates only (path length 0).
  steps.run("set basic constraints", gnutls_x509_crt_set_basic_constraints(crt.get(), 1, 0));
  steps.run("set key usage", gnutls_x509_crt_set_key_usage(
                                 crt.get(), GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
  steps.run("sign", gnutls_x509_crt_sign2(crt.get(), crt.get(), key.get(), GNUTLS_DIG_SHA256, 0));
  if (steps.failed(error)) return std::nullopt;
  return export_pair(crt.get(), key.get(), error);
}

std::optional<PemKeyPair> issue_node_certificate(const PemKeyPair &ca,
                                                 const NodeCertificateRequest &request,
                                                 std::string &error) {
  if (!valid_node_name(request.node_name)) {
    error = "node name must be 1-64 letters, digits, '-', '_' or '.': '" + request.node_name + "'";
    return std::nullopt;
  }
  gnutls_x509_crt_t raw_ca = nullptr;
  gnutls_x509_privkey_t raw_ca_key = nullptr;
  Steps steps;
  steps.run("creating certificate", gnutls_x509_crt_init(&raw_ca));
  Crt ca_crt(raw_ca);
  steps.run("creating key", gnutls_x509_privkey_init(&raw_ca_key));
  Key ca_key(raw_ca_key);
  if (steps.failed(error)) return std::nullopt;
  gnutls_datum_t ca_pem = datum_of(ca.certificate);
  gnutls_datum_t ca_key_pem = datum_of(ca.private_key);
  steps.run("reading the CA certificate",
            gnutls_x509_crt_import(ca_crt.get(), &ca_pem, GNUTLS_X509_FMT_PEM));
  steps.run("reading the CA key",
            gnutls_x509_privkey_import(ca_key.get(), &ca_key_pem, GNUTLS_X509_FMT_PEM));
  if (steps.failed(error)) return std::nullopt;
  if (gnutls_x509_crt_get_ca_status(ca_crt.get(), nullptr) <= 0) {
    error = "the CA certificate is not a CA (basicConstraints)";
    return std::nullopt;
  }

  Key key = new_key(error);
  if (!key) return std::nullopt;
  gnutls_x509_crt_t raw = nullptr;
  steps.run("creating certificate", gnutls_x509_crt_init(&raw));
  Crt crt(raw);
  if (steps.failed(error)) return std::nullopt;
  fill_common(steps, crt.get(), key.get(), "O=Flume cluster,CN=" + request.node_name, 365 * kDay);

  std::vector<std::string> dns = {request.node_name, "localhost"};
  dns.insert(dns.end(), request.dns_names.begin(), request.dns_names.end());
  std::vector<std::string> ips = {"127.0.0.1", "::1"};
  ips.insert(ips.end(), request.ip_addresses.begin(), request.ip_addresses.end());
  for (const std::string &name : dns) {
    steps.run("add DNS name",
              gnutls_x509_crt_set_subject_alt_name(crt.get(), GNUTLS_SAN_DNSNAME, name.data(),
                                                   name.size(), GNUTLS_FSAN_APPEND));
  }
  for (const std::string &ip : ips) {
    std::array<std::uint8_t, 16> bytes{};
    unsigned size = 0;
    if (inet_pton(AF_INET, ip.c_str(), bytes.data()) == 1) {
      size = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), bytes.data()) == 1) {
      size = 16;
    } else {
      error = "not an IP address: " + ip;
      return std::nullopt;
    }
    steps.run("add IP address",
              gnutls_x509_crt_set_subject_alt_name(crt.get(), GNUTLS_SAN_IPADDRESS, bytes.data(),
                                                   size, GNUTLS_FSAN_APPEND));
  }
  steps.run("set basic constraints", gnutls_x509_crt_set_basic_constraints(crt.get(), 0, -1));
  steps.run("set key usage",
            gnutls_x509_crt_set_key_usage(crt.get(), GNUTLS_KEY_DIGITAL_SIGNATURE));
  // Both purposes: every node is a TLS server to the nodes that dial it and a TLS client of the
  // nodes it dials, and GnuTLS checks the purpose on each side.
  steps.run("set server purpose",
            gnutls_x509_crt_set_key_purpose_oid(crt.get(), GNUTLS_KP_TLS_WWW_SERVER, 0));
  steps.run("set client purpose",
            gnutls_x509_crt_set_key_purpose_oid(crt.get(), GNUTLS_KP_TLS_WWW_CLIENT, 0));
  std::array<std::uint8_t, 64> ca_id{};
  std::size_t ca_id_size = ca_id.size();
  int r = gnutls_x509_crt_get_subject_key_id(ca_crt.get(), ca_id.data(), &ca_id_size, nullptr);
  if (r >= 0) {
    steps.run("set authority key id",
              gnutls_x509_crt_set_authority_key_id(crt.get(), ca_id.data(), ca_id_size));
  }
  steps.run("sign",
            gnutls_x509_crt_sign2(crt.get(), ca_crt.get(), ca_key.get(), GNUTLS_DIG_SHA256, 0));
  if (steps.failed(error)) return std::nullopt;
  return export_pair(crt.get(), key.get(), error);
}

std::string certificate_common_name(std::string_view der) {
  gnutls_x509_crt_t raw = nullptr;
  if (gnutls_x509_crt_init(&raw) < 0) return {};
  Crt crt(raw);
  gnutls_datum_t datum{reinterpret_cast<unsigned char *>(const_cast<char *>(der.data())),
                       static_cast<unsigned>(der.size())};
  if (gnutls_x509_crt_import(crt.get(), &datum, GNUTLS_X509_FMT_DER) < 0) return {};
  std::array<char, 256> name{};
  std::size_t size = name.size();
  if (gnutls_x509_crt_get_dn_by_oid(crt.get(), GNUTLS_OID_X520_COMMON_NAME, 0, 0, name.data(),
                                    &size) < 0) {
    return {};
  }
  return {name.data(), size};
}

}  // namespace flume::tls
