#include "broker_logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace flume::broker_cli {

namespace {

using spdlog::memory_buf_t;

void append(memory_buf_t &dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// ISO 8601 in UTC with milliseconds: 2025-01-31T12:00:00.123Z.
void append_timestamp(memory_buf_t &dest, spdlog::log_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  const time_t t = static_cast<time_t>(secs.count());
  struct tm utc {};
  gmtime_r(&t, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  const int m = std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis));
  append(dest, std::string_view(text, n + static_cast<std::size_t>(m)));
}

// Our names ("warn", not spdlog's "warning"), the same as --log-level takes.
std::string_view level_text(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// A JSON string: quotes, backslashes and control characters escaped; other bytes as they are
// (messages are UTF-8 or ASCII).
void append_json_string(memory_buf_t &dest, std::string_view text) {
  dest.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        append(dest, "\\\"");
        break;
      case '\\':
        append(dest, "\\\\");
        break;
      case '\n':
        append(dest, "\\n");
        break;
      case '\r':
        append(dest, "\\r");
        break;
      case '\t':
        append(dest, "\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          append(dest, escaped);
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

std::string_view view(spdlog::string_view_t text) {
  return std::string_view(text.data(), text.size());
}

// 2025-01-31T12:00:00.123Z info  broker: connection from 127.0.0.1:40000 closed: ...
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg &msg, memory_buf_t &dest) override {
    append_timestamp(dest, msg.time);
    dest.push_back(' ');
    const std::string_view level = level_text(msg.level);
    append(dest, level);
    for (std::size_t i = level.size(); i < 5; ++i)
      dest.push_back(' ');
    dest.push_back(' ');
    append(dest, view(msg.logger_name));
    append(dest, ": ");
    append(dest, view(msg.payload));
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }
};

// {"ts":"2025-01-31T12:00:00.123Z","level":"info","component":"broker","msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg &msg, memory_buf_t &dest) override {
    append(dest, "{\"ts\":\"");
    append_timestamp(dest, msg.time);
    append(dest, "\",\"level\":\"");
    append(dest, level_text(msg.level));
    append(dest, "\",\"component\":");
    append_json_string(dest, view(msg.logger_name));
    append(dest, ",\"msg\":");
    append_json_string(dest, view(msg.payload));
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::level::level_enum to_spdlog(log::Level level) {
  switch (level) {
    case log::Level::trace:
      return spdlog::level::trace;
    case log::Level::debug:
      return spdlog::level::debug;
    case log::Level::info:
      return spdlog::level::info;
    case log::Level::warn:
      return spdlog::level::warn;
    case log::Level::error:
      return spdlog::level::err;
    case log::Level::off:
      break;
  }
  return spdlog::level::off;
}

// One spdlog logger per component (its name is the component), all on one stderr sink. Never
// destroyed: the library may log from its loop thread while the program exits.
struct Loggers {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> by_component;

  spdlog::logger &get(std::string_view component) {
    std::lock_guard lock(mutex);
    auto it = by_component.find(component);
    if (it == by_component.end()) {
      auto logger = std::make_shared<spdlog::logger>(std::string(component), sink);
      logger->set_level(level);
      it = by_component.emplace(std::string(component), std::move(logger)).first;
    }
    return *it->second;
  }
};
Loggers *loggers = nullptr;

void write_to_spdlog(void *, log::Level level, const char *component, const char *message) {
  loggers->get(component).log(to_spdlog(level), spdlog::string_view_t(message));
}

}  // namespace

std::optional<log::Level> parse_log_level(std::string_view text) {
  if (text == "trace") return log::Level::trace;
  if (text == "debug") return log::Level::debug;
  if (text == "info") return log::Level::info;
  if (text == "warn" || text == "warning") return log::Level::warn;
  if (text == "error") return log::Level::error;
  if (text == "off") return log::Level::off;
  return std::nullopt;
}

bool valid_log_format(std::string_view text) {
  return text == "text" || text == "json";
}

void install_logging(log::Level level, std::string_view format) {
  if (loggers == nullptr) loggers = new Loggers;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    sink->set_formatter(std::make_unique<TextFormatter>());
  }
  {
    std::lock_guard lock(loggers->mutex);
    loggers->sink = std::move(sink);
    loggers->level = to_spdlog(level);
    loggers->by_component.clear();
  }
  log::set_sink(level, log::Sink{&write_to_spdlog, nullptr});
}

}  // namespace flume::broker_cli
