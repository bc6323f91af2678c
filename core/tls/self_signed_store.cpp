#include "tls/self_signed_store.hpp"

#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace flume::tls {

namespace {

std::optional<std::string> read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

// Creates `dir` and its parents (the last one 0700: it holds a private key).
bool make_directories(const std::string &dir, std::string &error) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST) {
      error = "cannot create " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    error = dir + " is not a directory";
    return false;
  }
  return true;
}

// Writes through a temporary file created with `mode` and renamed over `path`: readers see the
// old file or the complete new one, and a key file is never readable by others.
bool write_file_atomically(const std::string &path, const std::string &content, mode_t mode,
                           std::string &error) {
  std::string temporary = path + ".tmp." + std::to_string(getpid());
  unlink(temporary.c_str());
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + temporary + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "cannot write " + temporary + ": " + std::strerror(errno);
      close(fd);
      unlink(temporary.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  fchmod(fd, mode);  // the umask may have narrowed it further; never wider than asked
  bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced || rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace

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
  std::string dir = data_dir.empty() ? "." : data_dir;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  files.certificate_path = dir + "/cert.pem";
  files.key_path = dir + "/key.pem";

  auto cert = read_file(files.certificate_path);
  auto key = read_file(files.key_path);
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

  if (!make_directories(dir, error)) return std::nullopt;
  auto pair = generate_self_signed(default_self_signed_request(), error);
  if (!pair) return std::nullopt;
  auto summary = summarize_certificate_pem(pair->certificate, error);
  if (!summary) return std::nullopt;
  // Key first: a crash in between leaves a certificate whose key does not match, which the next
  // start detects and replaces, never a new certificate next to an old key.
  if (!write_file_atomically(files.key_path, pair->private_key, 0600, error) ||
      !write_file_atomically(files.certificate_path, pair->certificate, 0644, error)) {
    return std::nullopt;
  }
  files.certificate_pem = std::move(pair->certificate);
  files.key_pem = std::move(pair->private_key);
  files.summary = std::move(*summary);
  files.created = true;
  return files;
}

}  // namespace flume::tls
