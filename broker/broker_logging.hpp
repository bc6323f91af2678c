// flume-broker's log: the library's messages (core/log) written to stderr by spdlog, as text or
// as JSON lines. Standard output keeps the start-up lines, signal notices and stats.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "log/log.hpp"

namespace flume::broker_cli {

// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; nullopt for anything else.
std::optional<log::Level> parse_log_level(std::string_view text);

// "text" or "json".
bool valid_log_format(std::string_view text);

// Installs the log: messages at `level` and above, one line each on stderr, in `format` ("text":
// "2025-01-31T12:00:00.123Z info  broker: message"; "json": {"ts":...,"level":...,
// "component":...,"msg":...}). Both must have been checked with the functions above. Called once,
// before the broker starts.
void install_logging(log::Level level, std::string_view format);

}  // namespace flume::broker_cli
