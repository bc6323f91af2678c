#include "overlay/pattern_cover.hpp"

#include <algorithm>

namespace flume::overlay {

namespace {

// The next token of `pattern` from `at` (moved past it and its dot).
std::string_view next_token(std::string_view pattern, std::size_t &at) {
  const std::size_t dot = pattern.find('.', at);
  const std::size_t end = dot == std::string_view::npos ? pattern.size() : dot;
  std::string_view token = pattern.substr(at, end - at);
  at = end == pattern.size() ? end : end + 1;
  return token;
}

}  // namespace

bool covers(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size()) {
    if (j >= b.size()) return false;  // a wants more tokens than b's subjects have
    const std::string_view ta = next_token(a, i);
    const std::string_view tb = next_token(b, j);
    if (ta == ">") return true;   // the rest of b: one token or more, as `>` takes
    if (tb == ">") return false;  // b takes any number of tokens; a a fixed number here
    if (ta == "*") continue;      // one token, whatever b has there (a literal or `*`)
    if (ta != tb) return false;   // a literal covers only itself
  }
  return j >= b.size();
}

std::vector<std::string> minimal_patterns(std::vector<std::string> patterns,
                                          std::size_t max_compared) {
  std::sort(patterns.begin(), patterns.end());
  patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
  if (patterns.size() > max_compared) return patterns;
  std::vector<std::string> out;
  for (std::size_t k = 0; k < patterns.size(); ++k) {
    bool covered = false;
    for (std::size_t m = 0; m < patterns.size() && !covered; ++m)
      covered = m != k && covers(patterns[m], patterns[k]);
    if (!covered) out.push_back(patterns[k]);
  }
  return out;
}

}  // namespace flume::overlay
