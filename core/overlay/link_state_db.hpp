// What this node knows of the cluster's link state: the newest NODE_ADVERT of every other node
// (docs/protocol.md 17.7), with the frame as received so it can be flooded on and handed to a
// new neighbour unchanged. Entries not refreshed within the age limit go: a node that stopped
// advertising (gone, or cut off) leaves the map. Sans-I/O: the caller passes the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "codec/shared_buffer.hpp"
#include "overlay/overlay_frames.hpp"

namespace flume::overlay {

class LinkStateDb {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { newer, stale, own };

  struct Entry {
    NodeAdvert advert;
    SharedBuffer frame;  // the NODE_ADVERT frame, header included
    Clock::time_point refreshed;
  };

  // `self`: this node's name (its own adverts coming back are refused as `own`).
  // `max_nodes` bounds what the cluster can make us hold.
  explicit LinkStateDb(std::string self, std::size_t max_nodes = 4096)
      : self_(std::move(self)), max_nodes_(max_nodes) {}

  // Keeps `advert` if it is newer, by (epoch, sequence), than what is held for its origin (or
  // the first from it). `stale`: an old or repeated advert, or no room for another node.
  Verdict offer(NodeAdvert advert, SharedBuffer frame, Clock::time_point now);
  // Removes the entries last refreshed before `cutoff`; true when any went.
  bool expire(Clock::time_point cutoff);

  const Entry *find(const std::string &node) const;
  const std::map<std::string, Entry> &entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::string self_;
  std::size_t max_nodes_;
  std::map<std::string, Entry> entries_;
};

}  // namespace flume::overlay
