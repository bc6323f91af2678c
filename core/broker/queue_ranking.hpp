// The subscriptions with something queued, ranked by the bytes their queues hold, so that the
// memory budget can ask "who holds the most" in O(1) with 10,000 connections.
//
// Buckets, not a heap: bucket_of() maps a byte count to one of 256 buckets, four per power of
// two (the top bit and the two after it), so every subscription in the highest non-empty bucket
// holds at least 4/5 of what the largest holds, and one in a lower bucket never holds more than
// one in a higher. Each bucket is an intrusive list; a bit per bucket finds the highest non-empty
// one. update() after a queue changed is O(1) and moves the subscription only when its bucket
// changed, so the cost per enqueue or dequeue is a comparison.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace flume::broker {

struct Subscription;

// Where a subscription sits in the ranking; part of Subscription.
struct RankLink {
  Subscription *prev = nullptr;
  Subscription *next = nullptr;
  int bucket = -1;  // -1: not ranked (empty queue)
};

class QueueRanking {
 public:
  static constexpr int kBuckets = 256;
  static int bucket_of(std::size_t bytes) noexcept;

  // Puts `sub` where its queue's bytes say (out of the ranking when empty). `to_back`: also when
  // the bucket did not change, behind the others in it, so that equals take turns.
  void update(Subscription &sub, bool to_back = false) noexcept;
  void remove(Subscription &sub) noexcept;
  // One of those holding the most (the first of the highest bucket); nullptr when none.
  Subscription *largest() const noexcept;
  std::size_t size() const noexcept { return size_; }

 private:
  struct Bucket {
    Subscription *head = nullptr;
    Subscription *tail = nullptr;
  };
  void unlink(Subscription &sub) noexcept;
  void link_back(Subscription &sub, int bucket) noexcept;

  std::array<Bucket, kBuckets> buckets_{};
  std::array<std::uint64_t, kBuckets / 64> occupied_{};
  std::size_t size_ = 0;
};

}  // namespace flume::broker
