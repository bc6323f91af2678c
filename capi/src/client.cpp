// flume_client_*: a connection to a broker, and the handlers its subscriptions call.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>

#include "handles.hpp"
#include "last_error.hpp"

using flume::capi::fail;
using flume::capi::guarded;

namespace flume::capi {
namespace {

thread_local std::uint64_t delivering = 0;

// Marks this thread as running one of `client_id`'s handlers for as long as it lives.
class Delivering {
 public:
  explicit Delivering(std::uint64_t client_id) noexcept : previous_(delivering) {
    delivering = client_id;
  }
  ~Delivering() { delivering = previous_; }
  Delivering(const Delivering &) = delete;
  Delivering &operator=(const Delivering &) = delete;

 private:
  std::uint64_t previous_;
};

std::atomic<std::uint64_t> next_client_id{1};

// A C string option: NULL and "" both mean "not set".
std::string text_of(const char *text) {
  return text == nullptr ? std::string() : std::string(text);
}

// A duration option in milliseconds: 0 takes `fallback`, a negative value is refused.
bool duration_of(int ms, std::chrono::milliseconds fallback, const char *name,
                 std::chrono::milliseconds &out) {
  if (ms < 0) {
    fail(FLUME_EINVAL, std::string("flume_client_options.") + name + " must not be negative");
    return false;
  }
  out = ms == 0 ? fallback : std::chrono::milliseconds(ms);
  return true;
}

// A switch option: 0 takes `fallback`, FLUME_OFF (or any negative) is off, positive is on.
bool switch_of(int value, bool fallback) {
  return value == 0 ? fallback : value > 0;
}

// What "without limit" is for a wait the core measures with a clock: about 24 days.
constexpr std::chrono::milliseconds kForever(INT_MAX);

int config_from(const flume_client_options *options, ClientConfig &config) {
  // The header's defaults, stated here rather than inherited from the core's, so that what the
  // header documents is what a zeroed field gives (capi_test pins both).
  config.connect_timeout = std::chrono::milliseconds(FLUME_DEFAULT_CONNECT_TIMEOUT_MS);
  config.reconnect = true;
  config.reconnect_min = std::chrono::milliseconds(FLUME_DEFAULT_RECONNECT_MIN_MS);
  config.reconnect_max = std::chrono::milliseconds(FLUME_DEFAULT_RECONNECT_MAX_MS);
  config.max_pending_bytes = FLUME_DEFAULT_MAX_PENDING_BYTES;
  config.publish_timeout = std::chrono::milliseconds(FLUME_DEFAULT_PUBLISH_TIMEOUT_MS);
  config.keep_alive = std::chrono::milliseconds(FLUME_DEFAULT_KEEP_ALIVE_MS);
  if (options == nullptr) return FLUME_OK;
  if (!struct_size_ok(options->struct_size,
                      FLUME_STRUCT_END(flume_client_options, publish_timeout_ms),
                      "flume_client_options")) {
    return FLUME_EOPTIONS;
  }
  if (options->client_name != nullptr) config.client_name = options->client_name;
  config.server_name = text_of(options->server_name);
  config.ca_file = text_of(options->ca_file);
  config.pin_sha256 = text_of(options->pin_sha256);
  config.insecure = switch_of(options->insecure, false);
  if (!config.ca_file.empty() + !config.pin_sha256.empty() + config.insecure > 1) {
    return fail(FLUME_EINVAL,
                "flume_client_options: choose one way to trust the broker: ca_file, pin_sha256 "
                "or insecure");
  }
  if (options->token == nullptr && options->token_length != 0) {
    return fail(FLUME_EINVAL, "flume_client_options.token is NULL but token_length is not 0");
  }
  if (options->token != nullptr) {
    const auto *token = static_cast<const std::uint8_t *>(options->token);
    config.token.assign(token, token + options->token_length);
  }
  if (options->connect_timeout_ms == FLUME_WAIT_FOREVER) {
    config.connect_timeout = kForever;
  } else if (options->connect_timeout_ms < 0) {
    return fail(FLUME_EINVAL,
                "flume_client_options.connect_timeout_ms must be positive, 0 (the default) or "
                "FLUME_WAIT_FOREVER: connecting cannot be done without waiting");
  } else if (options->connect_timeout_ms != 0) {
    config.connect_timeout = std::chrono::milliseconds(options->connect_timeout_ms);
  }
  config.reconnect = switch_of(options->reconnect, true);
  if (!duration_of(options->reconnect_min_ms, config.reconnect_min, "reconnect_min_ms",
                   config.reconnect_min) ||
      !duration_of(options->reconnect_max_ms, config.reconnect_max, "reconnect_max_ms",
                   config.reconnect_max)) {
    return FLUME_EINVAL;
  }
  if (config.reconnect_min > config.reconnect_max) {
    return fail(FLUME_EINVAL,
                "flume_client_options.reconnect_min_ms is above reconnect_max_ms; the back-off "
                "grows from the first to the second");
  }
  if (options->max_pending_bytes != 0) config.max_pending_bytes = options->max_pending_bytes;
  if (options->publish_timeout_ms != 0) {
    Timeout timeout;
    if (!timeout_of(options->publish_timeout_ms, timeout)) return FLUME_EINVAL;
    config.publish_timeout = timeout.forever ? kForever : std::chrono::milliseconds(timeout.ms);
  }
  if (options->struct_size >= FLUME_STRUCT_END(flume_client_options, keep_alive_ms) &&
      options->keep_alive_ms != 0) {
    if (options->keep_alive_ms == FLUME_WAIT_FOREVER) {
      config.keep_alive = std::chrono::milliseconds(0);  // the transport's "none"
    } else if (options->keep_alive_ms < 100) {
      return fail(FLUME_EINVAL,
                  "flume_client_options.keep_alive_ms must be at least 100, 0 (the default) or "
                  "FLUME_WAIT_FOREVER (none)");
    } else {
      config.keep_alive = std::chrono::milliseconds(options->keep_alive_ms);
    }
  }

  return FLUME_OK;
}

}  // namespace

std::uint64_t delivering_client() noexcept {
  return delivering;
}

void Handler::call(const MessageView &message) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (retired_) return;
    in_call_ = true;
  }
  const flume_message_view view = view_of(message);
  Delivering marker(client_id_);  // also covers a drop that follows the call below
  handler_.call(handler_.context, &view);
  bool drop_now = false;
  {
    std::lock_guard lock(mutex_);
    in_call_ = false;
    // Retired during the call (from the call itself or another thread): drop follows the call.
    drop_now = retired_ && !dropped_;
    if (drop_now) dropped_ = true;
  }
  if (drop_now) drop();
}

