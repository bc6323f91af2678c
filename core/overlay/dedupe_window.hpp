// Exactly-once delivery of forwarded messages: per origin (node id and epoch), the highest
// sequence number seen and which of the kWindow numbers below it were seen, as in IPsec's
// anti-replay window. A message can reach a node twice (two paths, a retransmission after a link
// came back); the second copy is refused here. Lanes may reorder messages of different subjects,
// hence a window rather than "higher than the last". Sans-I/O, O(1) per message.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace flume::overlay {

class DedupeWindow {
 public:
  static constexpr std::uint64_t kWindow = 4096;

  enum class Verdict { fresh, duplicate, too_old };

  // `max_origins` bounds memory (512 bytes per origin): a new origin past it clears the table,
  // which can let a duplicate through once but never drops a fresh message. Counted in resets().
  explicit DedupeWindow(std::size_t max_origins = 4096) : max_origins_(max_origins) {}

  Verdict check(std::uint64_t origin, std::uint64_t epoch, std::uint64_t sequence);

  std::size_t origins() const noexcept { return origins_.size(); }
  std::uint64_t resets() const noexcept { return resets_; }

 private:
  struct Origin {
    std::uint64_t epoch = 0;
    std::uint64_t highest = 0;
    bool any = false;
    std::bitset<kWindow>
        seen;  // bit (sequence % kWindow) for sequences in (highest-kWindow, highest]
  };

  std::size_t max_origins_;
  std::unordered_map<std::uint64_t, Origin> origins_;
  std::uint64_t resets_ = 0;
};

}  // namespace flume::overlay
