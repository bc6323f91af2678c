#include "tls/self_signed_store.hpp"

#include <gnutls/gnutls.h>
#include <sys/stat.h>

#include <ctime>

#include "storage/data_dir.hpp"

namespace flume::tls {

bool key_pair_matches(const std::string &certificate_pem, const std::string &key_pem,
                      std::string &error) {
  gnutls_certificate_credentials_t credentials = nullptr;
  if (gnutls_certificate_allocate_credentials(&credentials) < 0) {
    error = "out of memory";
    return false;
  }
  gnutls_datum_t cert{reinterpret_cast<unsigned char *>(const_cast<char *>(certificate_pem.data())),
                      static_cast<unsigned>(certificate_pem.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char *>(const_cast<char *>(key_pem.data())),
                     static_cast<unsigned>(key_pem.size())};
  int rv = gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM,
                                                nullptr, 0);
  gnutls_certificate_free_credentials(credentials);
  if (rv < 0) {
    error = gnutls_strerror(rv);
    return false;
  }
  return true;
}

std::optional<SelfSignedFiles> load_or_create_self_signed(const std::string &data_dir,
                                                          std::string &error) {
  SelfSignedFiles files;
  const storage::DataDir dir(data_dir.empty() ? "." : data_dir);
  files.certificate_path = dir.certificate_file();
  files.key_path = dir.key_file();

  auto cert = storage::DataDir::read(files.certificate_path);
  auto key = storage::DataDir::read(files.key_path);
  if (!cert || !key) {
    files.note = "no certificate found";
  } else {
    std::string why;
    auto summary = summarize_certificate_pem(*cert, why);
    if (!summary) {
      files.note = "the old certificate was unreadable (" + why + ")";
    } else if (summary->not_after <= std::time(nullptr)) {
      files.note = "the old certificate expired on " + format_utc(summary->not_after);
    } else if (!key_pair_matches(*cert, *key, why)) {
      files.note = "the old key did not load (" + why + ")";
    } else {
      chmod(files.key_path.c_str(), 0600);  // repair, in case someone widened it
      files.certificate_pem = std::move(*cert);
      files.key_pem = std::move(*key);
      files.summary = std::move(*summary);
      return files;
    }
  }

  if (!dir.create(error)) return std::nullopt;
  auto pair = generate_self_signed(default_self_signed_request(), error);
  if (!pair) return std::nullopt;
  auto summary = summarize_certificate_pem(pair->certificate, error);
  if (!summary) return std::nullopt;
  // Key first: a crash in between leaves a certificate whose key does not match, which the next
  // start detects and replaces, never a new certificate next to an old key.
  if (!storage::DataDir::write_atomically(files.key_path, pair->private_key, 0600, error) ||
      !storage::DataDir::write_atomically(files.certificate_path, pair->certificate, 0644, error)) {
    return std::nullopt;
  }
  files.certificate_pem = std::move(pair->certificate);
  files.key_pem = std::move(pair->private_key);
  files.summary = std::move(*summary);
  files.created = true;
  return files;
}

}  // namespace flume::tls
