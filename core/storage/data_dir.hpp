// The broker's data directory: where it is by default and the files it holds. The broker keeps
// its self-signed certificate and the secret that keys stateless resets here, and a local client
// looks here for the certificate to trust; all three go through this one module so they agree on
// the place, the names and the permissions.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flume::storage {

// $FLUME_DATA_DIR, else $XDG_DATA_HOME/flume, else ~/.local/share/flume, else /var/lib/flume (no
// HOME at all: a system service).
std::string default_data_dir();

class DataDir {
 public:
  // "" is the default directory; trailing slashes are dropped.
  explicit DataDir(std::string path = {});

  const std::string &path() const noexcept { return path_; }
  std::string certificate_file() const { return path_ + "/cert.pem"; }               // mode 0644
  std::string key_file() const { return path_ + "/key.pem"; }                        // mode 0600
  std::string transport_secret_file() const { return path_ + "/transport.secret"; }  // 0600

  // Creates the directory and its parents (the directory itself 0700: it holds private keys).
  bool create(std::string &error) const;

  // Replaces `file` through a temporary file created with `mode`, synced and renamed: readers see
  // the old file or the complete new one, and a key is never readable by others, even briefly.
  static bool write_atomically(const std::string &file, std::string_view content, mode_t mode,
                               std::string &error);
  // The whole file, or nullopt when it cannot be read.
  static std::optional<std::string> read(const std::string &file);

 private:
  std::string path_;
};

// The 32-byte secret that keys stateless resets and Retry tokens. Kept across restarts so a
// broker restarted after a crash resets its old clients' connections at once (their next packet
// draws a reset they can verify) instead of leaving them to wait out the idle timeout. Read from
// transport_secret_file(), or made from GnuTLS's key-grade random source and written there.
std::optional<std::array<std::uint8_t, 32>> load_or_create_transport_secret(const DataDir &dir,
                                                                            std::string &error);

}  // namespace flume::storage
