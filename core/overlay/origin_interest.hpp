// Which nodes want a subject: the newest NODE_INTEREST of every other node (docs/protocol.md
// 17.8), its patterns in one trie so a publish costs one walk whatever the number of nodes. The
// frames are kept as received, to hand to a new neighbour. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "codec/shared_buffer.hpp"
#include "overlay/interest_table.hpp"
#include "overlay/overlay_frames.hpp"

namespace flume::overlay {

class OriginInterest {
 public:
  enum class Verdict { newer, stale, own, over_limit };

  // `self`: this node (its own interest coming back is `own`). `max_patterns`: per origin,
  // `max_origins`: origins held; both bound what the cluster can make us hold.
  OriginInterest(std::string self, std::size_t max_patterns, std::size_t max_origins = 4096)
      : self_(std::move(self)), max_origins_(max_origins), table_(max_patterns) {}

  // Replaces the origin's patterns when `interest` is newer by (epoch, sequence) than the
  // held one. Patterns past the per-origin limit are not kept (`over_limit`; the rest are).
  Verdict offer(const NodeInterest &interest, SharedBuffer frame);
  void forget(const std::string &origin);

  // The origins whose patterns match `subject`, each once, in name order (into `out`).
  void match(std::string_view subject, std::vector<std::string> &out) const;
  std::size_t patterns(const std::string &origin) const;
  // Up to `limit` of the origin's patterns (for the state document).
  std::vector<std::string> patterns_of(const std::string &origin, std::size_t limit) const;
  // Every held frame, to greet a new neighbour with.
  std::vector<SharedBuffer> frames() const;
  std::vector<std::string> origins() const;

 private:
  struct Entry {
    LinkId key = 0;  // the origin's key in table_
    std::uint64_t epoch = 0;
    std::uint64_t sequence = 0;
    SharedBuffer frame;
  };
  std::string self_;
  std::size_t max_origins_;
  InterestTable table_;
  std::map<std::string, Entry> entries_;
  std::map<LinkId, std::string> names_;
  LinkId next_key_ = 1;
  mutable std::vector<LinkId> matched_;
};

}  // namespace flume::overlay