void Handler::retire() noexcept {
  {
    std::lock_guard lock(mutex_);
    retired_ = true;
    if (in_call_ || dropped_) return;  // a running call drops when it returns
    dropped_ = true;
  }
  drop();
}

void Handler::forget() noexcept {
  std::lock_guard lock(mutex_);
  retired_ = true;
  dropped_ = true;
}

void Handler::drop() noexcept {
  if (handler_.drop != nullptr) handler_.drop(handler_.context);
}

}  // namespace flume::capi

extern "C" int flume_client_options_init(flume_client_options *out, size_t struct_size) {
  const flume_client_options defaults = FLUME_CLIENT_OPTIONS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_client_options, publish_timeout_ms),
                                  "flume_client_options");
}

extern "C" int flume_client_stats_init(flume_client_stats *out, size_t struct_size) {
  const flume_client_stats defaults = FLUME_CLIENT_STATS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_client_stats, connected),
                                  "flume_client_stats");
}

extern "C" int flume_client_connect(flume_client **out, const char *url,
                                    const flume_client_options *options) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  if (url == nullptr) return fail(FLUME_EINVAL, "url is NULL");
  return guarded([&]() -> int {
    flume::ClientConfig config;
    if (int rc = flume::capi::config_from(options, config); rc != FLUME_OK) return rc;
    auto handle = std::make_unique<flume_client>();
    handle->id = flume::capi::next_client_id.fetch_add(1, std::memory_order_relaxed);
    flume::ClientResult result;
    handle->client = flume::Client::connect(url, config, result);
    if (!handle->client) return fail(result);
    *out = handle.release();
    return FLUME_OK;
  });
}

