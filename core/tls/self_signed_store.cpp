#include "tls/self_signed_store.hpp"

#include <gnutls/gnutls.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>

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

namespace {

enum class FileState { absent, regular, other };

FileState state_of(const std::string &path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0)
    return errno == ENOENT ? FileState::absent : FileState::other;
  if (S_ISLNK(info.st_mode) && stat(path.c_str(), &info) != 0) return FileState::other;
  return S_ISREG(info.st_mode) ? FileState::regular : FileState::other;
}

std::string utc_stamp() {
  char text[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

std::string damaged(const std::string &what) {
  return "the broker's certificate is damaged: " + what +
         ". Nothing was changed. Restore the files from a backup, or make a new certificate "
         "deliberately with flume-broker --regenerate-certificate (it keeps the old files as "
         "*.bak; clients that pinned or copied the old certificate must then trust the new one)";
}

// Moves the pair aside as <name>.<UTC time>.bak; returns the names kept (for the note).
bool back_up(const std::vector<std::string> &paths, std::string &kept, std::string &error) {
  // Appended, not "." + ...: GCC 12 at -O3 reports a false -Wrestrict inside operator+.
  std::string suffix(".");
  suffix.append(utc_stamp()).append(".bak");
  for (const std::string &path : paths) {
    if (state_of(path) == FileState::absent) continue;
    if (std::rename(path.c_str(), (path + suffix).c_str()) != 0) {
      error = "cannot keep a backup of " + path + ": " + std::strerror(errno);
      return false;
    }
    kept += (kept.empty() ? "" : ", ") + path + suffix;
  }
  return true;
}

// A new pair is written as key.pem.new and cert.pem.new, then renamed key first. A crash leaves
// either both .new files (nothing committed: they are dropped and the old pair stands) or only
// cert.pem.new (the key is committed: the certificate follows). So the pair on disk always
// belongs together, and the next start finishes or forgets an interrupted write.
void finish_interrupted_write(const storage::DataDir &dir) {
  const std::string cert_new = dir.certificate_file() + ".new";
  const std::string key_new = dir.key_file() + ".new";
  if (state_of(cert_new) != FileState::regular) return;
  if (state_of(key_new) == FileState::regular) {
    std::remove(key_new.c_str());
    std::remove(cert_new.c_str());
    return;
  }
  auto cert = storage::DataDir::read(cert_new);
  auto key = storage::DataDir::read(dir.key_file());
  std::string why;
  if (cert && key && key_pair_matches(*cert, *key, why)) {
    std::rename(cert_new.c_str(), dir.certificate_file().c_str());
  }
}

bool write_pair(const storage::DataDir &dir, const PemKeyPair &pair, std::string &error) {
  const std::string cert_new = dir.certificate_file() + ".new";
  const std::string key_new = dir.key_file() + ".new";
  if (!storage::DataDir::write_atomically(key_new, pair.private_key, 0600, error) ||
      !storage::DataDir::write_atomically(cert_new, pair.certificate, 0644, error)) {
    std::remove(key_new.c_str());
    std::remove(cert_new.c_str());
    return false;
  }
  if (std::rename(key_new.c_str(), dir.key_file().c_str()) != 0 ||
      std::rename(cert_new.c_str(), dir.certificate_file().c_str()) != 0) {
    error = "cannot install the new certificate in " + dir.path() + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

std::optional<SelfSignedFiles> load_or_create_self_signed(const std::string &data_dir,
                                                          std::string &error,
                                                          SelfSignedPolicy policy) {
  SelfSignedFiles files;
  const storage::DataDir dir(data_dir.empty() ? "." : data_dir);
  files.certificate_path = dir.certificate_file();
  files.key_path = dir.key_file();
  finish_interrupted_write(dir);

  const FileState cert_state = state_of(files.certificate_path);
  const FileState key_state = state_of(files.key_path);
  for (const auto &[path, state] :
       {std::pair{files.certificate_path, cert_state}, std::pair{files.key_path, key_state}}) {
    if (state == FileState::other) {
      error = damaged(path + " is not a regular file");
      return std::nullopt;
    }
  }
  const bool none = cert_state == FileState::absent && key_state == FileState::absent;
  std::string kept;
  if (none) {
    files.note = "no certificate found";
  } else if (policy == SelfSignedPolicy::regenerate) {
    if (!back_up({files.certificate_path, files.key_path}, kept, error)) return std::nullopt;
    files.note = "regenerated as asked; the old files are kept as " + kept;
  } else {
    if (cert_state == FileState::absent || key_state == FileState::absent) {
      const std::string &missing =
          cert_state == FileState::absent ? files.certificate_path : files.key_path;
      const std::string &present =
          cert_state == FileState::absent ? files.key_path : files.certificate_path;
      error = damaged(missing + " is missing while " + present + " exists");
      return std::nullopt;
    }
    auto cert = storage::DataDir::read(files.certificate_path);
    auto key = storage::DataDir::read(files.key_path);
    if (!cert || !key) {
      error = damaged("cannot read " + (cert ? files.key_path : files.certificate_path) + ": " +
                      std::strerror(errno));
      return std::nullopt;
    }
    std::string why;
    auto summary = summarize_certificate_pem(*cert, why);
    if (!summary) {
      error = damaged(files.certificate_path + " is not a certificate (" + why + ")");
      return std::nullopt;
    }
    if (!key_pair_matches(*cert, *key, why)) {
      error = damaged(files.key_path + " is not the key of " + files.certificate_path + " (" + why +
                      ")");
      return std::nullopt;
    }
    if (summary->not_after > std::time(nullptr)) {
      chmod(files.key_path.c_str(), 0600);  // repair, in case someone widened it
      files.certificate_pem = std::move(*cert);
      files.key_pem = std::move(*key);
      files.summary = std::move(*summary);
      return files;
    }
    // Expired is not damaged: a self-signed certificate is renewed, the old pair kept.
    if (!back_up({files.certificate_path, files.key_path}, kept, error)) return std::nullopt;
    files.note = "the old certificate expired on " + format_utc(summary->not_after) +
                 "; it is kept as " + kept;
  }

  if (!dir.create(error)) return std::nullopt;
  auto pair = generate_self_signed(default_self_signed_request(), error);
  if (!pair) return std::nullopt;
  auto summary = summarize_certificate_pem(pair->certificate, error);
  if (!summary) return std::nullopt;
  if (!write_pair(dir, *pair, error)) return std::nullopt;
  files.certificate_pem = std::move(pair->certificate);
  files.key_pem = std::move(pair->private_key);
  files.summary = std::move(*summary);
  files.created = true;
  return files;
}

}  // namespace flume::tls
