// SubscriptionRegistry: the subscriptions a client holds, by id. It makes them (ids are never
// reused within a client, so a late stream of an old subscription can never be mistaken for a
// new one), finds them for the loop thread's deliveries and answers, ends them, and holds back
// stream credit while a subscription's local queue is full (StreamCredit). It holds them weakly:
// the application owns each Subscription, and one it dropped unsubscribes itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/client.hpp"
#include "runtime/client_stream_credit.hpp"

namespace flume {

class SubscriptionRegistry {
 public:
  // Any thread. A new subscription of `client`; nullptr once the registry is closed.
  std::shared_ptr<Subscription> add(std::shared_ptr<ClientCore> client, std::string_view pattern,
                                    const SubscribeOptions &options, MessageCallback callback);
  // Any thread. The application unsubscribed `id`: true if it was still held.
  bool remove(std::uint32_t id);
  // Any thread.
  std::shared_ptr<Subscription> find(std::uint32_t id) const;
  // Any thread. Every live subscription (to subscribe again on a new connection).
  std::vector<std::shared_ptr<Subscription>> live() const;
  // Any thread. Ends every subscription with `message` and refuses add() from now on.
  void end_all(ClientStatus status, const std::string &message);

  // Loop thread. A message for `id` that arrived on `stream_id`; holds the stream's credit when
  // the subscription's queue is now full.
  void deliver(const MessageView &message, std::int64_t stream_id);
  // Loop thread. The broker's answers and reports.
  void accepted(std::uint32_t id, std::uint32_t queue_limit);
  void dropped_by_broker(std::uint32_t id, std::uint64_t count);
  // Loop thread. `subscription` is made again on a new connection, `disconnected` after the
  // old one was lost.
  void resubscribed(Subscription &subscription, std::chrono::milliseconds disconnected);
  // Loop thread. Ends subscription `id` (the broker refused or ended it, or the client did).
  // `refused`: wait_ready() reports it as the broker's refusal.
  void end(std::uint32_t id, ClientStatus status, std::string message, bool refused = false);

  // Loop thread only.
  StreamCredit &credit() noexcept { return credit_; }

 private:
  StreamCredit credit_;  // loop thread only

  mutable std::mutex mutex_;
  bool closed_ = false;
  std::unordered_map<std::uint32_t, std::weak_ptr<Subscription>> subscriptions_;
  std::uint32_t next_id_ = 1;
};

}  // namespace flume
