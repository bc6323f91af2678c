// What one node link sent recently: each ROUTE + MESSAGE copy (decoded route, subject, the
// shared MESSAGE bytes) for `keep_ns` and at most `max_bytes`, oldest first. When the link fails
// the ClusterNode takes them and re-sends them along the new routes (docs/overlay.md, "Path
// switches"); copies that did arrive are dropped by the receivers' dedupe window. The MESSAGE
// bytes are shared with the other links and the engine, so `bytes` overstates what is held.
// Sans-I/O, loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "overlay/overlay_frames.hpp"

namespace flume::overlay {

struct SentCopy {
  std::uint64_t sent_ns = 0;
  RouteHeader route;  // as sent on the link (hop limit already decremented)
  std::string subject;
  SharedBuffer message;
  std::size_t bytes = 0;  // accounted: the frame, the subject and the destinations
};

class SentLog {
 public:
  SentLog(std::uint64_t keep_ns, std::size_t max_bytes)
      : keep_ns_(keep_ns), max_bytes_(max_bytes) {}

  void record(std::uint64_t now_ns, RouteHeader route, std::string_view subject,
              const SharedBuffer &message);
  // What was sent within keep_ns of `now_ns`, oldest first; the log is empty afterwards.
  std::deque<SentCopy> take(std::uint64_t now_ns);

  std::size_t size() const noexcept { return copies_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  // Copies pushed out by max_bytes before keep_ns passed (they cannot be re-sent).
  std::uint64_t evicted() const noexcept { return evicted_; }

 private:
  void age_out(std::uint64_t now_ns);

  std::uint64_t keep_ns_;
  std::size_t max_bytes_;
  std::deque<SentCopy> copies_;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace flume::overlay
