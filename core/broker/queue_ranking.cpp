#include "broker/queue_ranking.hpp"

#include <bit>

#include "broker/subscription.hpp"

namespace flume::broker {

int QueueRanking::bucket_of(std::size_t bytes) noexcept {
  if (bytes < 4) return static_cast<int>(bytes);  // 0 (unranked), 1, 2, 3
  const int top = std::bit_width(bytes) - 1;      // >= 2
  return top * 4 + static_cast<int>((bytes >> (top - 2)) & 3);
}

void QueueRanking::update(Subscription &sub, bool to_back) noexcept {
  const int bucket = bucket_of(sub.queue.bytes());
  if (bucket == sub.rank.bucket && !to_back) return;
  if (sub.rank.bucket >= 0) unlink(sub);
  if (bucket > 0) link_back(sub, bucket);
}

void QueueRanking::remove(Subscription &sub) noexcept {
  if (sub.rank.bucket >= 0) unlink(sub);
}

Subscription *QueueRanking::largest() const noexcept {
  for (int word = static_cast<int>(occupied_.size()) - 1; word >= 0; --word) {
    if (occupied_[word] != 0) {
      const int bit = std::bit_width(occupied_[word]) - 1;
      return buckets_[word * 64 + bit].head;
    }
  }
  return nullptr;
}

void QueueRanking::unlink(Subscription &sub) noexcept {
  Bucket &b = buckets_[sub.rank.bucket];
  (sub.rank.prev != nullptr ? sub.rank.prev->rank.next : b.head) = sub.rank.next;
  (sub.rank.next != nullptr ? sub.rank.next->rank.prev : b.tail) = sub.rank.prev;
  if (b.head == nullptr)
    occupied_[sub.rank.bucket / 64] &= ~(std::uint64_t{1} << (sub.rank.bucket % 64));
  sub.rank = RankLink{};
  --size_;
}

void QueueRanking::link_back(Subscription &sub, int bucket) noexcept {
  Bucket &b = buckets_[bucket];
  sub.rank.bucket = bucket;
  sub.rank.prev = b.tail;
  sub.rank.next = nullptr;
  (b.tail != nullptr ? b.tail->rank.next : b.head) = &sub;
  b.tail = &sub;
  occupied_[bucket / 64] |= std::uint64_t{1} << (bucket % 64);
  ++size_;
}

}  // namespace flume::broker
