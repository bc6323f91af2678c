#include "overlay/link_state_db.hpp"

#include <utility>

namespace flume::overlay {

LinkStateDb::Verdict LinkStateDb::offer(NodeAdvert advert, SharedBuffer frame,
                                        Clock::time_point now) {
  if (advert.origin == self_) return Verdict::own;
  auto it = entries_.find(advert.origin);
  if (it == entries_.end()) {
    if (entries_.size() >= max_nodes_) return Verdict::stale;
    std::string origin = advert.origin;
    entries_.emplace(std::move(origin), Entry{std::move(advert), std::move(frame), now});
    return Verdict::newer;
  }
  const NodeAdvert &held = it->second.advert;
  // Epochs are start times, so a restarted node's adverts are newer than its old ones.
  const bool newer =
      advert.epoch != held.epoch ? advert.epoch > held.epoch : advert.sequence > held.sequence;
  if (!newer) return Verdict::stale;
  it->second = Entry{std::move(advert), std::move(frame), now};
  return Verdict::newer;
}

bool LinkStateDb::expire(Clock::time_point cutoff) {
  bool any = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.refreshed < cutoff) {
      it = entries_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

const LinkStateDb::Entry *LinkStateDb::find(const std::string &node) const {
  auto it = entries_.find(node);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace flume::overlay
