// flume bench's publishers (paced, with latency measured from the intended send time) and
// subscribers (recv_batch() threads or callbacks), and the latency histogram.
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "flume_cli_bench.hpp"

namespace flume::cli::bench {
namespace {

constexpr unsigned kSubBucketBits = 7;
constexpr std::size_t kSubBuckets = std::size_t{1} << kSubBucketBits;
constexpr std::size_t kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

std::size_t bucket_of(std::uint64_t v) noexcept {
  if (v < kSubBuckets) return static_cast<std::size_t>(v);
  const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(v));
  const std::uint64_t mantissa = v >> (exponent - kSubBucketBits);  // kSubBuckets..2*kSubBuckets-1
  return (exponent - kSubBucketBits + 1) * kSubBuckets + (mantissa - kSubBuckets);
}

// The middle of a bucket's range.
std::uint64_t value_of(std::size_t bucket) noexcept {
  if (bucket < kSubBuckets) return bucket;
  const unsigned exponent = static_cast<unsigned>(bucket / kSubBuckets) + kSubBucketBits - 1;
  const std::uint64_t mantissa = bucket % kSubBuckets + kSubBuckets;
  const unsigned shift = exponent - kSubBucketBits;
  return (mantissa << shift) + ((std::uint64_t{1} << shift) >> 1);
}

void sleep_until_ns(std::uint64_t ns) {
  timespec when{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) == EINTR) {
  }
}

// Sleeps while the target is far, then waits actively: a sleep alone wakes up tens of
// microseconds late. The active wait yields the CPU unless `spin`, because at high rates the
// target is always near and a pure spin takes a core from the broker and clients being measured.
void wait_until_ns(std::uint64_t target, bool spin) {
  constexpr std::uint64_t kActiveNs = 30'000;
  std::uint64_t now = monotonic_ns();
  if (now >= target) return;
  if (target - now > kActiveNs) sleep_until_ns(target - kActiveNs);
  while (monotonic_ns() < target) {
    if (!spin) sched_yield();
  }
}

}  // namespace

std::uint64_t monotonic_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000 +
         static_cast<std::uint64_t>(now.tv_nsec);
}

LatencyHistogram::LatencyHistogram() : counts_(kBuckets) {}

void LatencyHistogram::record(std::uint64_t ns) noexcept {
  ++counts_[bucket_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram &other) {
  for (std::size_t i = 0; i < kBuckets; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double fraction) const noexcept {
  if (count_ == 0) return 0;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(fraction * static_cast<double>(count_) + 0.999999));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(value_of(i), max_);
  }
  return max_;
}

// --- publishers ---

PublisherWorker::PublisherWorker(unsigned index, std::unique_ptr<Client> client)
    : index_(index), client_(std::move(client)) {}

PublisherWorker::~PublisherWorker() {
  join();
}

void PublisherWorker::start(Plan &plan) {
  thread_ = std::thread([this, &plan] { run(plan); });
}

void PublisherWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void PublisherWorker::run(Plan &plan) {
  // Sleeps end within a microsecond of the target instead of the default 50 µs slack.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  std::vector<std::uint8_t> payload(plan.size, 'x');
  PublishWindow window(*client_, 4096, std::chrono::milliseconds(30000));
  const double interval_ns = plan.rate_per_publisher > 0 ? 1e9 / plan.rate_per_publisher : 0;
  // Publishers start staggered across one interval, so paced publishers do not send in bursts.
  const std::uint64_t offset_ns =
      static_cast<std::uint64_t>(interval_ns * index_ / plan.publishers);
  const std::uint64_t id = std::uint64_t{index_} << 40;
  wait_until_ns(plan.start_ns + offset_ns, plan.spin);
  for (std::uint64_t n = 0; !plan.stop.load(std::memory_order_relaxed); ++n) {
    // Paced: the message is stamped with when it should have gone, so a late send (a stall
    // anywhere) shows up as latency instead of silently thinning the load.
    std::uint64_t intended = 0;
    if (interval_ns > 0) {
      intended = plan.start_ns + offset_ns + static_cast<std::uint64_t>(interval_ns * n);
      if (intended >= plan.end_ns) break;
      wait_until_ns(intended, plan.spin);
    } else {
      intended = monotonic_ns();
      if (intended >= plan.end_ns) break;
    }
    const std::uint64_t sequence = id | n;
    std::memcpy(payload.data(), &intended, 8);
    std::memcpy(payload.data() + 8, &sequence, 8);
    ClientResult result = client_->publish(plan.subject, payload);
    if (result.ok()) result = window.published(payload.size());
    if (!result.ok()) {
      if (errors_++ == 0) first_error_ = result.message;
      if (result.status == ClientStatus::closed || result.status == ClientStatus::timeout) break;
      continue;
    }
    sent_.fetch_add(1, std::memory_order_relaxed);
    if (intended >= plan.measure_ns) {
      ++sent_measured_;
      if (interval_ns > 0) send_lag_.record(monotonic_ns() - intended);
    }
  }
  if (ClientResult result = window.finish(); !result.ok()) {
    if (errors_++ == 0) first_error_ = result.message;
  }
  errors_ += client_->stats().publish_errors;
}

// --- subscribers ---

SubscriberWorker::SubscriberWorker(std::unique_ptr<Client> client, const Plan &plan)
    : client_(std::move(client)), plan_(plan) {}

SubscriberWorker::~SubscriberWorker() {
  stop();
}

bool SubscriberWorker::subscribe(const std::string &subject, std::uint32_t queue, bool callbacks,
                                 ClientResult &result) {
  SubscribeOptions options;
  options.queue_limit = queue;
  MessageCallback callback;
  callbacks_ = callbacks;
  if (callbacks) {
    callback = [this](const MessageView &message) { take(message.payload, monotonic_ns()); };
  }
  subscription_ = client_->subscribe(subject, options, std::move(callback), result);
  if (!subscription_) return false;
  // The broker's answer: a refusal ends the subscription before the flush returns.
  result = client_->flush(std::chrono::milliseconds(10000));
  if (result.ok() && subscription_->ended()) {
    result = ClientResult{ClientStatus::closed, "the broker refused the subscription"};
  }
  return result.ok();
}

void SubscriberWorker::take(std::span<const std::uint8_t> payload, std::uint64_t now_ns) {
  received_.fetch_add(1, std::memory_order_relaxed);
  if (now_ns >= plan_.measure_ns && now_ns < plan_.end_ns) ++received_measured_;
  if (payload.size() < kHeaderSize) return;
  std::uint64_t intended = 0;
  std::memcpy(&intended, payload.data(), 8);
  if (intended >= plan_.measure_ns && intended < plan_.end_ns) {
    latency_.record(now_ns > intended ? now_ns - intended : 0);
  }
}

void SubscriberWorker::start() {
  if (subscription_ && !callbacks_) thread_ = std::thread([this] { run(); });
}

void SubscriberWorker::run() {
  std::vector<Message> batch;
  batch.reserve(1024);
  while (!stopping_.load(std::memory_order_relaxed)) {
    batch.clear();
    const ClientResult result =
        subscription_->recv_batch(batch, 1024, std::chrono::milliseconds(50));
    if (result.status == ClientStatus::timeout) continue;
    if (!result.ok()) {
      error_ = result.message;
      return;
    }
    const std::uint64_t now = monotonic_ns();
    for (const Message &message : batch)
      take(message.payload(), now);
  }
}

void SubscriberWorker::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (subscription_) {
    final_stats_ = subscription_->stats();
    if (error_.empty() && subscription_->ended()) {
      Message ignored;
      error_ = callbacks_ ? "the subscription ended"
                          : subscription_->recv(ignored, std::chrono::milliseconds(0)).message;
    }
  }
  // Callbacks run on the client's thread: closing it is what makes the results stable.
  client_->close();
}

}  // namespace flume::cli::bench
