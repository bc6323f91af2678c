#include "overlay/interest_table.hpp"

#include <algorithm>

namespace flume::overlay {

InterestTable::Result InterestTable::add(LinkId link, std::string_view pattern) {
  auto key = std::make_pair(link, std::string(pattern));
  if (handles_.count(key) != 0) return Result::duplicate;
  if (patterns(link) >= max_per_link_) return Result::over_limit;
  SubscriptionHandle handle;
  if (trie_.subscribe(pattern, link, handle) != SubjectError::ok) return Result::invalid;
  handles_.emplace(std::move(key), handle);
  ++counts_[link];
  return Result::added;
}

InterestTable::Result InterestTable::remove(LinkId link, std::string_view pattern) {
  auto it = handles_.find(std::make_pair(link, std::string(pattern)));
  if (it == handles_.end()) return Result::unknown;
  trie_.unsubscribe(it->second);
  handles_.erase(it);
  if (--counts_[link] == 0) counts_.erase(link);
  return Result::removed;
}

void InterestTable::remove_link(LinkId link) {
  auto it = handles_.lower_bound(std::make_pair(link, std::string()));
  while (it != handles_.end() && it->first.first == link) {
    trie_.unsubscribe(it->second);
    it = handles_.erase(it);
  }
  counts_.erase(link);
}

void InterestTable::match(std::string_view subject, std::vector<LinkId> &out) const {
  out.clear();
  trie_.match(subject, [&out](LinkId link) { out.push_back(link); });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

std::size_t InterestTable::patterns(LinkId link) const {
  auto it = counts_.find(link);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<std::string> InterestTable::patterns_of(LinkId link, std::size_t limit) const {
  std::vector<std::string> out;
  for (auto it = handles_.lower_bound(std::make_pair(link, std::string()));
       it != handles_.end() && it->first.first == link && out.size() < limit; ++it)
    out.push_back(it->first.second);
  return out;
}

}  // namespace flume::overlay
