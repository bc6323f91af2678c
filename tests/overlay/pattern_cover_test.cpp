// covers() against the matcher itself: for every pair of patterns over a small alphabet, `a`
// covers `b` exactly when every subject `b` matches (tried exhaustively) `a` matches too.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "overlay/pattern_cover.hpp"
#include "router/subject_trie.hpp"
#include "subject/subject.hpp"

namespace flume::overlay {
namespace {

// Every dotted string of 1..max_tokens tokens from `alphabet`.
std::vector<std::string> strings_of(const std::vector<std::string> &alphabet,
                                    std::size_t max_tokens) {
  std::vector<std::string> out, layer = {""};
  for (std::size_t n = 1; n <= max_tokens; ++n) {
    std::vector<std::string> next;
    for (const std::string &prefix : layer) {
      for (const std::string &token : alphabet)
        next.push_back(prefix.empty() ? token : prefix + "." + token);
    }
    out.insert(out.end(), next.begin(), next.end());
    layer = std::move(next);
  }
  return out;
}

bool matches(const std::string &pattern, const std::string &subject) {
  SubjectTrie<int> trie;
  SubscriptionHandle handle;
  if (trie.subscribe(pattern, 1, handle) != SubjectError::ok) return false;
  bool hit = false;
  trie.match(subject, [&](int) { hit = true; });
  return hit;
}

TEST(PatternCover, AgreesWithTheMatcherOnEveryPairOfSmallPatterns) {
  // Patterns of up to 3 tokens from a, b, * and > (valid ones: > only last); subjects of up to
  // 4 tokens (one more than any pattern, so > is told from *) from a, b and c (c appears in no
  // pattern, so * is told from a literal).
  std::vector<std::string> patterns;
  for (const std::string &p : strings_of({"a", "b", "*", ">"}, 3)) {
    if (validate_pattern(p) == SubjectError::ok) patterns.push_back(p);  // > only last
  }
  const std::vector<std::string> subjects = strings_of({"a", "b", "c"}, 4);
  ASSERT_EQ(patterns.size(), 52u);  // 4 + 12 + 36: every valid one
  std::size_t covered_pairs = 0;
  for (const std::string &a : patterns) {
    for (const std::string &b : patterns) {
      bool expected = true;
      for (const std::string &s : subjects) {
        if (matches(b, s) && !matches(a, s)) {
          expected = false;
          break;
        }
      }
      EXPECT_EQ(covers(a, b), expected) << "covers(" << a << ", " << b << ")";
      covered_pairs += expected;
    }
  }
  EXPECT_GT(covered_pairs, patterns.size());  // not only every pattern covering itself
}

TEST(PatternCover, TheBriefsExamples) {
  EXPECT_TRUE(covers("orders.>", "orders.eu.*"));
  EXPECT_TRUE(covers("orders.>", "orders.eu"));
  EXPECT_FALSE(covers("orders.>", "orders"));
  EXPECT_FALSE(covers("orders.*", "orders.>"));
  EXPECT_TRUE(covers(">", "orders.>"));
  EXPECT_FALSE(covers("orders.eu", "orders.*"));
}

TEST(PatternCover, MinimalSetKeepsOnlyUncoveredPatternsOnce) {
  EXPECT_EQ(minimal_patterns(
                {"orders.eu", "orders.>", "orders.eu.*", "stock.*", "stock.x", "orders.>", "a"}),
            (std::vector<std::string>{"a", "orders.>", "stock.*"}));
  EXPECT_EQ(minimal_patterns({"x.*", "*.y"}), (std::vector<std::string>{"*.y", "x.*"}));
  EXPECT_TRUE(minimal_patterns({}).empty());
  // Past the comparison bound only repeats go (correct, not minimal).
  EXPECT_EQ(minimal_patterns({"a.b", ">", "a.b"}, 1), (std::vector<std::string>{">", "a.b"}));
}

}  // namespace
}  // namespace flume::overlay
