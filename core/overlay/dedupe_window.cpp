#include "overlay/dedupe_window.hpp"

namespace flume::overlay {

DedupeWindow::Verdict DedupeWindow::check(std::uint64_t origin, std::uint64_t epoch,
                                          std::uint64_t sequence) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) {
    if (origins_.size() >= max_origins_) {
      origins_.clear();
      ++resets_;
    }
    it = origins_.emplace(origin, Origin{}).first;
  }
  Origin &o = it->second;
  if (!o.any || o.epoch != epoch) {
    // A new origin, or the origin restarted (a new epoch): its numbering starts over.
    o.epoch = epoch;
    o.highest = sequence;
    o.any = true;
    o.seen.reset();
    o.seen.set(sequence % kWindow);
    return Verdict::fresh;
  }
  if (sequence > o.highest) {
    const std::uint64_t advance = sequence - o.highest;
    if (advance >= kWindow) {
      o.seen.reset();
    } else {
      for (std::uint64_t s = o.highest + 1; s <= sequence; ++s)
        o.seen.reset(s % kWindow);
    }
    o.highest = sequence;
    o.seen.set(sequence % kWindow);
    return Verdict::fresh;
  }
  if (o.highest - sequence >= kWindow) return Verdict::too_old;
  if (o.seen.test(sequence % kWindow)) return Verdict::duplicate;
  o.seen.set(sequence % kWindow);
  return Verdict::fresh;
}

}  // namespace flume::overlay
