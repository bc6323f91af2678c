// flume bench --idle-connections: what idle connections and subscriptions cost the broker.
// Opens the connections (each a Client of its own, as separate processes' clients would be),
// optionally subscribes on each, and reads the broker's VmRSS at every step.
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "flume_cli_bench.hpp"
#include "text/parse_number.hpp"

namespace flume::cli::bench {
namespace {

// Each client holds a few descriptors (socket, eventfd, epoll, timers).
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Runs `job(i)` for i in [0, n) on a few threads.
template <typename Job>
void in_parallel(std::size_t n, Job job) {
  constexpr std::size_t kThreads = 8;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::min(n, kThreads); ++t) {
    threads.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;)
        job(i);
    });
  }
  for (auto &thread : threads)
    thread.join();
}

void settle() {
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace

std::uint64_t read_rss_kib(long pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    // "VmRSS:     1234 kB"
    const auto first = line.find_first_of("0123456789");
    const auto last = line.find_first_not_of("0123456789", first);
    if (first == std::string::npos) return 0;
    return text::parse_whole(std::string_view(line).substr(first, last - first), 0, ~0ULL)
        .value_or(0);
  }
  return 0;
}

int run_idle(const CommandInfo &command, const CommonOptions &common, const BenchOptions &options) {
  raise_descriptor_limit();
  const std::size_t n = options.idle_connections;
  const std::size_t per = options.subscriptions_per_connection;
  if (options.broker_pid > 0 && read_rss_kib(options.broker_pid) == 0) {
    fail(command, "cannot read /proc/" + std::to_string(options.broker_pid) +
                      "/status: is --broker-pid the broker's process id?");
  }
  const std::uint64_t rss_before = read_rss_kib(options.broker_pid);

  std::vector<std::unique_ptr<Client>> clients(n);
  std::mutex mutex;
  std::string first_error;
  const ClientConfig config = client_config(common, "flume-bench-idle");
  in_parallel(n, [&](std::size_t i) {
    ClientResult result;
    clients[i] = Client::connect(common.server, config, result);
    if (!clients[i]) {
      std::lock_guard lock(mutex);
      if (first_error.empty()) first_error = explain_connect_failure(common, result);
    }
  });
  std::size_t connected = 0;
  for (auto &client : clients)
    connected += client != nullptr;
  if (connected < n) {
    fail(command, "only " + std::to_string(connected) + " of " + std::to_string(n) +
                      " connections opened; the first failure: " + first_error);
  }
  settle();
  const std::uint64_t rss_connected = read_rss_kib(options.broker_pid);

  std::vector<std::vector<std::shared_ptr<Subscription>>> subscriptions(n);
  std::uint64_t rss_subscribed = rss_connected;
  if (per > 0) {
    in_parallel(n, [&](std::size_t c) {
      ClientResult result;
      for (std::size_t i = 0; i < per; ++i) {
        auto subscription = clients[c]->subscribe(
            "idle." + std::to_string(c) + "." + std::to_string(i), {}, nullptr, result);
        if (subscription) subscriptions[c].push_back(std::move(subscription));
      }
      result = clients[c]->flush(std::chrono::milliseconds(30000));
      if (!result.ok() && first_error.empty()) {
        std::lock_guard lock(mutex);
        first_error = result.message;
      }
    });
    std::size_t live = 0;
    for (auto &list : subscriptions) {
      for (auto &subscription : list)
        live += !subscription->ended();
    }
    if (live < n * per) {
      fail(command, "only " + std::to_string(live) + " of " + std::to_string(n * per) +
                        " subscriptions are live" +
                        (first_error.empty() ? "" : ": " + first_error) +
                        " (flume-broker --max-subscriptions limits them per connection)");
    }
    settle();
    rss_subscribed = read_rss_kib(options.broker_pid);
  }

  const double per_connection_kib =
      static_cast<double>(rss_connected) - static_cast<double>(rss_before);
  const double per_subscription_bytes =
      per > 0 ? (static_cast<double>(rss_subscribed) - static_cast<double>(rss_connected)) *
                    1024.0 / static_cast<double>(n * per)
              : 0;
  if (options.json) {
    const nlohmann::ordered_json summary = {
        {"connections", n},
        {"subscriptions", n * per},
        {"rss_kib",
         {{"before", rss_before}, {"connected", rss_connected}, {"subscribed", rss_subscribed}}},
        {"kib_per_connection", std::round(per_connection_kib / static_cast<double>(n) * 100) / 100},
        {"bytes_per_subscription", std::round(per_subscription_bytes * 10) / 10},
    };
    std::printf("%s\n", summary.dump().c_str());
  } else if (options.broker_pid > 0) {
    std::printf("flume bench: %zu idle connections: broker RSS %llu -> %llu KiB, %.1f KiB each\n",
                n, static_cast<unsigned long long>(rss_before),
                static_cast<unsigned long long>(rss_connected),
                per_connection_kib / static_cast<double>(n));
    if (per > 0) {
      std::printf("flume bench: %zu subscriptions: broker RSS %llu -> %llu KiB, %.0f bytes each\n",
                  n * per, static_cast<unsigned long long>(rss_connected),
                  static_cast<unsigned long long>(rss_subscribed), per_subscription_bytes);
    }
  } else {
    std::printf(
        "flume bench: %zu idle connections, %zu subscriptions open (give --broker-pid to "
        "see the broker's memory)\n",
        n, n * per);
  }
  std::fflush(stdout);

  (void)termination_signal_within(
      std::chrono::milliseconds(static_cast<long>(options.duration * 1000)));

  for (auto &list : subscriptions)
    list.clear();
  in_parallel(n, [&](std::size_t i) { clients[i]->close(); });
  return kExitOk;
}

}  // namespace flume::cli::bench
