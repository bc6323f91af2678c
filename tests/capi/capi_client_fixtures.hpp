// What the C ABI's client tests share: an embedded broker through flume.h, clients that trust
// it, a handler that records its calls, small readers of messages.
#pragma once

#include <flume/flume.h>
#include <gtest/gtest.h>
#include <poll.h>
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

inline std::string subject_of(const flume_message *message) {
  return {flume_message_subject(message), flume_message_subject_length(message)};
}

inline std::string payload_of(const flume_message *message) {
  return {static_cast<const char *>(flume_message_payload(message)),
          flume_message_payload_length(message)};
}

inline bool contains(const char *text, const char *part) {
  return std::strstr(text, part) != nullptr;
}

// A broker embedded through the C ABI, its self-signed certificate in a scratch directory.
class Broker {
 public:
  explicit Broker(flume_broker_options options = FLUME_BROKER_OPTIONS_INIT) {
    std::string templ = (std::filesystem::temp_directory_path() / "flume-capi-XXXXXX").string();
    dir_ = mkdtemp(templ.data());
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

  flume_broker *get() const { return broker_; }
  std::string url() const { return std::string("flume://") + flume_broker_address(broker_); }
  const char *cert() const { return flume_broker_certificate_path(broker_); }

  flume_broker_stats stats() const {
    flume_broker_stats stats = FLUME_BROKER_STATS_INIT;
    EXPECT_EQ(flume_broker_get_stats(&stats, broker_), FLUME_OK) << flume_last_error();
    return stats;
  }

 private:
  std::string dir_;
  flume_broker *broker_ = nullptr;
};

inline flume_client_options trusting(const Broker &broker) {
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.ca_file = broker.cert();
  options.connect_timeout_ms = 3000;
  return options;
}

inline flume_client *connect(const Broker &broker) {
  flume_client *client = nullptr;
  const flume_client_options options = trusting(broker);
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_OK)
      << flume_last_error();
  return client;
}

inline int publish(flume_client *client, const char *subject, const char *payload) {
  return flume_client_publish(client, subject, std::strlen(subject), payload, std::strlen(payload));
}

inline flume_subscription *subscribe(flume_client *client, const char *pattern,
                                     const flume_message_handler *handler = nullptr,
                                     const flume_subscription_options *options = nullptr) {
  flume_subscription *subscription = nullptr;
  EXPECT_EQ(flume_client_subscribe(&subscription, client, pattern, std::strlen(pattern), options,
                                   handler),
            FLUME_OK)
      << flume_last_error();
  EXPECT_EQ(flume_client_flush(client, 3000), FLUME_OK) << flume_last_error();
  return subscription;
}

// Counts calls and drops, and notices a call that comes after the drop.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> payloads;
  int drops = 0;
  bool call_after_drop = false;
  std::thread::id call_thread;

  static void call(void *context, const flume_message_view *message) {
    auto *self = static_cast<Recorder *>(context);
    std::lock_guard lock(self->mutex);
    if (self->drops != 0) self->call_after_drop = true;
    self->call_thread = std::this_thread::get_id();
    self->payloads.emplace_back(static_cast<const char *>(message->payload),
                                message->payload_length);
    self->changed.notify_all();
  }
  static void drop(void *context) {
    auto *self = static_cast<Recorder *>(context);
    std::lock_guard lock(self->mutex);
    ++self->drops;
    self->changed.notify_all();
  }
  flume_message_handler handler() { return {this, &Recorder::call, &Recorder::drop}; }

  bool wait_for_calls(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return payloads.size() >= n; });
  }
  std::size_t calls() {
    std::lock_guard lock(mutex);
    return payloads.size();
  }
  int dropped() {
    std::lock_guard lock(mutex);
    return drops;
  }
  // A call may still be returning on the loop thread when the subscription is freed: then drop
  // runs there right after it, so it is waited for.
  int wait_for_drop() {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 5s, [&] { return drops != 0; });
    return drops;
  }
};

inline bool readable(int fd, int timeout_ms) {
  pollfd entry{fd, POLLIN, 0};
  return poll(&entry, 1, timeout_ms) == 1 && (entry.revents & POLLIN) != 0;
}

}  // namespace
