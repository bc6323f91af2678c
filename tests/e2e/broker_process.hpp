// The real flume-broker executable as a child process, for end-to-end tests: started on
// 127.0.0.1 with a temporary data directory, found by its "listening on" line, stopped by PID
// (SIGTERM, then SIGKILL after a bound) so nothing outlives a test, even a failing one.
// Also the small pieces every e2e test shares: clients that trust the broker's certificate,
// payloads with a sequence number and a timestamp, RSS readings, bounded waiting.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/client.hpp"

namespace flume::e2e {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// How a stopped broker ended.
struct BrokerExit {
  bool exited = false;       // exit() (else killed by a signal, or still running)
  int code = -1;             // exit status when exited
  int signal = 0;            // the signal that ended it, if any
  bool needed_kill = false;  // SIGTERM did not end it within the grace bound
  std::chrono::milliseconds took{0};
};

class BrokerProcess {
 public:
  // `extra_args` are appended to the command line (after -l and --data-dir). `port` 0: an
  // ephemeral one. `data_dir` empty: a temporary directory owned by this object.
  explicit BrokerProcess(std::vector<std::string> extra_args = {}, std::uint16_t port = 0,
                         std::string data_dir = "");
  ~BrokerProcess();  // stop() if still running
  BrokerProcess(const BrokerProcess &) = delete;
  BrokerProcess &operator=(const BrokerProcess &) = delete;

  // Starts the process and waits (at most `limit`) for its "listening on" and "certificate:"
  // lines. False, with `error` saying why (including the broker's output), on failure.
  bool start(std::string &error, std::chrono::milliseconds limit = 20s);
  // SIGTERM, wait up to `grace`, then SIGKILL. Idempotent (later calls return the first result).
  BrokerExit stop(std::chrono::milliseconds grace = 10s);
  // SIGKILL now (a crash), and reap.
  void kill();
  // Sends a signal without waiting.
  void signal(int signo) const;
  // Waits up to `limit` for the process to exit by itself.
  std::optional<BrokerExit> wait_exit(std::chrono::milliseconds limit);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "flume://127.0.0.1:" + std::to_string(port_); }
  const std::string &listen_address() const { return listen_address_; }
  const std::string &certificate() const { return certificate_; }
  const std::string &data_dir() const { return data_dir_; }
  // Everything the broker printed so far (stdout and stderr).
  std::string output() const;
  // The broker's resident set in KiB (/proc/<pid>/status VmRSS), 0 if unknown.
  std::size_t rss_kib() const;

 private:
  std::vector<std::string> extra_args_;
  std::string program_ = FLUME_BROKER_PATH;
  std::uint16_t requested_port_;
  std::unique_ptr<TempDir> own_dir_;
  std::string data_dir_;
  std::unique_ptr<TempDir> log_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string listen_address_;
  std::string certificate_;
  std::optional<BrokerExit> exit_;
};

// The resident set of this process in KiB.
std::size_t self_rss_kib();
// Raises the open-file soft limit to the hard limit (many clients, many eventfds).
void raise_fd_limit();

// A client config that trusts `broker`'s self-signed certificate (its cert.pem as the CA).
ClientConfig trusting(const BrokerProcess &broker, bool reconnect = true);
// Connects with `config`; on failure `error` holds the status and message.
std::unique_ptr<Client> connect_client(const BrokerProcess &broker, std::string &error,
                                       const ClientConfig *config = nullptr);

// Payloads: u64 sequence and i64 send time (steady clock, ns) up front, then `size - 16` filler
// bytes. `size` is at least 16.
std::vector<std::uint8_t> make_payload(std::uint64_t sequence, std::size_t size = 16);
std::uint64_t payload_sequence(std::span<const std::uint8_t> payload);
std::int64_t payload_sent_ns(std::span<const std::uint8_t> payload);
std::int64_t now_ns();

std::span<const std::uint8_t> bytes(std::string_view text);
std::string text(const Message &message);

// Polls `done` every millisecond until it holds or `limit` passes; returns done().
bool wait_until(const std::function<bool()> &done, std::chrono::milliseconds limit);

// Receives from `subscription` until `count` messages arrived in total or `limit` passed.
std::vector<Message> receive(Subscription &subscription, std::size_t count,
                             std::chrono::milliseconds limit);

// The value at quantile q (0..1) of `samples` (sorted in place); 0 when empty.
double quantile(std::vector<double> &samples, double q);

// A test with its own default flume-broker process, started before each test.
class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raise_fd_limit();
    std::string error;
    ASSERT_TRUE(broker.start(error)) << error;
  }

  // A client trusting the broker; null (and a failed expectation) if it could not connect.
  std::unique_ptr<Client> connect() {
    std::string error;
    auto client = connect_client(broker, error);
    EXPECT_TRUE(client) << error;
    return client;
  }

  BrokerProcess broker;
};

}  // namespace flume::e2e
