// ClientSessionEvents: where the client session's events go. Messages, drops and the broker's
// answers about subscriptions go to the SubscriptionRegistry, PONGs to the FlushTracker, counts
// to the ClientCounters; the two events that change the connection's state (the session is
// ready, the session failed) go to its Owner, the ClientConnection. Loop thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "client_engine/session_io.hpp"
#include "runtime/client_counters.hpp"
#include "runtime/client_flushes.hpp"
#include "runtime/client_subscriptions.hpp"

namespace flume {

class ClientSessionEvents final : public client_engine::SessionEvents {
 public:
  class Owner {
   public:
    virtual void on_session_ready(const client_engine::ServerInfo &server) = 0;
    virtual void on_session_failed(ErrorCode code, std::string_view message) = 0;

   protected:
    ~Owner() = default;
  };

  ClientSessionEvents(Owner &owner, SubscriptionRegistry &subscriptions, FlushTracker &flushes,
                      ClientCounters &counters) noexcept
      : owner_(owner), subscriptions_(subscriptions), flushes_(flushes), counters_(counters) {}

  // The stream whose bytes the session is decoding (-1: none), so a delivery knows which
  // stream's credit to hold.
  void set_delivering_stream(std::int64_t stream_id) noexcept { delivering_stream_ = stream_id; }

  void on_ready(const client_engine::ServerInfo &server) override;
  void on_message(const client_engine::Delivery &delivery) override;
  void on_dropped(std::uint32_t subscription_id, std::uint64_t count) override;
  void on_subscribe_result(std::uint32_t subscription_id, ErrorCode code, std::string_view message,
                           std::uint32_t effective_queue_limit) override;
  void on_unsubscribed(std::uint32_t subscription_id, ErrorCode code,
                       std::string_view message) override;
  void on_subscription_ended(std::uint32_t subscription_id, ErrorCode code,
                             std::string_view message) override;
  void on_pong(std::uint64_t token) override;
  void on_error(ErrorCode code, std::string_view message) override;
  void on_session_failed(ErrorCode code, std::string_view message) override;

 private:
  Owner &owner_;
  SubscriptionRegistry &subscriptions_;
  FlushTracker &flushes_;
  ClientCounters &counters_;
  std::int64_t delivering_stream_ = -1;
};

}  // namespace flume
