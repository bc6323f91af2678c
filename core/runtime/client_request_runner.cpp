#include "runtime/client_request_runner.hpp"

#include <string>

namespace flume {

void RequestRunner::run(std::vector<ClientRequest> &requests, client_engine::Session *session) {
  for (ClientRequest &request : requests) {
    switch (request.kind) {
      case ClientRequest::Kind::publish:
        if (session == nullptr || !session->publish(std::move(request.frame))) {
          ClientCounters::add(counters_.publishes_unsent);
        }
        break;
      case ClientRequest::Kind::subscribe:
        // Without a session, resubscribe() sends it once the next one is ready.
        if (session != nullptr) {
          if (auto subscription = subscriptions_.find(request.id)) {
            subscribe(*session, *subscription);
          }
        }
        break;
      case ClientRequest::Kind::unsubscribe:
        if (session != nullptr) (void)session->unsubscribe(request.id);
        subscriptions_.credit().forget(request.id);
        break;
      case ClientRequest::Kind::flush: {
        std::uint64_t token = 0;
        if (session != nullptr && session->ping(token)) {
          flushes_.sent(token, request.id);
        } else {
          flushes_.finish(request.id,
                          ClientResult{ClientStatus::not_connected,
                                       "the connection is down; nothing could be flushed"});
        }
        break;
      }
      case ClientRequest::Kind::credit:
        if (auto owed = subscriptions_.credit().release(request.id)) {
          link_.consume(owed->stream_id, owed->bytes);
        }
        break;
    }
  }
}

void RequestRunner::resubscribe(client_engine::Session &session,
                                std::optional<std::chrono::milliseconds> disconnected) {
  for (auto &subscription : subscriptions_.live()) {
    if (subscription->ended()) continue;
    if (disconnected) subscriptions_.resubscribed(*subscription, *disconnected);
    subscribe(session, *subscription);
  }
}

void RequestRunner::subscribe(client_engine::Session &session, const Subscription &subscription) {
  const SubscribeOptions &options = subscription.options();
  client_engine::Result result = session.subscribe(subscription.id(), subscription.pattern(),
                                                   options.overflow, options.queue_limit);
  // Ids are never reused within a client, so "in use" means this very subscription is already on
  // this session: resubscribe() sent it when the session became ready, while its own request was
  // still on its way. Not a refusal.
  if (!result && result.code() != client_engine::ClientErrc::subscription_id_in_use) {
    refuse_locally(subscription.id(), result.message());
  }
}

void RequestRunner::refuse_locally(std::uint32_t id, std::string_view why) {
  // The session checks what the broker would refuse (its announced max_subscriptions, for one)
  // before sending: for the application that is the broker's refusal, reported as one.
  subscriptions_.end(id, ClientStatus::closed,
                     "the subscription was refused before it was sent: " + std::string(why),
                     /*refused=*/true);
}

}  // namespace flume
