#include "broker/delivery_queue.hpp"

#include <new>
#include <utility>

namespace flume::broker {

DeliveryQueue::PushResult DeliveryQueue::push(SharedBuffer frame, std::size_t room) noexcept {
  PushResult result;
  const std::size_t frame_bytes = frame.size();
  if (!fits(frame_bytes, room)) {
    switch (policy_) {
      case OverflowPolicy::close:
        result.close = true;
        return result;
      case OverflowPolicy::drop_newest:
        ++tail_drops_;
        result.dropped = 1;
        return result;
      case OverflowPolicy::drop_oldest:
        // Room freed by evicting this queue's own frames counts; other subscriptions' do not.
        while (!entries_.empty() && !fits(frame_bytes, room)) {
          room += entries_.front().frame.size();
          drop_oldest_one();
          ++result.dropped;
        }
        if (!fits(frame_bytes, room)) {
          // Larger than all this connection may hold even with the queue empty.
          ++tail_drops_;
          ++result.dropped;
          return result;
        }
        break;
    }
  }
  // A frame after refused ones carries their count, so DROPPED precedes it.
  try {
    entries_.push_back(Entry{std::move(frame), tail_drops_});
  } catch (const std::bad_alloc &) {
    ++tail_drops_;  // still a gap the client must hear about
    result.no_memory = true;
    return result;
  }
  tail_drops_ = 0;
  bytes_ += frame_bytes;
  hold(entries_.back().frame);
  result.queued = true;
  return result;
}

void DeliveryQueue::hold(const SharedBuffer &frame) noexcept {
  if (memory_ == nullptr) return;
  memory_->add(kEntryCost + (frame.add_holder() ? buffer_cost(frame) : 0));
}

void DeliveryQueue::release(const SharedBuffer &frame) noexcept {
  if (memory_ == nullptr) return;
  memory_->sub(kEntryCost + (frame.remove_holder() ? buffer_cost(frame) : 0));
}

void DeliveryQueue::pop_front() noexcept {
  bytes_ -= entries_.front().frame.size();
  release(entries_.front().frame);
  entries_.pop_front();
}

bool DeliveryQueue::drop_oldest_one() noexcept {
  if (entries_.empty()) return false;
  const std::uint64_t carried = entries_.front().dropped_before + 1;
  pop_front();
  if (entries_.empty()) {
    tail_drops_ += carried;
  } else {
    entries_.front().dropped_before += carried;
  }
  return true;
}

bool DeliveryQueue::drop_newest_one() noexcept {
  if (entries_.empty()) return false;
  // The drops before it, it, and any refused after it are all one gap after the new last one.
  tail_drops_ += entries_.back().dropped_before + 1;
  bytes_ -= entries_.back().frame.size();
  release(entries_.back().frame);
  entries_.pop_back();
  return true;
}

DeliveryQueue::Entry DeliveryQueue::take_front() noexcept {
  Entry entry = std::move(entries_.front());
  bytes_ -= entry.frame.size();
  release(entry.frame);
  entries_.pop_front();
  return entry;
}

std::size_t DeliveryQueue::clear() noexcept {
  const std::size_t count = entries_.size();
  for (const Entry &entry : entries_)
    release(entry.frame);
  entries_.clear();
  bytes_ = 0;
  tail_drops_ = 0;
  return count;
}

}  // namespace flume::broker
