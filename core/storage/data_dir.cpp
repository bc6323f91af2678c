#include "storage/data_dir.hpp"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace flume::storage {

namespace {

const char *non_empty_env(const char *name) {
  const char *value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

std::string default_data_dir() {
  if (const char *dir = non_empty_env("FLUME_DATA_DIR")) return dir;
  if (const char *xdg = non_empty_env("XDG_DATA_HOME")) return std::string(xdg) + "/flume";
  if (const char *home = non_empty_env("HOME")) return std::string(home) + "/.local/share/flume";
  return "/var/lib/flume";
}

DataDir::DataDir(std::string path) : path_(path.empty() ? default_data_dir() : std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/')
    path_.pop_back();
}

bool DataDir::create(std::string &error) const {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path_.find('/', pos + 1);
    const std::string partial = path_.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST) {
      error = "cannot create " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat info {};
  if (stat(path_.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    error = path_ + " is not a directory";
    return false;
  }
  return true;
}

bool DataDir::write_atomically(const std::string &file, std::string_view content, mode_t mode,
                               std::string &error) {
  const std::string temporary = file + ".tmp." + std::to_string(getpid());
  unlink(temporary.c_str());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + temporary + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
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
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced || rename(temporary.c_str(), file.c_str()) != 0) {
    error = "cannot write " + file + ": " + std::strerror(errno);
    unlink(temporary.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> DataDir::read(const std::string &file) {
  struct stat info {};
  if (stat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

std::optional<std::array<std::uint8_t, 32>> load_or_create_transport_secret(const DataDir &dir,
                                                                            std::string &error) {
  std::array<std::uint8_t, 32> secret{};
  const std::string file = dir.transport_secret_file();
  if (auto stored = DataDir::read(file); stored && stored->size() == secret.size()) {
    std::memcpy(secret.data(), stored->data(), secret.size());
    return secret;
  }
  if (gnutls_rnd(GNUTLS_RND_KEY, secret.data(), secret.size()) != 0) {
    error = "cannot generate the transport secret";
    return std::nullopt;
  }
  if (!dir.create(error)) return std::nullopt;
  const std::string_view bytes(reinterpret_cast<const char *>(secret.data()), secret.size());
  if (!DataDir::write_atomically(file, bytes, 0600, error)) return std::nullopt;
  return secret;
}

}  // namespace flume::storage
