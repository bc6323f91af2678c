// The broker's self-signed certificate on disk: made once in a data directory and reused on every
// later start, so the fingerprint clients pinned (or the cert.pem they copied) stays valid.
#pragma once

#include <optional>
#include <string>

#include "tls/certificate.hpp"

namespace flume::tls {

struct SelfSignedFiles {
  std::string certificate_path;  // <dir>/cert.pem, mode 0644
  std::string key_path;          // <dir>/key.pem, mode 0600
  std::string certificate_pem;
  std::string key_pem;
  CertificateSummary summary;
  bool created = false;  // false: an existing pair was reused
  std::string note;      // why a new pair was made ("", "none found", "expired on …", …)
};

// Reuses the data directory's cert.pem + key.pem (storage::DataDir) when both read, parse,
// belong together and the certificate has not expired; otherwise generates
// default_self_signed_request() and writes it (creating data_dir with mode 0700 if needed; the
// key is written to a temporary file with mode 0600 and renamed, so it is never readable by
// others, even briefly). nullopt with `error` set
// when the directory or files cannot be written.
std::optional<SelfSignedFiles> load_or_create_self_signed(const std::string &data_dir,
                                                          std::string &error);

// Whether a certificate and key in PEM form make a usable server key pair (the key matches the
// certificate). `error` says why not.
bool key_pair_matches(const std::string &certificate_pem, const std::string &key_pem,
                      std::string &error);

}  // namespace flume::tls
