#include "quic/send_queue.hpp"

#include <algorithm>

namespace flume::quic {

void SendQueue::append(SharedBuffer buffer, std::size_t offset, std::size_t length) {
  if (length == 0) return;
  const std::uint8_t *data = buffer.data() + offset;
  slices_.push_back({std::move(buffer), data, length, end_});
  end_ += length;
}

std::size_t SendQueue::peek_unsent(std::span<ngtcp2_vec> vec, bool &all) const noexcept {
  std::size_t filled = 0;
  std::size_t index = first_unsent_;
  std::uint64_t position = sent_;
  while (filled < vec.size() && index < slices_.size() && position < end_) {
    const Slice &slice = slices_[index];
    std::size_t skip = static_cast<std::size_t>(position - slice.stream_offset);
    vec[filled].base = const_cast<std::uint8_t *>(slice.data + skip);
    vec[filled].len =
        std::min<std::size_t>(slice.length - skip, static_cast<std::size_t>(end_ - position));
    position += vec[filled].len;
    ++filled;
    ++index;
  }
  all = position == end_;
  return filled;
}

void SendQueue::mark_sent(std::size_t n) noexcept {
  sent_ = std::min<std::uint64_t>(sent_ + n, end_);
  while (first_unsent_ < slices_.size()) {
    const Slice &slice = slices_[first_unsent_];
    if (slice.stream_offset + slice.length > sent_) break;
    ++first_unsent_;
  }
}

void SendQueue::acknowledge_until(std::uint64_t end) noexcept {
  acked_ = std::max(acked_, std::min(end, sent_));
  while (!slices_.empty()) {
    const Slice &front = slices_.front();
    if (front.stream_offset + front.length > acked_) break;
    slices_.pop_front();
    if (first_unsent_ > 0) --first_unsent_;
  }
}

void SendQueue::drop_unsent() noexcept {
  while (slices_.size() > first_unsent_) {
    const Slice &back = slices_.back();
    if (back.stream_offset < sent_) break;
    slices_.pop_back();
  }
  end_ = sent_;
  // A slice straddling sent_ keeps its bytes; they are in flight.
}

void SendQueue::clear() noexcept {
  slices_.clear();
  first_unsent_ = 0;
  sent_ = acked_ = end_;
}

}  // namespace flume::quic
