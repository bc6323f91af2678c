// One subscription's bounded queue of MESSAGE frames waiting for room on its stream, and the
// overflow policy that keeps it bounded (docs/protocol.md 8.3). Pure bookkeeping: it never
// touches a transport, so the broker decides when to write and what to count.
//
// Drops are remembered where the gap is, so the DROPPED frame lands exactly there: drop_oldest
// removes from the front, so the gap is before the next queued message (its `dropped_before`);
// drop_newest refuses at the back, so the gap is after the last queued one (`tail_drops`).
//
// With a MemoryAccount, every entry added or removed is counted there as memory_budget.hpp says
// (a buffer once for all the queues that hold it), in O(1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "broker/memory_budget.hpp"
#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"

namespace flume::broker {

class DeliveryQueue {
 public:
  struct Entry {
    SharedBuffer frame;
    std::uint64_t dropped_before = 0;  // drops to report with DROPPED before this frame
  };

  struct PushResult {
    bool queued = false;        // the new frame is in the queue
    bool close = false;         // policy `close` and full: the caller ends the subscription
    std::uint32_t dropped = 0;  // frames the policy dropped (queued ones and/or the new one)
    bool no_memory = false;     // the new frame was lost because the queue could not grow
  };

  DeliveryQueue(OverflowPolicy policy, std::uint32_t limit,
                MemoryAccount *memory = nullptr) noexcept
      : policy_(policy), limit_(limit == 0 ? 1 : limit), memory_(memory) {}
  ~DeliveryQueue() { clear(); }
  DeliveryQueue(const DeliveryQueue &) = delete;
  DeliveryQueue &operator=(const DeliveryQueue &) = delete;

  // What one queue entry costs the memory account besides its buffer.
  static constexpr std::size_t kEntryCost = sizeof(Entry);
  // What a buffer costs the account when the first queue takes it.
  static std::size_t buffer_cost(const SharedBuffer &frame) noexcept {
    return frame.size() + SharedBuffer::kHeaderSize + kAllocatorOverhead;
  }
  // What queuing `frame` would add to the account now.
  static std::size_t cost_of(const SharedBuffer &frame) noexcept {
    return kEntryCost + (frame.holders() == 0 ? buffer_cost(frame) : 0);
  }

  // Queues `frame` unless the queue is full: `limit` frames, or more bytes than `room` (what the
  // connection may still hold) would be needed. A full queue applies the policy. A frame lost to
  // allocation failure is reported (no_memory) and counted as a gap like a drop.
  PushResult push(SharedBuffer frame, std::size_t room) noexcept;

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint32_t limit() const noexcept { return limit_; }
  OverflowPolicy policy() const noexcept { return policy_; }

  Entry &front() noexcept { return entries_.front(); }
  // Removes and returns the oldest entry; the queue must not be empty.
  Entry take_front() noexcept;

  std::uint64_t tail_drops() const noexcept { return tail_drops_; }
  // Drops that happened elsewhere (before the messages got here), to report after the last
  // queued message like the policy's own.
  void add_tail_drops(std::uint64_t count) noexcept { tail_drops_ += count; }
  std::uint64_t take_tail_drops() noexcept {
    const std::uint64_t drops = tail_drops_;
    tail_drops_ = 0;
    return drops;
  }

  // Forgets every queued frame and unreported drop; returns how many frames were queued.
  std::size_t clear() noexcept;

  // The memory budget's levers, one frame at a time, with the gap remembered where it is as the
  // policies do it: drop the oldest queued frame (gap before the next one), drop the newest
  // queued frame (gap after the last one kept), or refuse a frame that was never queued (gap
  // after the last one). The first two return false when the queue is empty.
  bool drop_oldest_one() noexcept;
  bool drop_newest_one() noexcept;
  void refuse_one() noexcept { ++tail_drops_; }

 private:
  void pop_front() noexcept;
  void hold(const SharedBuffer &frame) noexcept;
  void release(const SharedBuffer &frame) noexcept;
  bool fits(std::size_t frame_bytes, std::size_t room) const noexcept {
    return entries_.size() < limit_ && frame_bytes <= room;
  }

  std::deque<Entry> entries_;
  std::size_t bytes_ = 0;
  std::uint64_t tail_drops_ = 0;
  OverflowPolicy policy_;
  std::uint32_t limit_;
  MemoryAccount *memory_;
};

}  // namespace flume::broker
