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

enum class SelfSignedPolicy {
  keep,        // reuse the pair; a damaged one is an error, never replaced
  regenerate,  // make a new pair, moving the old files aside as <name>.<UTC time>.bak
};

// The broker's identity: the data directory's cert.pem + key.pem (storage::DataDir).
// - Neither file there (first start): a new pair from default_self_signed_request().
// - Both there, readable, belonging together and unexpired: reused (the key's mode repaired to
//   0600).
// - Expired: renewed; the old pair is moved aside as *.bak and `note` says where.
// - Anything else (one file missing, garbage, a key that is not the certificate's, a directory
//   in place of a file): nullopt, `error` says what is wrong and how to regenerate deliberately,
//   and nothing on disk is touched. Replacing a damaged identity silently would break every
//   client that pinned or copied it, with no word why.
// A new pair is written atomically as a pair (see finish_interrupted_write in the .cpp), the key
// never readable by others, the directory created 0700.
std::optional<SelfSignedFiles> load_or_create_self_signed(
    const std::string &data_dir, std::string &error,
    SelfSignedPolicy policy = SelfSignedPolicy::keep);

// Whether a certificate and key in PEM form make a usable server key pair (the key matches the
// certificate). `error` says why not.
bool key_pair_matches(const std::string &certificate_pem, const std::string &key_pem,
                      std::string &error);

}  // namespace flume::tls
