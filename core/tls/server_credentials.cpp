#include "tls/server_credentials.hpp"

#include <fstream>
#include <sstream>

#include "tls/self_signed_store.hpp"

namespace flume::tls {

namespace {

std::optional<std::string> read_file(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

ServerCredentials::~ServerCredentials() {
  if (credentials_ != nullptr) gnutls_certificate_free_credentials(credentials_);
}

std::shared_ptr<ServerCredentials> ServerCredentials::from_pem(const std::string &certificate_pem,
                                                               const std::string &key_pem,
                                                               std::string &error) {
  std::shared_ptr<ServerCredentials> out(new ServerCredentials());
  auto summary = summarize_certificate_pem(certificate_pem, error);
  if (!summary) return nullptr;
  out->summary_ = std::move(*summary);
  if (int rv = gnutls_certificate_allocate_credentials(&out->credentials_); rv < 0) {
    error = gnutls_strerror(rv);
    return nullptr;
  }
  gnutls_datum_t cert{reinterpret_cast<unsigned char *>(const_cast<char *>(certificate_pem.data())),
                      static_cast<unsigned>(certificate_pem.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char *>(const_cast<char *>(key_pem.data())),
                     static_cast<unsigned>(key_pem.size())};
  if (int rv = gnutls_certificate_set_x509_key_mem2(out->credentials_, &cert, &key,
                                                    GNUTLS_X509_FMT_PEM, nullptr, 0);
      rv < 0) {
    error = std::string("loading certificate and key: ") + gnutls_strerror(rv);
    return nullptr;
  }
  return out;
}

std::shared_ptr<ServerCredentials> ServerCredentials::load_files(
    const std::string &certificate_path, const std::string &key_path, std::string &error) {
  auto cert = read_file(certificate_path, error);
  if (!cert) return nullptr;
  auto key = read_file(key_path, error);
  if (!key) return nullptr;
  std::string why;
  auto out = from_pem(*cert, *key, why);
  if (!out) {
    error = certificate_path + " / " + key_path + ": " + why;
    return nullptr;
  }
  out->certificate_path_ = certificate_path;
  out->key_path_ = key_path;
  return out;
}

std::shared_ptr<ServerCredentials> ServerCredentials::load_or_create_self_signed(
    const std::string &data_dir, std::string &error, SelfSignedPolicy policy) {
  auto files = tls::load_or_create_self_signed(data_dir, error, policy);
  if (!files) return nullptr;
  auto out = from_pem(files->certificate_pem, files->key_pem, error);
  if (!out) return nullptr;
  out->certificate_path_ = files->certificate_path;
  out->key_path_ = files->key_path;
  out->generated_now_ = files->created;
  out->note_ = files->note;
  return out;
}

bool ServerCredentials::require_client_certificates(const std::string &ca_file,
                                                    std::string &error) {
  int count =
      gnutls_certificate_set_x509_trust_file(credentials_, ca_file.c_str(), GNUTLS_X509_FMT_PEM);
  if (count <= 0) {
    error = "cannot load CA file " + ca_file + ": " +
            (count < 0 ? std::string(gnutls_strerror(count)) : std::string("no certificates"));
    return false;
  }
  require_client_ = true;
  return true;
}

std::string ServerCredentials::trust_hint() const {
  std::string where = certificate_path_.empty() ? "<its certificate file>" : certificate_path_;
  return "clients trust it with --ca " + where + " or --pin " + fingerprint();
}

}  // namespace flume::tls
