// The library's one log: a process-wide sink that the application installs (the C ABI's
// flume_set_log_handler(), flume-broker's spdlog, the flume tool's stderr lines). Without a sink
// nothing is written anywhere: the library never prints on its own.
//
// Any thread may log, including loop threads. A disabled level costs one relaxed atomic load:
// FLUME_LOG checks the level before its arguments are evaluated or formatted.
#pragma once

#include <atomic>
#include <cstdarg>
#include <string_view>

namespace flume::log {

// The values are the C ABI's FLUME_LOG_* (flume.h); keep them in step.
enum class Level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// "trace", "debug", "info", "warn", "error", "off"; "unknown" for anything else.
std::string_view level_name(Level level) noexcept;

// Receives one message: `component` ("client", "broker", "quic", "tls", "ngtcp2", "gnutls") and
// `message` are NUL-terminated and valid during the call only. Called on the logging thread,
// never for a level below the sink's minimum, never re-entrantly on one thread (a message logged
// from inside the sink is dropped).
struct Sink {
  void (*write)(void *context, Level level, const char *component, const char *message) = nullptr;
  void *context = nullptr;
};

// Installs `sink` for messages at `min_level` and above, replacing the previous one; a sink
// without `write` (or min_level off) removes it. When this returns, no call of the previous sink
// is running or will start, so its context may be freed. Returns false (and changes nothing)
// when called from inside a sink, which would wait for itself.
bool set_sink(Level min_level, Sink sink) noexcept;

// Whether this thread is inside a call of the sink.
bool inside_sink() noexcept;

namespace detail {
extern std::atomic<int> min_level;
}

// Whether a message at `level` would reach a sink. Check it before building a message.
inline bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= detail::min_level.load(std::memory_order_relaxed);
}

// Hands one message to the sink (if any, and if `level` is enabled). Never throws.
void write(Level level, const char *component, std::string_view message) noexcept;

// printf-style; prefer FLUME_LOG, which skips the formatting when the level is off.
void writef(Level level, const char *component, const char *format, ...) noexcept
    __attribute__((format(printf, 3, 4)));
void vwritef(Level level, const char *component, const char *format, va_list args) noexcept
    __attribute__((format(printf, 3, 0)));

}  // namespace flume::log

// FLUME_LOG(flume::log::Level::info, "client", "connected to %s", address.c_str()): the
// arguments are evaluated only when the level is enabled.
#define FLUME_LOG(level, component, ...)                       \
  do {                                                         \
    if (::flume::log::enabled(level)) {                        \
      ::flume::log::writef((level), (component), __VA_ARGS__); \
    }                                                          \
  } while (0)
