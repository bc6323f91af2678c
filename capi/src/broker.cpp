// flume_broker_*: the broker embedded in the calling program, on its own loop thread.
//
// BrokerServer is not thread-safe: it is made and opened on the calling thread before its loop
// thread starts (the loop's thread until then), and afterwards touched only on the loop thread,
// through post(): stats and shutdown wait for a posted task, and it is destroyed there too.
#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "last_error.hpp"
#include "runtime/broker_server.hpp"

using flume::capi::fail;
using flume::capi::guarded;

struct flume_broker {
  // Normally the server is already gone (flume_broker_stop destroys it on its thread); after a
  // failed start, or if stopping could not post, the thread is joined first.
  ~flume_broker() {
    thread.stop();
    server.reset();
  }

  flume::LoopThread thread{"flume-broker"};
  std::unique_ptr<flume::BrokerServer> server;
  std::chrono::milliseconds shutdown_grace{2000};
  std::uint16_t port = 0;
  std::string address;
  std::string certificate_path;
  std::string fingerprint;
};

namespace {

// Runs `task` on the broker's loop thread and waits until it has run.
template <class Task>
void run_on_loop(flume_broker *broker, Task task) {
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  broker->thread.loop().post([&] {
    task();
    std::lock_guard lock(mutex);
    done = true;
    done_changed.notify_one();
  });
  std::unique_lock lock(mutex);
  done_changed.wait(lock, [&] { return done; });
}

int config_from(const flume_broker_options *options, flume::BrokerServerConfig &config) {
  // The header's defaults, stated here so that a zeroed field gives what the header documents
  // (capi_test pins them).
  config.listen = FLUME_DEFAULT_LISTEN;
  config.shutdown_grace = std::chrono::milliseconds(FLUME_DEFAULT_SHUTDOWN_GRACE_MS);
  flume::broker::BrokerConfig &engine = config.engine;
  engine.max_payload = FLUME_DEFAULT_MAX_PAYLOAD;
  engine.max_connections = FLUME_DEFAULT_MAX_CONNECTIONS;
  engine.max_subscriptions_per_connection = FLUME_DEFAULT_MAX_SUBSCRIPTIONS;
  engine.default_queue_limit = FLUME_DEFAULT_QUEUE_LIMIT;
  engine.max_pending_bytes_per_connection = FLUME_DEFAULT_BROKER_MAX_PENDING_BYTES;
  if (options == nullptr) return FLUME_OK;
  if (!flume::capi::struct_size_ok(options->struct_size,
                                   FLUME_STRUCT_END(flume_broker_options, shutdown_grace_ms),
                                   "flume_broker_options")) {
    return FLUME_EOPTIONS;
  }
  if (options->listen != nullptr) config.listen = options->listen;
  if (options->cert_file != nullptr) config.certificate_file = options->cert_file;
  if (options->key_file != nullptr) config.key_file = options->key_file;
  if (options->data_dir != nullptr) config.data_dir = options->data_dir;
  if (options->max_payload > FLUME_HARD_MAX_PAYLOAD) {
    return fail(FLUME_EINVAL,
                "flume_broker_options.max_payload is above FLUME_HARD_MAX_PAYLOAD (16 MiB)");
  }
  if (options->max_payload != 0) engine.max_payload = options->max_payload;
  if (options->max_connections != 0) engine.max_connections = options->max_connections;
  if (options->max_subscriptions != 0) {
    engine.max_subscriptions_per_connection = options->max_subscriptions;
  }
  if (options->queue_limit != 0) {
    engine.default_queue_limit = options->queue_limit;
    // A larger default raises the cap a SUBSCRIBE may ask for, so it can be used at all.
    engine.max_queue_limit = std::max(engine.max_queue_limit, options->queue_limit);
  }
  if (options->max_pending_bytes != 0) {
    engine.max_pending_bytes_per_connection = static_cast<std::size_t>(options->max_pending_bytes);
  }
  if (options->shutdown_grace_ms != 0) {
    flume::capi::Timeout grace;
    if (!flume::capi::timeout_of(options->shutdown_grace_ms, grace)) return FLUME_EINVAL;
    // Without limit: as long as a steady_clock wait can be told to last (about 24 days).
    config.shutdown_grace = std::chrono::milliseconds(grace.forever ? INT_MAX : grace.ms);
  }
  // Fields appended after 1.0.0 are read only when the caller's struct has them.
  if (options->struct_size >= FLUME_STRUCT_END(flume_broker_options, max_memory_bytes) &&
      options->max_memory_bytes != 0) {
    if (options->max_memory_bytes > SIZE_MAX) {
      return fail(FLUME_EINVAL, "flume_broker_options.max_memory_bytes does not fit size_t");
    }
    engine.max_memory_bytes = static_cast<std::size_t>(options->max_memory_bytes);
  }
  return FLUME_OK;
}

}  // namespace

