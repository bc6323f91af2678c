// Which peers want a subject: the patterns each node link advertised (INTEREST / UNINTEREST),
// in one trie, so a publish costs one walk whatever the number of peers. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/subject_trie.hpp"

namespace flume::overlay {

using LinkId = std::uint32_t;

class InterestTable {
 public:
  // False when the pattern is invalid or the link already advertised it (a peer bug; counted
  // by the caller). `max_per_link` bounds what one peer can make us hold.
  enum class Result { added, removed, invalid, duplicate, unknown, over_limit };

  explicit InterestTable(std::size_t max_per_link = 100000) : max_per_link_(max_per_link) {}

  Result add(LinkId link, std::string_view pattern);
  Result remove(LinkId link, std::string_view pattern);
  void remove_link(LinkId link);

  // The links whose patterns match `subject`, each once, in ascending order (into `out`).
  void match(std::string_view subject, std::vector<LinkId> &out) const;

  std::size_t patterns(LinkId link) const;
  // The patterns of one link, at most `limit`, in byte order.
  std::vector<std::string> patterns_of(LinkId link, std::size_t limit) const;

 private:
  std::size_t max_per_link_;
  SubjectTrie<LinkId> trie_;
  std::map<std::pair<LinkId, std::string>, SubscriptionHandle, std::less<>> handles_;
  std::map<LinkId, std::size_t> counts_;
};

}  // namespace flume::overlay
