#include "overlay/sent_log.hpp"

namespace flume::overlay {

void SentLog::record(std::uint64_t now_ns, RouteHeader route, std::string_view subject,
                     const SharedBuffer &message) {
  if (keep_ns_ == 0 || max_bytes_ == 0) return;
  const std::size_t bytes = message.size() + subject.size() + sizeof(SentCopy) +
                            route.destinations.size() * sizeof(RouteDestination);
  age_out(now_ns);
  while (!copies_.empty() && bytes_ + bytes > max_bytes_) {
    bytes_ -= copies_.front().bytes;
    copies_.pop_front();
    ++evicted_;
  }
  if (bytes > max_bytes_) {
    ++evicted_;
    return;
  }
  copies_.push_back(SentCopy{now_ns, std::move(route), std::string(subject), message, bytes});
  bytes_ += bytes;
}

std::deque<SentCopy> SentLog::take(std::uint64_t now_ns) {
  age_out(now_ns);
  std::deque<SentCopy> out;
  out.swap(copies_);
  bytes_ = 0;
  return out;
}

void SentLog::age_out(std::uint64_t now_ns) {
  while (!copies_.empty() && copies_.front().sent_ns + keep_ns_ < now_ns) {
    bytes_ -= copies_.front().bytes;
    copies_.pop_front();
  }
}

}  // namespace flume::overlay
