#include "overlay/origin_interest.hpp"

#include <algorithm>

namespace flume::overlay {

OriginInterest::Verdict OriginInterest::offer(const NodeInterest &interest, SharedBuffer frame) {
  if (interest.origin == self_) return Verdict::own;
  auto it = entries_.find(interest.origin);
  if (it == entries_.end()) {
    if (entries_.size() >= max_origins_) return Verdict::over_limit;
    it = entries_.emplace(interest.origin, Entry{next_key_++, 0, 0, {}}).first;
    names_.emplace(it->second.key, interest.origin);
  } else {
    const Entry &held = it->second;
    const bool newer = interest.epoch != held.epoch ? interest.epoch > held.epoch
                                                    : interest.sequence > held.sequence;
    if (!newer) return Verdict::stale;
  }
  Entry &entry = it->second;
  entry.epoch = interest.epoch;
  entry.sequence = interest.sequence;
  entry.frame = std::move(frame);
  table_.remove_link(entry.key);
  bool over = false;
  for (const std::string &pattern : interest.patterns) {
    const auto result = table_.add(entry.key, pattern);
    if (result == InterestTable::Result::over_limit) over = true;
  }
  return over ? Verdict::over_limit : Verdict::newer;
}

void OriginInterest::forget(const std::string &origin) {
  auto it = entries_.find(origin);
  if (it == entries_.end()) return;
  table_.remove_link(it->second.key);
  names_.erase(it->second.key);
  entries_.erase(it);
}

void OriginInterest::match(std::string_view subject, std::vector<std::string> &out) const {
  out.clear();
  table_.match(subject, matched_);
  for (LinkId key : matched_) {
    auto it = names_.find(key);
    if (it != names_.end()) out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
}

std::size_t OriginInterest::patterns(const std::string &origin) const {
  auto it = entries_.find(origin);
  return it == entries_.end() ? 0 : table_.patterns(it->second.key);
}

std::vector<std::string> OriginInterest::patterns_of(const std::string &origin,
                                                     std::size_t limit) const {
  auto it = entries_.find(origin);
  return it == entries_.end() ? std::vector<std::string>{}
                              : table_.patterns_of(it->second.key, limit);
}

std::vector<SharedBuffer> OriginInterest::frames() const {
  std::vector<SharedBuffer> out;
  for (const auto &[name, entry] : entries_) {
    if (entry.frame) out.push_back(entry.frame);
  }
  return out;
}

std::vector<std::string> OriginInterest::origins() const {
  std::vector<std::string> out;
  for (const auto &[name, entry] : entries_)
    out.push_back(name);
  return out;
}

}  // namespace flume::overlay
