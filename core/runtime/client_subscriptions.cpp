#include "runtime/client_subscriptions.hpp"

namespace flume {

std::shared_ptr<Subscription> SubscriptionRegistry::add(std::shared_ptr<ClientCore> client,
                                                        std::string_view pattern,
                                                        const SubscribeOptions &options,
                                                        MessageCallback callback) {
  std::lock_guard lock(mutex_);
  if (closed_) return nullptr;
  const std::uint32_t id = next_id_++;
  auto subscription = std::shared_ptr<Subscription>(
      new Subscription(std::move(client), id, std::string(pattern), options, std::move(callback)));
  subscriptions_[id] = subscription;
  return subscription;
}

bool SubscriptionRegistry::remove(std::uint32_t id) {
  std::lock_guard lock(mutex_);
  return subscriptions_.erase(id) != 0;
}

std::shared_ptr<Subscription> SubscriptionRegistry::find(std::uint32_t id) const {
  std::lock_guard lock(mutex_);
  auto it = subscriptions_.find(id);
  return it == subscriptions_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<Subscription>> SubscriptionRegistry::live() const {
  std::vector<std::shared_ptr<Subscription>> live;
  std::lock_guard lock(mutex_);
  for (auto &[id, weak] : subscriptions_) {
    if (auto subscription = weak.lock()) live.push_back(std::move(subscription));
  }
  return live;
}

void SubscriptionRegistry::end_all(ClientStatus status, const std::string &message) {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto &[id, weak] : subscriptions_) {
      if (auto subscription = weak.lock()) live.push_back(std::move(subscription));
    }
    subscriptions_.clear();
  }
  // Outside the lock: ending one wakes its readers, and a reader may call back into the client.
  for (auto &subscription : live)
    subscription->end(status, message);
}

void SubscriptionRegistry::deliver(const MessageView &message, std::int64_t stream_id) {
  auto subscription = find(message.subscription_id);
  if (!subscription) return;
  if (stream_id >= 0) credit_.delivered_on(message.subscription_id, stream_id);
  if (subscription->deliver(message) && stream_id >= 0) credit_.hold(stream_id);
}

void SubscriptionRegistry::accepted(std::uint32_t id, std::uint32_t queue_limit) {
  if (auto subscription = find(id)) subscription->accepted(queue_limit);
}

void SubscriptionRegistry::dropped_by_broker(std::uint32_t id, std::uint64_t count) {
  if (auto subscription = find(id)) subscription->dropped_by_broker(count);
}

void SubscriptionRegistry::resubscribed(Subscription &subscription,
                                        std::chrono::milliseconds disconnected) {
  subscription.resubscribed(disconnected);
}

void SubscriptionRegistry::end(std::uint32_t id, ClientStatus status, std::string message,
                               bool refused) {
  std::shared_ptr<Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    subscription = it->second.lock();
    subscriptions_.erase(it);
  }
  credit_.forget(id);
  if (subscription) subscription->end(status, std::move(message), refused);
}

}  // namespace flume
