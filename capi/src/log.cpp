// flume_set_log_handler(): the C ABI over the core's log (core/log).
#include <mutex>

#include "last_error.hpp"
#include "log/log.hpp"

using flume::capi::fail;

static_assert(FLUME_LOG_TRACE == static_cast<int>(flume::log::Level::trace) &&
              FLUME_LOG_DEBUG == static_cast<int>(flume::log::Level::debug) &&
              FLUME_LOG_INFO == static_cast<int>(flume::log::Level::info) &&
              FLUME_LOG_WARN == static_cast<int>(flume::log::Level::warn) &&
              FLUME_LOG_ERROR == static_cast<int>(flume::log::Level::error) &&
              FLUME_LOG_OFF == static_cast<int>(flume::log::Level::off));

namespace {

// The core's sink context is the C handler itself; the level is already the C value.
struct Handler {
  flume_log_callback callback;
  void *context;
};

// One handler at a time, replaced under the core's lock; the storage outlives any call into it
// because set_sink() waits for running calls before it returns. Two slots, so the one being
// replaced is never written while a call may still read it.
Handler slots[2];
int next_slot = 0;

void forward(void *context, flume::log::Level level, const char *component, const char *message) {
  const auto *handler = static_cast<const Handler *>(context);
  handler->callback(handler->context, static_cast<int>(level), component, message);
}

}  // namespace

extern "C" int flume_set_log_handler(int min_level, flume_log_callback callback, void *context) {
  if (min_level < FLUME_LOG_TRACE || min_level > FLUME_LOG_OFF) {
    return fail(FLUME_EINVAL, "min_level must be one of FLUME_LOG_TRACE .. FLUME_LOG_OFF");
  }
  // Checked before the lock: a handler waiting for it could wait for an installer that waits for
  // the handler.
  if (flume::log::inside_sink()) {
    return fail(FLUME_EINVAL, "flume_set_log_handler() cannot be called from a log handler");
  }
  static std::mutex mutex;  // serialises installers: the slot written is not in use
  std::lock_guard lock(mutex);
  flume::log::Sink sink;
  if (callback != nullptr && min_level != FLUME_LOG_OFF) {
    Handler &slot = slots[next_slot];
    slot = Handler{callback, context};
    sink = flume::log::Sink{&forward, &slot};
  }
  if (!flume::log::set_sink(static_cast<flume::log::Level>(min_level), sink)) {
    return fail(FLUME_EINVAL, "flume_set_log_handler() cannot be called from a log handler");
  }
  if (sink.write != nullptr) next_slot ^= 1;
  return FLUME_OK;
}

extern "C" const char *flume_log_level_name(int level) {
  if (level < FLUME_LOG_TRACE || level > FLUME_LOG_OFF) return "unknown";
  return flume::log::level_name(static_cast<flume::log::Level>(level)).data();
}
