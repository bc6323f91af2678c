#include "log/library_logs.hpp"

#include <gnutls/gnutls.h>

#include <cstring>
#include <mutex>
#include <string_view>

namespace flume::log {

namespace {

void gnutls_log(int gnutls_level, const char *text) {
  const Level level = gnutls_level <= 2 ? Level::debug : Level::trace;
  if (!enabled(level) || text == nullptr) return;
  std::string_view line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  write(level, "gnutls", line);
}

}  // namespace

void route_library_logs(Level min_level) noexcept {
  static std::mutex mutex;
  static bool routed = false;  // whether Flume turned GnuTLS's logging on
  std::lock_guard lock(mutex);
  if (min_level == Level::trace || min_level == Level::debug) {
    gnutls_global_set_log_function(gnutls_log);
    gnutls_global_set_log_level(min_level == Level::trace ? 4 : 2);
    routed = true;
  } else if (routed) {
    gnutls_global_set_log_level(0);
    routed = false;
  }
}

void ngtcp2_log_printf(void *, const char *format, ...) noexcept {
  if (!enabled(Level::trace)) return;  // trace was turned off after the connection was made
  va_list args;
  va_start(args, format);
  vwritef(Level::trace, "ngtcp2", format, args);
  va_end(args);
}

Ngtcp2Printf ngtcp2_log_printf_if_enabled() noexcept {
  return enabled(Level::trace) ? &ngtcp2_log_printf : nullptr;
}

}  // namespace flume::log
