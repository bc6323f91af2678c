#include "runtime/client_session_events.hpp"

#include <string>

namespace flume {

void ClientSessionEvents::on_ready(const client_engine::ServerInfo &server) {
  owner_.on_session_ready(server);
}

void ClientSessionEvents::on_message(const client_engine::Delivery &delivery) {
  ClientCounters::add(counters_.messages_in);
  ClientCounters::add(counters_.bytes_in, delivery.payload.size());
  subscriptions_.deliver(MessageView{delivery.subject, delivery.payload, delivery.subscription_id},
                         delivering_stream_);
}

void ClientSessionEvents::on_dropped(std::uint32_t subscription_id, std::uint64_t count) {
  ClientCounters::add(counters_.dropped_by_broker, count);
  subscriptions_.dropped_by_broker(subscription_id, count);
}

void ClientSessionEvents::on_subscribe_result(std::uint32_t subscription_id, ErrorCode code,
                                              std::string_view message,
                                              std::uint32_t effective_queue_limit) {
  if (code == ErrorCode::no_error) {
    subscriptions_.accepted(subscription_id, effective_queue_limit);
    return;
  }
  subscriptions_.end(subscription_id, ClientStatus::closed,
                     "the broker refused the subscription: " +
                         std::string(error_code_name(static_cast<std::uint16_t>(code))) + ": " +
                         std::string(message),
                     /*refused=*/true);
}

void ClientSessionEvents::on_unsubscribed(std::uint32_t, ErrorCode, std::string_view) {}

void ClientSessionEvents::on_subscription_ended(std::uint32_t subscription_id, ErrorCode code,
                                                std::string_view message) {
  subscriptions_.end(subscription_id, ClientStatus::closed,
                     "the broker ended the subscription: " +
                         std::string(error_code_name(static_cast<std::uint16_t>(code))) +
                         (message.empty() ? "" : ": " + std::string(message)));
}

void ClientSessionEvents::on_pong(std::uint64_t token) {
  flushes_.answered(token);
}

void ClientSessionEvents::on_error(ErrorCode, std::string_view) {
  ClientCounters::add(counters_.publish_errors);
}

void ClientSessionEvents::on_session_failed(ErrorCode code, std::string_view message) {
  owner_.on_session_failed(code, message);
}

}  // namespace flume
