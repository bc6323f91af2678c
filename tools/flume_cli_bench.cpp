// flume bench: publishers and subscribers, each on its own connection, against one broker;
// progress once a second, then rates, latency percentiles, drops and errors.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>

#include "flume_cli_bench.hpp"
#include "subject/subject.hpp"

namespace flume::cli {
namespace {

using bench::BenchOptions;
using bench::monotonic_ns;

constexpr const char *kDescription =
    R"(measure throughput and latency with many clients at once

Measures the broker: publishers and subscribers, each with its own connection, on one subject.
Every payload carries the time it was meant to be sent (CLOCK_MONOTONIC), so subscribers on
the same machine measure one-way latency; with --rate, a publisher that falls behind still
stamps the intended time, so stalls count as latency (no coordinated omission). Progress goes
to stderr once a second, the summary to stdout.)";

constexpr const char *kFooter = R"(examples:
  flume bench --subscribers 2
  flume bench --rate 10000 --duration 10
  flume bench --idle-connections 1000 --broker-pid $(pidof flume-broker)
)";

constexpr const char *kMemoryMode =
    "memory mode (no messages; reports the broker's resident memory when given its PID)";

constexpr CommandInfo kBench{"bench"};

void add_options(CLI::App &app, BenchOptions &o) {
  // A whole-number option from `min` to `max` stored in `target`.
  auto count = [&app](const char *name, auto &target, unsigned long long min,
                      unsigned long long max, const char *value, const char *help) {
    using Target = std::remove_reference_t<decltype(target)>;
    return app
        .add_option_function<std::string>(
            name,
            [&target, name, min, max](const std::string &text) {
              target = static_cast<Target>(whole_number(name, text, min, max));
            },
            help)
        ->type_name(value);
  };
  auto seconds_option = [&app](const char *name, double &target, double min, double max,
                               const char *help) {
    app.add_option_function<std::string>(
           name,
           [&target, name, min, max](const std::string &text) {
             target = seconds(name, text, min, max);
           },
           help)
        ->type_name("S");
  };
  count("--publishers", o.publishers, 1, 1000, "N",
        "publishing connections, one thread each (default 1)");
  count("--subscribers", o.subscribers, 0, 10000, "N",
        "subscribing connections (default 1; 0: publish only)");
  count("--size", o.size, bench::kHeaderSize, kHardMaxPayload, "BYTES",
        "payload size, at least 16 (default 128)");
  count("--rate", o.rate, 0, 100000000, "MSG_PER_S",
        "total publish rate over all publishers (default 0: as fast as\npossible)");
  seconds_option("--duration", o.duration, 0.1, 86400, "seconds measured (default 5)");
  seconds_option("--warmup", o.warmup, 0, 3600, "seconds run before measuring (default 1)");
  app.add_option("--subject", o.subject, "where to publish and subscribe (default bench)")
      ->type_name("SUBJECT");
  count("--queue", o.queue, 1, UINT32_MAX, "N",
        "the broker's queue per subscription (default: its --queue-limit)");
  app.add_flag("--callbacks", o.callbacks,
               "subscribers take messages in callbacks instead of recv_batch()");
  app.add_flag("--spin", o.spin,
               "paced publishers busy-wait for each send instead of yielding the\nCPU: sends "
               "leave closer to on time, but each publisher takes a core");
  app.add_flag("--json", o.json, "print the summary as one JSON object");
  count("--idle-connections", o.idle_connections, 1, 100000, "N",
        "open N idle connections and hold them for --duration")
      ->group(kMemoryMode);
  count("--subscriptions-per-connection", o.subscriptions_per_connection, 1, 1000000, "N",
        "and N subscriptions on each (distinct subjects)")
      ->group(kMemoryMode);
  count("--broker-pid", o.broker_pid, 1, 1 << 30, "PID",
        "the broker's process (on this machine): with messages, its CPU time\nper routed message "
        "and per delivery over the measured window; in\nmemory mode, its VmRSS before and after");
}