extern "C" int flume_broker_options_init(flume_broker_options *out, size_t struct_size) {
  const flume_broker_options defaults = FLUME_BROKER_OPTIONS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_broker_options, shutdown_grace_ms),
                                  "flume_broker_options");
}

extern "C" int flume_broker_stats_init(flume_broker_stats *out, size_t struct_size) {
  const flume_broker_stats defaults = FLUME_BROKER_STATS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_broker_stats, queued_bytes),
                                  "flume_broker_stats");
}

extern "C" int flume_broker_start(flume_broker **out, const flume_broker_options *options) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  return guarded([&]() -> int {
    flume::BrokerServerConfig config;
    if (int rc = config_from(options, config); rc != FLUME_OK) return rc;
    auto broker = std::make_unique<flume_broker>();
    broker->shutdown_grace = config.shutdown_grace;
    // Before start(), this thread counts as the loop's: the server is made and opened here.
    broker->server = std::make_unique<flume::BrokerServer>(broker->thread.loop(), config);
    std::string message;
    if (std::error_code ec = broker->server->open(message); ec) {
      const int code = ec == std::errc::invalid_argument ? FLUME_EINVAL : FLUME_EIO;
      return fail(code, "cannot start the broker: " + message);
    }
    const flume::SocketAddress &address = broker->server->local_address();
    broker->port = address.port();
    broker->address = address.to_string();
    broker->certificate_path = broker->server->credentials().certificate_path();
    broker->fingerprint = broker->server->credentials().fingerprint();
    broker->thread.start();
    *out = broker.release();
    return FLUME_OK;
  });
}

extern "C" uint16_t flume_broker_port(const flume_broker *broker) {
  return broker == nullptr ? 0 : broker->port;
}

extern "C" const char *flume_broker_address(const flume_broker *broker) {
  return broker == nullptr ? "" : broker->address.c_str();
}

extern "C" const char *flume_broker_certificate_path(const flume_broker *broker) {
  return broker == nullptr ? "" : broker->certificate_path.c_str();
}

extern "C" const char *flume_broker_fingerprint(const flume_broker *broker) {
  return broker == nullptr ? "" : broker->fingerprint.c_str();
}

extern "C" int flume_broker_get_stats(flume_broker_stats *out, flume_broker *broker) {
  if (broker == nullptr || out == nullptr) return fail(FLUME_EINVAL, "broker or out is NULL");
  if (!flume::capi::struct_size_ok(out->struct_size,
                                   FLUME_STRUCT_END(flume_broker_stats, queued_bytes),
                                   "flume_broker_stats")) {
    return FLUME_EOPTIONS;
  }
  return guarded([&]() -> int {
    flume::broker::BrokerStats stats;
    run_on_loop(broker, [&] { stats = broker->server->stats(); });
    out->connections = stats.connections;
    out->subscriptions = stats.subscriptions;
    out->messages_in = stats.messages_in;
    out->bytes_in = stats.bytes_in;
    out->messages_out = stats.messages_out;
    out->bytes_out = stats.bytes_out;
    out->messages_unmatched = stats.messages_unmatched;
    out->publishes_invalid = stats.publishes_invalid_subject;
    out->hellos_accepted = stats.hellos_accepted;
    out->hellos_refused = stats.hellos_refused;
    out->dropped_oldest = stats.dropped_oldest;
    out->dropped_newest = stats.dropped_newest;
    out->dropped_slow_consumer = stats.dropped_slow_consumer;
    out->dropped_no_memory = stats.dropped_no_memory;
    out->discarded_on_close = stats.discarded_on_close;
    out->queued_messages = stats.queued_messages;
    out->queued_bytes = stats.queued_bytes;
    if (out->struct_size >= FLUME_STRUCT_END(flume_broker_stats, memory_budget_bytes)) {
      out->dropped_memory_budget = stats.dropped_memory_budget;
      out->memory_queued_bytes = stats.memory_queued_bytes;
      out->memory_queued_peak_bytes = stats.memory_queued_peak_bytes;
      out->memory_budget_bytes = stats.memory_budget_bytes;
    }
    return FLUME_OK;
  });
}

extern "C" void flume_broker_stop(flume_broker *broker) {
  if (broker == nullptr) return;
  (void)guarded([&]() -> int {
    // Graceful: SHUTTING_DOWN to every client, then the server's own grace timer closes the
    // rest. The wait here is a second bound, should a connection never report its end.
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    broker->thread.loop().post([&] {
      broker->server->shutdown([&] {
        std::lock_guard lock(mutex);
        done = true;
        done_changed.notify_one();
      });
    });
    {
      std::unique_lock lock(mutex);
      done_changed.wait_for(lock, broker->shutdown_grace + std::chrono::seconds(1),
                            [&] { return done; });
    }
    // The server goes on its own thread; then the thread ends. Whatever still refers to the
    // locals above (a shutdown callback that never ran) goes with the server, before they do.
    broker->thread.loop().post([broker] { broker->server.reset(); });
    broker->thread.stop();
    return FLUME_OK;
  });
  delete broker;
}
