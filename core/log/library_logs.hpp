// The debug output of the libraries under Flume, routed into Flume's log.
#pragma once

#include <cstdarg>

#include "log/log.hpp"

namespace flume::log {

// GnuTLS: its log is process-global (gnutls_global_set_log_function/_level), so this affects
// every GnuTLS user in the process. At debug its levels 1-2 go to the log at debug, at trace its
// levels up to 4 (handshake messages) at trace; above debug GnuTLS logging is turned off again,
// if Flume turned it on. Called by set_sink().
void route_library_logs(Level min_level) noexcept;

// ngtcp2: a connection's settings.log_printf. ngtcp2 formats a line for every packet and frame,
// so it is set only on connections made while trace is enabled (ngtcp2_log_printf_if_enabled()).
void ngtcp2_log_printf(void *user_data, const char *format, ...) noexcept
    __attribute__((format(printf, 2, 3)));

// ngtcp2_log_printf when trace is enabled, else nullptr (ngtcp2 then formats nothing).
using Ngtcp2Printf = void (*)(void *, const char *, ...);
Ngtcp2Printf ngtcp2_log_printf_if_enabled() noexcept;

}  // namespace flume::log
