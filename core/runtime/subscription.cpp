// Subscription: the application's side of one subscription, its local queue for recv() and the
// eventfd that signals it. Fed on the loop thread by the SubscriptionRegistry.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/client_core.hpp"  // Subscription calls back into its client

namespace flume {

Subscription::Subscription(std::shared_ptr<ClientCore> client, std::uint32_t id,
                           std::string pattern, SubscribeOptions options, MessageCallback callback)
    : client_(std::move(client)),
      id_(id),
      pattern_(std::move(pattern)),
      options_(options),
      callback_(std::move(callback)),
      event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      event_fd_errno_(event_fd_ < 0 ? errno : 0) {}

Subscription::~Subscription() {
  if (!ended()) client_->unsubscribe(id_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

void Subscription::signal_locked() {
  // Level-triggered: the fd stays readable while messages wait or the subscription has ended;
  // recv() clears it when it empties the queue.
  if (!event_signalled_ && event_fd_ >= 0) {
    const std::uint64_t one = 1;
    if (::write(event_fd_, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) {
      event_signalled_ = true;
    }
  }
}

bool Subscription::deliver(const MessageView &incoming) {
  MessageView message = incoming;
  if (callback_) {
    {
      std::lock_guard lock(mutex_);
      if (ended_) return false;
      message.sequence = next_sequence_++;
      stats_.last_sequence = message.sequence;
      ++stats_.received;
    }
    callback_(message);  // outside the lock: it may call anything, unsubscribe included
    return false;
  }
  SharedBuffer bytes = SharedBuffer::allocate(message.subject.size() + message.payload.size());
  if (!bytes) {
    std::lock_guard lock(mutex_);
    if (ended_) return false;
    stats_.last_sequence = next_sequence_++;
    ++stats_.dropped_locally;
    if (options_.report_gaps) {
      Gap gap;
      gap.dropped_locally = 1;
      queue_gap_locked(gap, stats_.last_sequence - 1);  // needs memory too: best effort
    }
    return false;
  }
  std::memcpy(bytes.mutable_data(), message.subject.data(), message.subject.size());
  if (!message.payload.empty()) {
    std::memcpy(bytes.mutable_data() + message.subject.size(), message.payload.data(),
                message.payload.size());
  }
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    if (ended_) return false;
    // The stream's credit is held back once the queue is full, so only what was already in
    // flight can land past the limit; beyond a second limit's worth the oldest goes.
    if (queue_.size() >= 2 * options_.local_queue_limit) drop_oldest_locked();
    stats_.last_sequence = next_sequence_++;
    queue_.emplace_back(std::move(bytes), static_cast<std::uint32_t>(message.subject.size()),
                        message.subscription_id, stats_.last_sequence);
    ++stats_.received;
    stats_.queued_high_water = std::max(stats_.queued_high_water, queue_.size());
    full = queue_.size() >= options_.local_queue_limit;
    signal_locked();
  }
  ready_.notify_one();
  return full;
}

void Subscription::drop_oldest_locked() {
  // Gaps never sit side by side, so at most one stands before the oldest message.
  Message front_gap;
  if (!queue_.empty() && queue_.front().is_gap()) {
    front_gap = std::move(queue_.front());
    queue_.pop_front();
  }
  if (queue_.empty()) {
    if (front_gap) queue_.push_front(std::move(front_gap));
    return;
  }
  const std::uint64_t dropped_sequence = queue_.front().sequence();
  queue_.pop_front();
  ++stats_.dropped_locally;
  if (!options_.report_gaps) return;
  Gap local;
  local.dropped_locally = 1;
  if (front_gap) {
    front_gap.merge_gap(local);
    queue_.push_front(std::move(front_gap));
  } else if (Message gap = Message::gap(local, id_, dropped_sequence - 1)) {
    queue_.push_front(std::move(gap));
  }
  // The message dropped may have stood between two gaps: they are one now.
  if (queue_.size() >= 2 && queue_[0].is_gap() && queue_[1].is_gap()) {
    queue_[0].merge_gap(queue_[1].gap());
    queue_.erase(queue_.begin() + 1);
  }
}

void Subscription::queue_gap_locked(const Gap &gap, std::uint64_t last_sequence) {
  if (!queue_.empty() && queue_.back().is_gap()) {
    queue_.back().merge_gap(gap);
  } else if (Message item = Message::gap(gap, id_, last_sequence)) {
    queue_.push_back(std::move(item));
    stats_.queued_high_water = std::max(stats_.queued_high_water, queue_.size());
  }
  signal_locked();
}

void Subscription::report_gap(const Gap &gap, std::uint64_t last_sequence) {
  if (callback_) {
    {
      std::lock_guard lock(mutex_);
      if (ended_) return;
    }
    callback_(MessageView{{}, {}, id_, last_sequence, &gap});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    queue_gap_locked(gap, last_sequence);
  }
  ready_.notify_one();
}

void Subscription::dropped_by_broker(std::uint64_t count) {
  std::uint64_t last_sequence = 0;
  {
    std::lock_guard lock(mutex_);
    stats_.dropped_by_broker += count;
    last_sequence = next_sequence_ - 1;
    next_sequence_ += count;  // the dropped messages had their numbers
  }
  if (!options_.report_gaps) return;
  Gap gap;
  gap.dropped_by_broker = count;
  report_gap(gap, last_sequence);
}

void Subscription::resubscribed(std::chrono::milliseconds disconnected) {
  std::uint64_t last_sequence = 0;
  {
    std::lock_guard lock(mutex_);
    // Never accepted: nothing was ever routed to it, so nothing was missed.
    if (ended_ || !stats_.accepted) return;
    ++stats_.resubscribed;
    last_sequence = next_sequence_ - 1;
  }
  if (!options_.report_gaps) return;
  Gap gap;
  gap.resubscribed = true;
  gap.disconnected = disconnected;
  report_gap(gap, last_sequence);
}

void Subscription::accepted(std::uint32_t queue_limit) {
  {
    std::lock_guard lock(mutex_);
    stats_.accepted = true;
    stats_.queue_limit = queue_limit;
  }
  answered_.notify_all();
}

void Subscription::end(ClientStatus status, std::string message, bool refused) {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
    refused_ = refused;
    end_reason_ = ClientResult{status, std::move(message)};
    signal_locked();
  }
  ready_.notify_all();
  answered_.notify_all();
}

ClientResult Subscription::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto answered = [this] { return stats_.accepted || ended_; };
  if (timeout.count() < 0) {
    answered_.wait(lock, answered);
  } else if (!answered_.wait_for(lock, timeout, answered)) {
    return ClientResult{ClientStatus::timeout, "the broker has not answered the subscription yet"};
  }
  if (stats_.accepted) return {};
  if (refused_) return ClientResult{ClientStatus::rejected, end_reason_.message};
  return end_reason_;
}

bool Subscription::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

SubscriptionStats Subscription::stats() const {
  std::lock_guard lock(mutex_);
  SubscriptionStats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

ClientResult Subscription::recv(Message &out, std::chrono::milliseconds timeout) {
  std::vector<Message> one;
  ClientResult result = recv_batch(one, 1, timeout);
  if (result.ok()) out = std::move(one.front());
  return result;
}

ClientResult Subscription::recv_batch(std::vector<Message> &out, std::size_t max,
                                      std::chrono::milliseconds timeout) {
  if (callback_) {
    return ClientResult{ClientStatus::invalid_argument,
                        "this subscription delivers to a callback; recv() is for polling ones"};
  }
  if (max == 0) return ClientResult{ClientStatus::invalid_argument, "max must be at least 1"};
  bool return_credit = false;
  {
    std::unique_lock lock(mutex_);
    auto ready = [this] { return !queue_.empty() || ended_; };
    if (timeout.count() < 0) {
      ready_.wait(lock, ready);
    } else if (!ready_.wait_for(lock, timeout, ready)) {
      return ClientResult{ClientStatus::timeout,
                          "no message within " + std::to_string(timeout.count()) + " ms"};
    }
    if (queue_.empty()) return end_reason_;  // ended, and everything was read
    const bool was_full = queue_.size() >= options_.local_queue_limit;
    const std::size_t n = std::min(max, queue_.size());
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return_credit = was_full && queue_.size() < options_.local_queue_limit;
    if (queue_.empty() && !ended_ && event_signalled_) {
      std::uint64_t value = 0;
      if (::read(event_fd_, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
        event_signalled_ = false;
      }
    }
  }
  if (return_credit) client_->return_credit(id_);
  return {};
}

ClientResult Subscription::unsubscribe() {
  client_->unsubscribe(id_);
  end(ClientStatus::closed, "unsubscribed");
  return {};
}

}  // namespace flume
