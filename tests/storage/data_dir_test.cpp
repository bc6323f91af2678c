// The data directory: where it is by default, how it is created, and the transport secret kept
// in it across restarts.
#include "storage/data_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace flume::storage {
namespace {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "flume-data-dir-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// Sets (or unsets, for nullopt) an environment variable for one test and restores it after.
class EnvVar {
 public:
  EnvVar(const char *name, std::optional<std::string> value) : name_(name) {
    if (const char *old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvVar() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char *name_;
  std::optional<std::string> old_;
};

mode_t mode_of(const std::string &path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 0777;
}

TEST(DataDir, DefaultFollowsFlumeDataDirThenXdgThenHome) {
  EnvVar home("HOME", "/home/someone");
  {
    EnvVar flume("FLUME_DATA_DIR", "/srv/flume");
    EnvVar xdg("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(default_data_dir(), "/srv/flume");
  }
  {
    EnvVar flume("FLUME_DATA_DIR", std::nullopt);
    EnvVar xdg("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(default_data_dir(), "/xdg/flume");
  }
  {
    EnvVar flume("FLUME_DATA_DIR", "");  // empty counts as unset
    EnvVar xdg("XDG_DATA_HOME", std::nullopt);
    EXPECT_EQ(default_data_dir(), "/home/someone/.local/share/flume");
  }
}

TEST(DataDir, WithoutAnyHomeAServiceUsesVarLib) {
  EnvVar flume("FLUME_DATA_DIR", std::nullopt);
  EnvVar xdg("XDG_DATA_HOME", std::nullopt);
  EnvVar home("HOME", std::nullopt);
  EXPECT_EQ(default_data_dir(), "/var/lib/flume");
}

TEST(DataDir, NamesItsFilesAndDropsTrailingSlashes) {
  const DataDir dir("/srv/flume//");
  EXPECT_EQ(dir.path(), "/srv/flume");
  EXPECT_EQ(dir.certificate_file(), "/srv/flume/cert.pem");
  EXPECT_EQ(dir.key_file(), "/srv/flume/key.pem");
  EXPECT_EQ(dir.transport_secret_file(), "/srv/flume/transport.secret");
}

TEST(DataDir, AnEmptyPathIsTheDefaultDirectory) {
  EnvVar flume("FLUME_DATA_DIR", "/srv/elsewhere");
  EXPECT_EQ(DataDir().path(), "/srv/elsewhere");
  EXPECT_EQ(DataDir("").path(), "/srv/elsewhere");
}

TEST(DataDir, CreateMakesParentsAndKeepsTheDirectoryPrivate) {
  ScratchDir scratch;
  const DataDir dir(scratch.path() + "/a/b/flume");
  std::string error;
  ASSERT_TRUE(dir.create(error)) << error;
  EXPECT_EQ(mode_of(dir.path()), 0700u);
  EXPECT_TRUE(dir.create(error)) << "creating it again is fine: " << error;
}

TEST(DataDir, CreateSaysWhyWhenAFileIsInTheWay) {
  ScratchDir scratch;
  const std::string file = scratch.path() + "/taken";
  std::string error;
  ASSERT_TRUE(DataDir::write_atomically(file, "x", 0644, error)) << error;
  EXPECT_FALSE(DataDir(file).create(error));
  EXPECT_NE(error.find(file), std::string::npos) << error;
}

TEST(DataDir, WriteAtomicallyReplacesTheFileWithTheModeAsked) {
  ScratchDir scratch;
  const std::string file = scratch.path() + "/key.pem";
  std::string error;
  ASSERT_TRUE(DataDir::write_atomically(file, "old", 0644, error)) << error;
  ASSERT_TRUE(DataDir::write_atomically(file, "new", 0600, error)) << error;
  EXPECT_EQ(DataDir::read(file), "new");
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(scratch.path()), {}), 1)
      << "no temporary file is left behind";
}

TEST(DataDir, ReadOfAMissingFileIsNothing) {
  ScratchDir scratch;
  EXPECT_FALSE(DataDir::read(scratch.path() + "/absent").has_value());
}

TEST(TransportSecret, IsMadeOnceAndKeptAcrossRestarts) {
  ScratchDir scratch;
  const DataDir dir(scratch.path() + "/new");
  std::string error;
  auto first = load_or_create_transport_secret(dir, error);
  ASSERT_TRUE(first.has_value()) << error;
  EXPECT_EQ(mode_of(dir.transport_secret_file()), 0600u);
  auto second = load_or_create_transport_secret(dir, error);
  ASSERT_TRUE(second.has_value()) << error;
  EXPECT_EQ(*first, *second);
}

TEST(TransportSecret, ATruncatedSecretIsReplaced) {
  ScratchDir scratch;
  const DataDir dir(scratch.path());
  std::string error;
  ASSERT_TRUE(DataDir::write_atomically(dir.transport_secret_file(), "short", 0600, error));
  auto secret = load_or_create_transport_secret(dir, error);
  ASSERT_TRUE(secret.has_value()) << error;
  EXPECT_EQ(DataDir::read(dir.transport_secret_file())->size(), secret->size());
}

TEST(TransportSecret, AnUnwritableDirectoryIsAnErrorThatNamesIt) {
  ScratchDir scratch;
  std::string error;
  ASSERT_TRUE(DataDir::write_atomically(scratch.path() + "/file", "x", 0644, error));
  const DataDir dir(scratch.path() + "/file/flume");  // a path through a regular file
  EXPECT_FALSE(load_or_create_transport_secret(dir, error).has_value());
  EXPECT_NE(error.find(scratch.path()), std::string::npos) << error;
}

}  // namespace
}  // namespace flume::storage
