// In-order delivery at the last node: per origin (node id and epoch) and order class of the
// subject, the next number the origin gave this node (ROUTE's dest_sequence, docs/protocol.md
// 17.3) and the messages that came ahead of it, held until the gap fills. A gap is given up when
// its first held message has waited `hold_ns` or the held bytes of all origins pass `max_bytes`:
// what is held is then delivered in order and the missing numbers are counted lost. Numbers below
// the next expected one (their gap was given up already) are dropped and counted late, so the order
// a subscriber sees never goes backwards. Sans-I/O: the caller passes the time and runs expire()
// when next_deadline() is due. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "codec/shared_buffer.hpp"

namespace flume::overlay {

class ReorderWindow {
 public:
  struct Limits {
    std::uint64_t hold_ns = 150'000'000;           // --cluster-reorder-ms; 0: never hold
    std::size_t max_bytes = std::size_t{4} << 20;  // held by all origins together
    std::size_t max_streams = 16384;  // (origin, class) pairs; past it all are flushed, forgotten
  };
  // A message to hand to the local subscribers, in the origin's order.
  using Deliver = std::function<void(std::string_view subject, const SharedBuffer &frame)>;
  enum class Verdict { delivered, held, late, duplicate };

  ReorderWindow(Deliver deliver, Limits limits) : deliver_(std::move(deliver)), limits_(limits) {}

  // `sequence` is the origin's number for this node. The first number heard from an (origin,
  // epoch) is delivered at once when it is 0; any other first number is held as if 0..n-1 were
  // still coming, and when that first gap is given up it is not counted (this node may have
  // started while the origin was numbering for its previous process).
  Verdict offer(std::uint64_t origin, std::uint8_t order_class, std::uint64_t epoch,
                std::uint64_t sequence, std::string_view subject, const SharedBuffer &frame,
                std::uint64_t now_ns);
  // Gives up every gap whose first held message arrived hold_ns or more before `now_ns`.
  void expire(std::uint64_t now_ns);
  // When expire() next has work: the oldest held message's arrival + hold_ns.
  std::optional<std::uint64_t> next_deadline() const;

  std::uint64_t lost() const noexcept { return lost_; }  // numbers given up
  std::uint64_t late() const noexcept { return late_; }  // arrived after their gap was given up
  std::uint64_t gaps_given_up() const noexcept { return gaps_given_up_; }
  std::uint64_t given_up_for_bytes() const noexcept { return given_up_for_bytes_; }
  std::uint64_t reordered() const noexcept { return reordered_; }  // held, then delivered
  std::size_t held_messages() const noexcept { return held_messages_; }
  std::size_t held_bytes() const noexcept { return held_bytes_; }
  std::size_t streams() const noexcept { return streams_.size(); }

 private:
  struct Held {
    std::string subject;
    SharedBuffer frame;
    std::uint64_t arrived_ns = 0;
  };
  struct Stream {
    std::uint64_t epoch = 0;
    std::uint64_t expected = 0;
    bool anchored = false;  // `expected` follows a number actually heard
    std::map<std::uint64_t, Held> held;
  };

  void deliver_run(Stream &stream);  // delivers held messages from `expected` on, in order
  void give_up_first_gap(Stream &stream);
  void flush(Stream &stream);  // gives up every gap
  void release(const Held &held);

  Deliver deliver_;
  Limits limits_;
  struct Key {
    std::uint64_t origin = 0;
    std::uint8_t order_class = 0;
    bool operator==(const Key &) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key &key) const noexcept {
      return std::hash<std::uint64_t>{}(key.origin * 0x9e3779b97f4a7c15ull + key.order_class);
    }
  };
  std::unordered_map<Key, Stream, KeyHash> streams_;
  std::uint64_t lost_ = 0;
  std::uint64_t late_ = 0;
  std::uint64_t gaps_given_up_ = 0;
  std::uint64_t given_up_for_bytes_ = 0;
  std::uint64_t reordered_ = 0;
  std::size_t held_messages_ = 0;
  std::size_t held_bytes_ = 0;
};

}  // namespace flume::overlay
