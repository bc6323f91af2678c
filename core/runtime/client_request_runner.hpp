// RequestRunner: carries out the application's requests on the loop thread, against the session
// of the current connection. A request the session cannot carry out is never dropped silently: a
// publish it refuses (no session: the connection was lost after publish() accepted it; or the
// session refused it) is counted in ClientStats::publishes_unsent, a subscription it refuses ends
// with the reason, a flush it cannot send fails with not_connected. Subscribe requests made while
// no session was ready are not lost either: resubscribe() sends every live subscription on the
// next session. Loop thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "client_engine/session.hpp"
#include "runtime/client_counters.hpp"
#include "runtime/client_flushes.hpp"
#include "runtime/client_requests.hpp"
#include "runtime/client_session_link.hpp"
#include "runtime/client_subscriptions.hpp"

namespace flume {

class RequestRunner {
 public:
  RequestRunner(SubscriptionRegistry &subscriptions, FlushTracker &flushes,
                ClientCounters &counters, SessionLink &link) noexcept
      : subscriptions_(subscriptions), flushes_(flushes), counters_(counters), link_(link) {}

  // `session`: the current session if it is ready, else nullptr.
  void run(std::vector<ClientRequest> &requests, client_engine::Session *session);
  // Every live subscription, on a session that just became ready.
  // `disconnected`: how long the client was without a connection, when this session replaces
  // one that was lost (each subscription the broker had accepted then reports the gap).
  void resubscribe(client_engine::Session &session,
                   std::optional<std::chrono::milliseconds> disconnected);

 private:
  void subscribe(client_engine::Session &session, const Subscription &subscription);
  // The session refused to send a SUBSCRIBE (a limit the broker announced, ...).
  void refuse_locally(std::uint32_t id, std::string_view why);

  SubscriptionRegistry &subscriptions_;
  FlushTracker &flushes_;
  ClientCounters &counters_;
  SessionLink &link_;
};

}  // namespace flume
