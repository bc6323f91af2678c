#include "log/log.hpp"

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "log/library_logs.hpp"

namespace flume::log {

namespace detail {
std::atomic<int> min_level{static_cast<int>(Level::off)};
}

namespace {

// Never destroyed: a loop thread may still log while static destructors run at exit.
struct State {
  std::shared_mutex mutex;  // shared while a sink runs, exclusive while one is installed
  Sink sink;
  Level min_level = Level::off;
};
State &state() {
  static State *s = new State;
  return *s;
}

// Set while this thread is inside the sink: a nested message is dropped rather than taking the
// shared lock twice (which could wait behind a pending set_sink, for ever).
thread_local bool in_sink = false;

}  // namespace

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::off:
      return "off";
  }
  return "unknown";
}

bool inside_sink() noexcept {
  return in_sink;
}

bool set_sink(Level min_level, Sink sink) noexcept {
  if (in_sink) return false;
  if (static_cast<int>(min_level) < static_cast<int>(Level::trace) ||
      static_cast<int>(min_level) > static_cast<int>(Level::off) || sink.write == nullptr) {
    min_level = Level::off;
  }
  if (min_level == Level::off) sink = Sink{};
  State &s = state();
  {
    // Exclusive: waits for every running call of the old sink to return.
    std::unique_lock lock(s.mutex);
    s.sink = sink;
    s.min_level = min_level;
    detail::min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
  }
  route_library_logs(min_level);
  return true;
}

void write(Level level, const char *component, std::string_view message) noexcept {
  if (!enabled(level) || in_sink) return;
  State &s = state();
  std::shared_lock lock(s.mutex);
  if (s.sink.write == nullptr || static_cast<int>(level) < static_cast<int>(s.min_level)) return;
  in_sink = true;
  try {
    const std::string text(message);  // the sink gets a NUL-terminated copy
    s.sink.write(s.sink.context, level, component, text.c_str());
  } catch (...) {
    // Logging never fails the caller: a message that cannot be copied is lost.
  }
  in_sink = false;
}

void vwritef(Level level, const char *component, const char *format, va_list args) noexcept {
  if (!enabled(level) || in_sink) return;
  char small[512];
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(small, sizeof small, format, args);
  if (n < 0) {
    va_end(again);
    return;
  }
  if (static_cast<std::size_t>(n) < sizeof small) {
    va_end(again);
    write(level, component, std::string_view(small, static_cast<std::size_t>(n)));
    return;
  }
  try {
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(big.data(), big.size(), format, again);
    big.resize(static_cast<std::size_t>(n));
    write(level, component, big);
  } catch (...) {
  }
  va_end(again);
}

void writef(Level level, const char *component, const char *format, ...) noexcept {
  if (!enabled(level)) return;
  va_list args;
  va_start(args, format);
  vwritef(level, component, format, args);
  va_end(args);
}

}  // namespace flume::log
