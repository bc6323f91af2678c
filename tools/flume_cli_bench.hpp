// flume bench: what its files share. flume_cli_bench.cpp parses the options, runs the clients
// and prints the results; flume_cli_bench_workers.cpp has the publishers, the subscribers and
// the latency histogram; flume_cli_bench_idle.cpp the idle-connection (memory) mode.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "flume_cli.hpp"

namespace flume::cli::bench {

struct BenchOptions {
  unsigned publishers = 1;
  unsigned subscribers = 1;
  std::size_t size = 128;
  double rate = 0;  // messages per second over all publishers; 0: as fast as possible
  double duration = 5;
  double warmup = 1;
  std::string subject = "bench";
  std::uint32_t queue = 0;  // the broker's queue per subscription; 0: its default
  bool callbacks = false;   // subscribers take messages in callbacks instead of recv_batch()
  bool spin = false;        // paced publishers busy-wait instead of yielding
  bool json = false;
  // The idle-connection mode (memory per connection and per subscription).
  unsigned long long idle_connections = 0;
  unsigned long long subscriptions_per_connection = 0;
  long broker_pid = 0;
};

// Every payload starts with the time it was meant to be sent and who sent it; the rest is filler.
inline constexpr std::size_t kHeaderSize = 16;

std::uint64_t monotonic_ns() noexcept;

// Log-linear histogram of nanoseconds: 128 buckets per power of two, so a percentile is off by
// under 0.8%; the maximum is exact.
class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(std::uint64_t ns) noexcept;
  void merge(const LatencyHistogram &other);
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t percentile(double fraction) const noexcept;  // ns; 0 when empty

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

// The shared timeline, in CLOCK_MONOTONIC nanoseconds.
struct Plan {
  std::uint64_t start_ns = 0;
  std::uint64_t measure_ns = 0;  // end of the warm-up
  std::uint64_t end_ns = 0;
  double rate_per_publisher = 0;
  unsigned publishers = 1;
  std::size_t size = 128;
  std::string subject;
  bool spin = false;
  std::atomic<bool> stop{false};  // Ctrl-C: publishers stop early
};

class PublisherWorker {
 public:
  PublisherWorker(unsigned index, std::unique_ptr<Client> client);
  ~PublisherWorker();
  void start(Plan &plan);
  void join();

  std::uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
  std::uint64_t sent_measured() const noexcept { return sent_measured_; }  // after join()
  std::uint64_t errors() const noexcept { return errors_; }                // after join()
  const std::string &first_error() const noexcept { return first_error_; }
  // How late paced sends left publish() against their intended time (measured window only).
  const LatencyHistogram &send_lag() const noexcept { return send_lag_; }  // after join()
  Client &client() noexcept { return *client_; }

 private:
  void run(Plan &plan);

  const unsigned index_;
  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0};
  std::uint64_t sent_measured_ = 0;
  std::uint64_t errors_ = 0;
  std::string first_error_;
  LatencyHistogram send_lag_;
};

class SubscriberWorker {
 public:
  SubscriberWorker(std::unique_ptr<Client> client, const Plan &plan);
  ~SubscriberWorker();
  // Subscribes (with a callback or for recv_batch()); result explains a failure.
  bool subscribe(const std::string &subject, std::uint32_t queue, bool callbacks,
                 ClientResult &result);
  void start();  // the polling thread, unless callbacks
  // Stops taking messages; joins the thread and closes the client, so results are stable.
  void stop();

  std::uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }
  std::uint64_t received_measured() const noexcept { return received_measured_; }  // after stop()
  const LatencyHistogram &latency() const noexcept { return latency_; }            // after stop()
  SubscriptionStats subscription_stats() const { return final_stats_; }            // after stop()
  const std::string &error() const noexcept { return error_; }

 private:
  void take(std::span<const std::uint8_t> payload, std::uint64_t now_ns);
  void run();

  std::unique_ptr<Client> client_;
  const Plan &plan_;
  std::shared_ptr<Subscription> subscription_;
  std::thread thread_;
  bool callbacks_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> received_{0};
  std::uint64_t received_measured_ = 0;  // by receive time inside the measured window
  LatencyHistogram latency_;             // messages meant to be sent inside the window
  SubscriptionStats final_stats_;
  std::string error_;
};

// The --idle-connections mode.
int run_idle(const CommandInfo &command, const CommonOptions &common, const BenchOptions &options);

// Broker memory from /proc/PID/status (VmRSS, KiB); 0 when unreadable.
std::uint64_t read_rss_kib(long pid);

// CPU time all of a process's threads have spent so far, in nanoseconds; nullopt when
// /proc/PID is not readable.
std::optional<std::uint64_t> read_process_cpu_ns(long pid);

}  // namespace flume::cli::bench
