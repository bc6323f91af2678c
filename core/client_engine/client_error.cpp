#include "client_engine/client_error.hpp"

namespace flume::client_engine {

std::string_view client_errc_name(ClientErrc code) noexcept {
  switch (code) {
    case ClientErrc::ok:
      return "ok";
    case ClientErrc::not_started:
      return "not_started";
    case ClientErrc::already_started:
      return "already_started";
    case ClientErrc::session_closed:
      return "session_closed";
    case ClientErrc::invalid_config:
      return "invalid_config";
    case ClientErrc::invalid_subject:
      return "invalid_subject";
    case ClientErrc::invalid_pattern:
      return "invalid_pattern";
    case ClientErrc::payload_too_large:
      return "payload_too_large";
    case ClientErrc::invalid_subscription_id:
      return "invalid_subscription_id";
    case ClientErrc::subscription_id_in_use:
      return "subscription_id_in_use";
    case ClientErrc::unknown_subscription:
      return "unknown_subscription";
    case ClientErrc::too_many_subscriptions:
      return "too_many_subscriptions";
    case ClientErrc::invalid_overflow_policy:
      return "invalid_overflow_policy";
    case ClientErrc::out_of_memory:
      return "out_of_memory";
  }
  return "unknown";
}

Result Result::failure(ClientErrc code, std::string_view message) noexcept {
  try {
    return Result(code, std::string(message));
  } catch (...) {
    return Result(code, std::string());
  }
}

}  // namespace flume::client_engine
