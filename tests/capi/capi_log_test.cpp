// flume_set_log_handler() through libflume.so: what reaches the handler, at which level, and that
// nothing is written anywhere without one. The handler is process-wide, so these tests live in
// their own program (ctest runs each test in a process of its own anyway).
#include <fcntl.h>
#include <flume/flume.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct Entry {
  int level;
  std::string component;
  std::string message;
};

// Collects every call; `wait_for` waits for one that matches.
struct Log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Entry> entries;
  int reentry_result = 1;  // what flume_set_log_handler() said when called from the handler
  bool try_reentry = false;

  static void call(void *context, int level, const char *component, const char *message) {
    auto *self = static_cast<Log *>(context);
    int reentry = 1;
    if (self->try_reentry) reentry = flume_set_log_handler(FLUME_LOG_OFF, nullptr, nullptr);
    std::lock_guard lock(self->mutex);
    if (reentry != 1) self->reentry_result = reentry;
    self->entries.push_back({level, component, message});
    self->changed.notify_all();
  }

  bool has(int level, const std::string &component, const std::string &part) {
    for (const Entry &e : entries) {
      if (e.level == level && e.component == component &&
          e.message.find(part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  bool wait_for(int level, const std::string &component, const std::string &part) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return has(level, component, part); });
  }
  std::vector<Entry> snapshot() {
    std::lock_guard lock(mutex);
    return entries;
  }
  std::string dump() {
    std::string text;
    for (const Entry &e : snapshot()) {
      text +=
          std::string(flume_log_level_name(e.level)) + " " + e.component + ": " + e.message + "\n";
    }
    return text;
  }
};

// Removes the handler when a test ends, whatever happened in it.
struct HandlerScope {
  HandlerScope(int level, Log &log) {
    EXPECT_EQ(flume_set_log_handler(level, &Log::call, &log), FLUME_OK) << flume_last_error();
  }
  ~HandlerScope() { flume_set_log_handler(FLUME_LOG_OFF, nullptr, nullptr); }
  HandlerScope(const HandlerScope &) = delete;
  HandlerScope &operator=(const HandlerScope &) = delete;
};

class Broker {
 public:
  Broker() {
    std::string templ = (std::filesystem::temp_directory_path() / "flume-log-XXXXXX").string();
    dir_ = mkdtemp(templ.data());
    flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
    options.data_dir = dir_.c_str();
    if (flume_broker_start(&broker_, &options) != FLUME_OK) {
      ADD_FAILURE() << "flume_broker_start: " << flume_last_error();
    }
  }
  ~Broker() {
    flume_broker_stop(broker_);
    std::filesystem::remove_all(dir_);
  }
  Broker(const Broker &) = delete;
  Broker &operator=(const Broker &) = delete;

  std::string url() const { return std::string("flume://") + flume_broker_address(broker_); }
  const char *cert() const { return flume_broker_certificate_path(broker_); }

 private:
  std::string dir_;
  flume_broker *broker_ = nullptr;
};

// Connects (trusting the broker, or insecure), then closes the client.
void connect_and_close(const Broker &broker, bool insecure) {
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  if (insecure) {
    options.insecure = FLUME_ON;
  } else {
    options.ca_file = broker.cert();
  }
  options.connect_timeout_ms = 3000;
  flume_client *client = nullptr;
  ASSERT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_OK)
      << flume_last_error();
  flume_client_close(client);
}

TEST(CApiLog, InsecureModeWarnsThroughTheHandler) {
  Log log;
  HandlerScope scope(FLUME_LOG_INFO, log);
  Broker broker;
  connect_and_close(broker, true);
  EXPECT_TRUE(log.has(FLUME_LOG_WARN, "client", "WITHOUT verifying its certificate")) << log.dump();
  EXPECT_TRUE(log.has(FLUME_LOG_INFO, "client", "connected to ")) << log.dump();
}

TEST(CApiLog, LevelsBelowTheMinimumAreNotCalled) {
  Log log;
  {
    HandlerScope scope(FLUME_LOG_WARN, log);
    Broker broker;
    connect_and_close(broker, true);
  }
  EXPECT_TRUE(log.has(FLUME_LOG_WARN, "client", "WITHOUT verifying")) << log.dump();
  for (const Entry &e : log.snapshot())
    EXPECT_GE(e.level, FLUME_LOG_WARN) << e.component << ": " << e.message;
}