extern "C" int flume_client_publish(flume_client *client, const char *subject,
                                    size_t subject_length, const void *payload,
                                    size_t payload_length) {
  if (client == nullptr) return fail(FLUME_EINVAL, "client is NULL");
  if (subject == nullptr && subject_length != 0) return fail(FLUME_EINVAL, "subject is NULL");
  if (payload == nullptr && payload_length != 0) return fail(FLUME_EINVAL, "payload is NULL");
  return guarded([&]() -> int {
    return fail(client->client->publish(
        subject == nullptr ? std::string_view() : std::string_view(subject, subject_length),
        std::span<const std::uint8_t>(static_cast<const std::uint8_t *>(payload), payload_length)));
  });
}

extern "C" int flume_client_flush(flume_client *client, int timeout_ms) {
  if (client == nullptr) return fail(FLUME_EINVAL, "client is NULL");
  if (flume::capi::delivering_client() == client->id) {
    return fail(FLUME_EINVAL,
                "flume_client_flush() was called from one of this client's handlers: it would "
                "wait for the loop thread the handler runs on");
  }
  flume::capi::Timeout timeout;
  if (!flume::capi::timeout_of(timeout_ms, timeout)) return FLUME_EINVAL;
  return guarded([&]() -> int {
    return fail(client->client->flush(timeout.forever ? flume::capi::kForever
                                                      : std::chrono::milliseconds(timeout.ms)));
  });
}

extern "C" int flume_client_get_stats(flume_client_stats *out, flume_client *client) {
  if (client == nullptr || out == nullptr) return fail(FLUME_EINVAL, "client or out is NULL");
  if (!flume::capi::struct_size_ok(out->struct_size,
                                   FLUME_STRUCT_END(flume_client_stats, connected),
                                   "flume_client_stats")) {
    return FLUME_EOPTIONS;
  }
  return guarded([&]() -> int {
    const flume::ClientStats stats = client->client->stats();
    out->messages_out = stats.messages_out;
    out->bytes_out = stats.bytes_out;
    out->messages_in = stats.messages_in;
    out->bytes_in = stats.bytes_in;
    out->dropped_by_broker = stats.dropped_by_broker;
    out->reconnects = stats.reconnects;
    out->publish_errors = stats.publish_errors;
    out->connected = stats.connected ? 1 : 0;
    // Appended after 1.0.0: a caller built against an older header has no room for it.
    if (out->struct_size >= FLUME_STRUCT_END(flume_client_stats, publishes_unsent)) {
      out->publishes_unsent = stats.publishes_unsent;
    }
    return FLUME_OK;
  });
}

extern "C" uint32_t flume_client_max_payload(flume_client *client) {
  return client == nullptr ? 0 : client->client->max_payload();
}

extern "C" int flume_client_close(flume_client *client) {
  if (client == nullptr) return FLUME_OK;
  if (flume::capi::delivering_client() == client->id) {
    return fail(FLUME_EINVAL,
                "flume_client_close() was called from one of this client's own handlers, on its "
                "loop thread, which it would have to stop and join; close it from another thread");
  }
  // After close() the loop thread has ended, so no handler is running or will run: every drop
  // can run here. Subscriptions keep the client's core alive through their own references.
  client->client->close();
  std::vector<std::weak_ptr<flume::capi::Handler>> handlers;
  {
    std::lock_guard lock(client->handlers_mutex);
    handlers.swap(client->handlers);
  }
  delete client;
  for (auto &weak : handlers) {
    if (auto handler = weak.lock()) handler->retire();
  }
  return FLUME_OK;
}