void check(const BenchOptions &options) {
  if (options.broker_pid > 0 && !bench::read_process_cpu_ns(options.broker_pid)) {
    usage_error(kBench, "--broker-pid " + std::to_string(options.broker_pid) +
                            ": cannot read /proc/" + std::to_string(options.broker_pid) +
                            "/task: is it the broker's process id, on this machine?");
  }
  if (SubjectError error = validate_subject(options.subject); error != SubjectError::ok) {
    usage_error(kBench, "--subject '" + options.subject + "': " + describe(error));
  }
  if (options.subscriptions_per_connection > 0 && options.idle_connections == 0) {
    usage_error(kBench, "--subscriptions-per-connection needs --idle-connections");
  }
  if (options.rate > 0 && options.rate < options.publishers) {
    usage_error(kBench, "--rate must give each publisher at least one message per second");
  }
}

std::string thousands(double value) {
  const long long rounded = std::llround(value);
  const std::string digits = std::to_string(rounded < 0 ? -rounded : rounded);
  std::string out = rounded < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string microseconds(std::uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, ns < 10'000 ? "%.1f" : "%.0f", static_cast<double>(ns) / 1e3);
  return text;
}

struct Results {
  double seconds = 0;  // measured
  std::uint64_t sent = 0;
  std::vector<std::uint64_t> received;  // per subscriber, inside the window
  bench::LatencyHistogram latency;
  bench::LatencyHistogram send_lag;  // paced runs only
  std::uint64_t dropped_by_broker = 0;
  std::uint64_t dropped_locally = 0;
  std::uint64_t errors = 0;
  std::vector<std::string> error_messages;
  // With --broker-pid: the broker's CPU time over a window inside the measured one, and the
  // messages published and received in that same window.
  struct BrokerCpu {
    double seconds = 0;  // wall time of the window
    std::uint64_t cpu_ns = 0;
    std::uint64_t published = 0;
    std::uint64_t received = 0;
  };
  std::optional<BrokerCpu> broker_cpu;
};

double per_message_us(std::uint64_t cpu_ns, std::uint64_t messages) {
  return messages == 0 ? 0 : static_cast<double>(cpu_ns) / 1e3 / static_cast<double>(messages);
}

void print_text(const BenchOptions &o, const Results &r) {
  std::string pace = o.rate > 0 ? thousands(o.rate) + " msg/s" : "as fast as possible";
  std::printf(
      "flume bench: %u publisher%s -> %u subscriber%s on '%s', %zu-byte messages, %s, "
      "%.1f s measured after %.1f s warm-up\n",
      o.publishers, o.publishers == 1 ? "" : "s", o.subscribers, o.subscribers == 1 ? "" : "s",
      o.subject.c_str(), o.size, pace.c_str(), r.seconds, o.warmup);
  const double sent_rate = r.seconds > 0 ? static_cast<double>(r.sent) / r.seconds : 0;
  std::printf("publish   %s msg/s (%s messages, %.1f MB/s of payload)\n",
              thousands(sent_rate).c_str(), thousands(static_cast<double>(r.sent)).c_str(),
              sent_rate * static_cast<double>(o.size) / 1e6);
  std::uint64_t total = 0;
  std::string per;
  for (std::size_t i = 0; i < r.received.size(); ++i) {
    total += r.received[i];
    if (i >= 16) continue;
    per += ' ';
    per += thousands(static_cast<double>(r.received[i]) / r.seconds);
  }
  if (r.received.size() > 16) per += " ...";
  std::printf("receive   %s msg/s in total (%s messages); per subscriber:%s\n",
              thousands(static_cast<double>(total) / r.seconds).c_str(),
              thousands(static_cast<double>(total)).c_str(), per.empty() ? " -" : per.c_str());
  const auto &h = r.latency;
  std::printf("latency   p50 %s µs  p90 %s µs  p99 %s µs  p99.9 %s µs  max %s µs  (%s samples)\n",
              microseconds(h.percentile(0.5)).c_str(), microseconds(h.percentile(0.9)).c_str(),
              microseconds(h.percentile(0.99)).c_str(), microseconds(h.percentile(0.999)).c_str(),
              microseconds(h.max()).c_str(), thousands(static_cast<double>(h.count())).c_str());
  if (r.send_lag.count() > 0) {
    std::printf(
        "pacing    sends left publish() late by p50 %s µs  p99 %s µs  max %s µs (counted in "
        "the latency)\n",
        microseconds(r.send_lag.percentile(0.5)).c_str(),
        microseconds(r.send_lag.percentile(0.99)).c_str(), microseconds(r.send_lag.max()).c_str());
  }
  if (r.broker_cpu) {
    const auto &b = *r.broker_cpu;
    std::printf(
        "broker    CPU %.3f s over %.1f s (%.0f%% of a core): %.2f µs per routed message, %.2f "
        "µs per delivery\n",
        static_cast<double>(b.cpu_ns) / 1e9, b.seconds,
        100.0 * static_cast<double>(b.cpu_ns) / 1e9 / b.seconds,
        per_message_us(b.cpu_ns, b.published), per_message_us(b.cpu_ns, b.received));
  }
  std::printf("drops     %s by the broker, %s locally\n",
              thousands(static_cast<double>(r.dropped_by_broker)).c_str(),
              thousands(static_cast<double>(r.dropped_locally)).c_str());
  std::printf("errors    %s%s%s\n", thousands(static_cast<double>(r.errors)).c_str(),
              r.error_messages.empty() ? "" : ": ",
              r.error_messages.empty() ? "" : r.error_messages.front().c_str());
}

// Rounded as the text summary shows them; the JSON keeps the order written here.
double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

void print_json(const BenchOptions &o, const Results &r) {
  auto us = [](std::uint64_t ns) { return rounded(static_cast<double>(ns) / 1e3, 1); };
  std::uint64_t total = 0;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (const std::uint64_t received : r.received) {
    total += received;
    per.push_back(rounded(static_cast<double>(received) / r.seconds, 1));
  }
  const auto &h = r.latency;
  nlohmann::ordered_json summary = {
      {"publishers", o.publishers},
      {"subscribers", o.subscribers},
      {"size", o.size},
      {"rate_target", rounded(o.rate, 0)},
      {"duration_s", rounded(r.seconds, 3)},
      {"warmup_s", rounded(o.warmup, 3)},
      {"publish",
       {{"messages", r.sent}, {"rate", rounded(static_cast<double>(r.sent) / r.seconds, 1)}}},
      {"receive",
       {{"messages", total},
        {"rate", rounded(static_cast<double>(total) / r.seconds, 1)},
        {"per_subscriber", per}}},
      {"latency_us",
       {{"samples", h.count()},
        {"p50", us(h.percentile(0.5))},
        {"p90", us(h.percentile(0.9))},
        {"p99", us(h.percentile(0.99))},
        {"p99_9", us(h.percentile(0.999))},
        {"max", us(h.max())}}},
      {"send_lag_us",
       {{"p50", us(r.send_lag.percentile(0.5))},
        {"p99", us(r.send_lag.percentile(0.99))},
        {"max", us(r.send_lag.max())}}},
      {"drops", {{"broker", r.dropped_by_broker}, {"local", r.dropped_locally}}},
      {"errors", r.errors},
  };
  if (r.broker_cpu) {
    const auto &b = *r.broker_cpu;
    summary["broker_cpu"] = {{"window_s", rounded(b.seconds, 3)},
                             {"cpu_s", rounded(static_cast<double>(b.cpu_ns) / 1e9, 4)},
                             {"us_per_message", rounded(per_message_us(b.cpu_ns, b.published), 3)},
                             {"us_per_delivery", rounded(per_message_us(b.cpu_ns, b.received), 3)},
                             {"published", b.published},
                             {"received", b.received}};
  }
  std::printf("%s\n", summary.dump().c_str());
}

int run_bench(const CommonOptions &common, const BenchOptions &options) {
  check(options);
  block_termination_signals();
  if (options.idle_connections > 0) return bench::run_idle(kBench, common, options);

  bench::Plan plan;
  plan.size = options.size;
  plan.subject = options.subject;
  plan.spin = options.spin;
  plan.rate_per_publisher = options.rate / options.publishers;
  plan.publishers = options.publishers;

  // Subscribers first, each confirmed by the broker, so nothing published is missed.
  std::vector<std::unique_ptr<bench::SubscriberWorker>> subscribers;
  for (unsigned i = 0; i < options.subscribers; ++i) {
    auto worker = std::make_unique<bench::SubscriberWorker>(
        connect_or_exit(kBench, common, "flume-bench-sub-" + std::to_string(i)), plan);
    ClientResult result;
    if (!worker->subscribe(options.subject, options.queue, options.callbacks, result)) {
      fail(kBench, "subscribing: " + result.message);
    }
    subscribers.push_back(std::move(worker));
  }
  std::vector<std::unique_ptr<bench::PublisherWorker>> publishers;
  for (unsigned i = 0; i < options.publishers; ++i) {
    publishers.push_back(std::make_unique<bench::PublisherWorker>(
        i, connect_or_exit(kBench, common, "flume-bench-pub-" + std::to_string(i))));
  }

  const std::uint64_t now = monotonic_ns();
  plan.start_ns = now + 20'000'000;
  plan.measure_ns = plan.start_ns + static_cast<std::uint64_t>(options.warmup * 1e9);
  plan.end_ns = plan.measure_ns + static_cast<std::uint64_t>(options.duration * 1e9);
  for (auto &worker : subscribers)
    worker->start();
  for (auto &worker : publishers)
    worker->start(plan);

  // Progress: once a second until the end, or until Ctrl-C.
  auto total_sent = [&] {
    std::uint64_t n = 0;
    for (auto &worker : publishers)
      n += worker->sent();
    return n;
  };
  auto total_received = [&] {
    std::uint64_t n = 0;
    for (auto &worker : subscribers)
      n += worker->received();
    return n;
  };
  std::uint64_t last_sent = 0;
  std::uint64_t last_received = 0;
  // The broker's CPU: sampled where the measured window begins and where it ends.
  struct CpuSample {
    std::uint64_t at_ns, cpu_ns, sent, received;
  };
  std::optional<CpuSample> cpu_start;
  std::optional<CpuSample> cpu_end;
  auto sample_cpu = [&](std::uint64_t t, std::uint64_t sent, std::uint64_t received) {
    if (options.broker_pid <= 0) return std::optional<CpuSample>{};
    const auto cpu = bench::read_process_cpu_ns(options.broker_pid);
    if (!cpu) return std::optional<CpuSample>{};
    return std::optional<CpuSample>{CpuSample{t, *cpu, sent, received}};
  };
  std::uint64_t last_ns = plan.start_ns;
  std::uint64_t stopped_ns = plan.end_ns;
  for (int second = 1;; ++second) {
    std::uint64_t tick =
        std::min<std::uint64_t>(plan.start_ns + second * 1'000'000'000ULL, plan.end_ns);
    // With --broker-pid, one extra wake-up where the measured window begins, for the broker's
    // CPU at that moment (the same second's progress line follows at its usual time).
    const bool cpu_tick = options.broker_pid > 0 && !cpu_start && plan.measure_ns < tick;
    if (cpu_tick) {
      tick = plan.measure_ns;
      --second;
    }
    const std::uint64_t current = monotonic_ns();
    if (tick > current &&
        termination_signal_within(std::chrono::milliseconds((tick - current) / 1'000'000))) {
      plan.stop = true;
      stopped_ns = monotonic_ns();
      std::fprintf(stderr, "flume bench: interrupted; summarising what was measured\n");
      break;
    }
    const std::uint64_t t = monotonic_ns();
    const std::uint64_t sent = total_sent();
    const std::uint64_t received = total_received();
    if (cpu_tick) {
      // Never sampled again: a /proc that stops answering leaves the CPU line out.
      cpu_start = sample_cpu(t, sent, received).value_or(CpuSample{0, 0, 0, 0});
      continue;
    }
    if (!common.quiet && t > last_ns) {
      const double dt = static_cast<double>(t - last_ns) / 1e9;
      std::fprintf(stderr, "flume bench: %5.1f s%s  sent %s msg/s  received %s msg/s\n",
                   static_cast<double>(t - plan.start_ns) / 1e9,
                   t <= plan.measure_ns ? " (warm-up)" : "",
                   thousands(static_cast<double>(sent - last_sent) / dt).c_str(),
                   thousands(static_cast<double>(received - last_received) / dt).c_str());
    }
    last_sent = sent;
    last_received = received;
    last_ns = t;
    if (cpu_start && cpu_start->at_ns != 0 && tick >= plan.end_ns) {
      cpu_end = sample_cpu(t, sent, received);
    }
    if (tick >= plan.end_ns) break;
  }
  for (auto &worker : publishers)
    worker->join();
  // Let what is in flight arrive: until nothing more comes for 300 ms (at most 5 s).
  const std::uint64_t drain_deadline = monotonic_ns() + 5'000'000'000ULL;
  for (std::uint64_t previous = total_received(); monotonic_ns() < drain_deadline;) {
    if (termination_signal_within(std::chrono::milliseconds(300))) break;
    const std::uint64_t current = total_received();
    if (current == previous) break;
    previous = current;
  }

  Results results;
  results.seconds = std::max(0.001, static_cast<double>(std::min(stopped_ns, plan.end_ns) -
                                                        std::min(stopped_ns, plan.measure_ns)) /
                                        1e9);
  if (cpu_start && cpu_end && cpu_end->at_ns > cpu_start->at_ns) {
    results.broker_cpu =
        Results::BrokerCpu{static_cast<double>(cpu_end->at_ns - cpu_start->at_ns) / 1e9,
                           cpu_end->cpu_ns - cpu_start->cpu_ns, cpu_end->sent - cpu_start->sent,
                           cpu_end->received - cpu_start->received};
  }
  for (auto &worker : publishers) {
    results.sent += worker->sent_measured();
    results.send_lag.merge(worker->send_lag());
    results.errors += worker->errors();
    if (!worker->first_error().empty()) results.error_messages.push_back(worker->first_error());
    worker->client().close();
  }
  for (auto &worker : subscribers) {
    worker->stop();
    results.received.push_back(worker->received_measured());
    results.latency.merge(worker->latency());
    const SubscriptionStats stats = worker->subscription_stats();
    results.dropped_by_broker += stats.dropped_by_broker;
    results.dropped_locally += stats.dropped_locally;
    if (!worker->error().empty()) {
      ++results.errors;
      results.error_messages.push_back("subscriber: " + worker->error());
    }
  }
  if (options.json) {
    print_json(options, results);
  } else {
    print_text(options, results);
  }
  return results.errors > 0 ? kExitRuntime : kExitOk;
}

}  // namespace

Command add_bench(CLI::App &flume, CommonOptions &common) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App &app = add_command(flume, "bench", kDescription, kFooter, common);
  add_options(app, *options);
  return {&app, [options, &common, &app] {
            command_line::reject_extras(app.remaining(), "flume bench");
            return run_bench(common, *options);
          }};
}

}  // namespace flume::cli