TEST(CApiLog, DebugShowsTheBrokerAcceptingAndClosingConnections) {
  Log log;
  HandlerScope scope(FLUME_LOG_DEBUG, log);
  Broker broker;
  connect_and_close(broker, false);
  EXPECT_TRUE(log.wait_for(FLUME_LOG_DEBUG, "broker", "accepted")) << log.dump();
  EXPECT_TRUE(log.wait_for(FLUME_LOG_DEBUG, "broker", "closed")) << log.dump();
  EXPECT_FALSE(log.has(FLUME_LOG_WARN, "client", "WITHOUT verifying")) << log.dump();
}

TEST(CApiLog, FailedTlsHandshakeWarnsOnTheBroker) {
  Log log;
  HandlerScope scope(FLUME_LOG_WARN, log);
  Broker broker;
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // public CAs, not this broker
  options.connect_timeout_ms = 3000;
  flume_client *client = nullptr;
  ASSERT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_ETLS);
  EXPECT_TRUE(log.wait_for(FLUME_LOG_WARN, "quic", "handshake with 127.0.0.1:")) << log.dump();
}

TEST(CApiLog, TraceRoutesNgtcp2Lines) {
  Log log;
  {
    HandlerScope scope(FLUME_LOG_TRACE, log);
    Broker broker;
    connect_and_close(broker, false);
  }
  EXPECT_TRUE(log.has(FLUME_LOG_TRACE, "ngtcp2", "")) << "no ngtcp2 line";
}

TEST(CApiLog, RemovedHandlerIsNotCalledAgain) {
  Log log;
  ASSERT_EQ(flume_set_log_handler(FLUME_LOG_TRACE, &Log::call, &log), FLUME_OK);
  ASSERT_EQ(flume_set_log_handler(FLUME_LOG_TRACE, nullptr, nullptr), FLUME_OK);
  Broker broker;
  connect_and_close(broker, true);
  EXPECT_TRUE(log.snapshot().empty()) << log.dump();

  // FLUME_LOG_OFF with a callback removes it too.
  ASSERT_EQ(flume_set_log_handler(FLUME_LOG_OFF, &Log::call, &log), FLUME_OK);
  connect_and_close(broker, true);
  EXPECT_TRUE(log.snapshot().empty()) << log.dump();
}

TEST(CApiLog, HandlerCannotReplaceItself) {
  Log log;
  log.try_reentry = true;
  HandlerScope scope(FLUME_LOG_INFO, log);
  Broker broker;
  connect_and_close(broker, true);
  std::lock_guard lock(log.mutex);
  EXPECT_FALSE(log.entries.empty());
  EXPECT_EQ(log.reentry_result, FLUME_EINVAL);
}

TEST(CApiLog, InvalidLevelIsEinvalAndLevelsHaveNames) {
  Log log;
  EXPECT_EQ(flume_set_log_handler(-1, &Log::call, &log), FLUME_EINVAL);
  EXPECT_EQ(flume_set_log_handler(FLUME_LOG_OFF + 1, &Log::call, &log), FLUME_EINVAL);
  EXPECT_NE(std::strstr(flume_last_error(), "min_level"), nullptr) << flume_last_error();
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_TRACE), "trace");
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_DEBUG), "debug");
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_INFO), "info");
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_WARN), "warn");
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_ERROR), "error");
  EXPECT_STREQ(flume_log_level_name(FLUME_LOG_OFF), "off");
  EXPECT_STREQ(flume_log_level_name(42), "unknown");
}

// The library printed the insecure-mode warning to stderr before 1.1.0; now nothing, anywhere,
// unless a handler asks for it. Standard output and error go to files for the test's duration.
TEST(CApiLog, NothingIsWrittenWithoutAHandler) {
  ASSERT_EQ(flume_set_log_handler(FLUME_LOG_OFF, nullptr, nullptr), FLUME_OK);
  std::string templ = (std::filesystem::temp_directory_path() / "flume-stdio-XXXXXX").string();
  const std::string dir = mkdtemp(templ.data());
  const std::string out_path = dir + "/out";
  const std::string err_path = dir + "/err";
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = dup(1);
  const int saved_err = dup(2);
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  ASSERT_GE(err, 0);
  dup2(out, 1);
  dup2(err, 2);
  {
    Broker broker;
    connect_and_close(broker, true);                           // the insecure warning, before 1.1.0
    flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;  // and a failed connection
    options.connect_timeout_ms = 500;
    flume_client *client = nullptr;
    flume_client_connect(&client, "flume://127.0.0.1:9", &options);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  close(out);
  close(err);
  EXPECT_EQ(std::filesystem::file_size(out_path), 0u);
  EXPECT_EQ(std::filesystem::file_size(err_path), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
