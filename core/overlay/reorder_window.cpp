#include "overlay/reorder_window.hpp"

#include <algorithm>

namespace flume::overlay {

ReorderWindow::Verdict ReorderWindow::offer(std::uint64_t origin, std::uint8_t order_class,
                                            std::uint64_t epoch, std::uint64_t sequence,
                                            std::string_view subject, const SharedBuffer &frame,
                                            std::uint64_t now_ns) {
  const Key key{origin, order_class};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (streams_.size() >= limits_.max_streams) {
      // Bounded memory: every origin's held messages go out now (gaps counted) and the table
      // starts over; each origin's next message starts its numbering afresh.
      for (auto &[id, stream] : streams_)
        flush(stream);
      streams_.clear();
    }
    it = streams_.emplace(key, Stream{epoch, 0, false, {}}).first;
  }
  Stream &stream = it->second;
  if (epoch < stream.epoch) {
    // From an earlier start of the origin (epochs are start times), still on its way: its
    // numbering is over here; delivering it would go backwards.
    ++late_;
    return Verdict::late;
  }
  if (stream.epoch != epoch) {
    // The origin restarted: its old numbering ends here, what was held of it goes out.
    flush(stream);
    stream = Stream{epoch, 0, false, {}};
  }
  if (sequence < stream.expected) {
    ++late_;
    return Verdict::late;
  }
  if (sequence == stream.expected) {
    stream.anchored = true;
    ++stream.expected;
    deliver_(subject, frame);
    deliver_run(stream);
    return Verdict::delivered;
  }
  if (stream.held.count(sequence) != 0) return Verdict::duplicate;
  stream.held.emplace(sequence, Held{std::string(subject), frame, now_ns});
  ++held_messages_;
  held_bytes_ += frame.size() + subject.size();
  if (limits_.hold_ns == 0) {
    flush(stream);  // no waiting at all: what overtook goes out now, the overtaken ones are lost
    return Verdict::delivered;
  }
  while (held_bytes_ > limits_.max_bytes && !stream.held.empty()) {
    ++given_up_for_bytes_;
    give_up_first_gap(stream);
  }
  return Verdict::held;
}

void ReorderWindow::expire(std::uint64_t now_ns) {
  if (held_messages_ == 0) return;
  for (auto &[key, stream] : streams_) {
    // No message waits longer than hold_ns: the gaps below the highest number that has waited
    // that long are all given up (in a stream, arrival order is not number order).
    std::optional<std::uint64_t> due;
    for (const auto &[sequence, held] : stream.held) {
      if (held.arrived_ns + limits_.hold_ns <= now_ns) due = sequence;
    }
    while (due && !stream.held.empty() && stream.expected <= *due)
      give_up_first_gap(stream);
  }
}

std::optional<std::uint64_t> ReorderWindow::next_deadline() const {
  std::optional<std::uint64_t> out;
  if (held_messages_ == 0) return out;
  for (const auto &[key, stream] : streams_) {
    if (stream.held.empty()) continue;
    // The oldest held message of a stream is not always its lowest number: take the earliest.
    for (const auto &[sequence, held] : stream.held) {
      const std::uint64_t due = held.arrived_ns + limits_.hold_ns;
      if (!out || due < *out) out = due;
    }
  }
  return out;
}

void ReorderWindow::release(const Held &held) {
  --held_messages_;
  held_bytes_ -= held.frame.size() + held.subject.size();
  ++reordered_;
  deliver_(held.subject, held.frame);
}

void ReorderWindow::deliver_run(Stream &stream) {
  while (!stream.held.empty() && stream.held.begin()->first == stream.expected) {
    auto node = stream.held.extract(stream.held.begin());
    ++stream.expected;
    release(node.mapped());
  }
}

void ReorderWindow::give_up_first_gap(Stream &stream) {
  if (stream.held.empty()) return;
  const std::uint64_t first = stream.held.begin()->first;
  if (stream.anchored) lost_ += first - stream.expected;
  ++gaps_given_up_;
  stream.expected = first;
  stream.anchored = true;
  deliver_run(stream);
}

void ReorderWindow::flush(Stream &stream) {
  while (!stream.held.empty())
    give_up_first_gap(stream);
}

}  // namespace flume::overlay
