#include "router/subject_trie.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// Fault injection for the whole binary: once armed with n >= 0, the first n allocations succeed
// and every later one throws until the test disarms it again with -1.
namespace {
long allocations_before_failure = -1;
}  // namespace

void *operator new(std::size_t size) {
  if (allocations_before_failure == 0) throw std::bad_alloc();
  if (allocations_before_failure > 0) --allocations_before_failure;
  if (void *p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t size) {
  return operator new(size);
}
// Not inlined, so GCC does not mistake free() here for a mismatch with a new-expression.
[[gnu::noinline]] void operator delete(void *p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void *p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void *p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void *p, std::size_t) noexcept {
  std::free(p);
}

namespace flume {
namespace {

using Trie = SubjectTrie<int>;

// "t<i>.x", built by appending: GCC 12 at -O3 reports a false -Wrestrict inside
// `"t" + std::string` (GCC bug 105329).
std::string numbered_subject(int i) {
  std::string subject = "t";
  subject += std::to_string(i);
  subject += ".x";
  return subject;
}

SubscriptionHandle subscribe(Trie &trie, std::string_view pattern, int value) {
  SubscriptionHandle handle;
  EXPECT_EQ(trie.subscribe(pattern, value, handle), SubjectError::ok) << std::string(pattern);
  return handle;
}

// Every value visited, sorted, so a duplicate visit shows up as a repeated element.
std::vector<int> matches(const Trie &trie, std::string_view subject) {
  std::vector<int> out;
  trie.match(subject, [&](int value) { out.push_back(value); });
  std::sort(out.begin(), out.end());
  return out;
}

struct WildcardCase {
  std::string_view pattern;
  std::string_view subject;
  bool matches;
};

TEST(SubjectTrie, WildcardTable) {
  const WildcardCase cases[] = {
      {"a", "a", true},
      {"a", "b", false},
      {"a", "a.b", false},
      {"a.b", "a", false},
      {"a.b.c", "a.b.c", true},
      {"a.b.c", "a.b.x", false},
      {"*", "a", true},
      {"*", "a.b", false},
      {"*.b", "x.b", true},
      {"*.b", "x.c", false},
      {"a.*", "a", false},
      {"a.*", "a.b", true},
      {"a.*", "a.b.c", false},
      {"a.*.c", "a.b.c", true},
      {"a.*.c", "a.b.b.c", false},
      {"*.*.*", "a.b.c", true},
      {"*.*.*", "a.b", false},
      {">", "a", true},
      {">", "a.b.c.d.e", true},
      {"a.>", "a", false},
      {"a.>", "a.b", true},
      {"a.>", "a.b.c.d", true},
      {"a.>", "b.c", false},
      {"*.>", "a", false},
      {"*.>", "a.b", true},
      {"a.*.>", "a.b", false},
      {"a.*.>", "a.b.c", true},
      {"a.b.>", "a.b.c", true},
      {"a.b.>", "a.x.c", false},
      {"\xf0\x9f\x98\x80.*", "\xf0\x9f\x98\x80.x", true},
  };
  for (const WildcardCase &c : cases) {
    Trie trie;
    subscribe(trie, c.pattern, 7);
    const std::vector<int> expected = c.matches ? std::vector<int>{7} : std::vector<int>{};
    EXPECT_EQ(matches(trie, c.subject), expected)
        << std::string(c.pattern) << " vs " << std::string(c.subject);
    EXPECT_EQ(trie.has_match(c.subject), c.matches)
        << std::string(c.pattern) << " vs " << std::string(c.subject);
  }
}

TEST(SubjectTrie, StarMatchesExactlyOneToken) {
  Trie trie;
  subscribe(trie, "orders.*.created", 1);
  EXPECT_EQ(matches(trie, "orders.eu.created"), std::vector<int>{1});
  EXPECT_TRUE(matches(trie, "orders.created").empty());
  EXPECT_TRUE(matches(trie, "orders.eu.west.created").empty());
}

TEST(SubjectTrie, FullWildcardNeedsAtLeastOneToken) {
  Trie trie;
  subscribe(trie, "orders.>", 1);
  EXPECT_TRUE(matches(trie, "orders").empty());
  EXPECT_EQ(matches(trie, "orders.eu"), std::vector<int>{1});
  EXPECT_EQ(matches(trie, "orders.eu.west.created"), std::vector<int>{1});
}

TEST(SubjectTrie, EveryMatchingSubscriptionIsVisitedOnce) {
  Trie trie;
  // Value 1 holds two subscriptions that both match: it is its own stream twice.
  subscribe(trie, "a.b", 1);
  subscribe(trie, "a.*", 1);
  subscribe(trie, "a.b", 2);
  subscribe(trie, "a.b", 3);
  subscribe(trie, ">", 4);
  subscribe(trie, "a.>", 5);
  subscribe(trie, "*.*", 6);
  subscribe(trie, "a.c", 8);
  subscribe(trie, "a.b.c", 9);
  EXPECT_EQ(matches(trie, "a.b"), (std::vector<int>{1, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(trie.size(), 9u);
  EXPECT_EQ(trie.pattern_count(), 7u);
}

TEST(SubjectTrie, InvalidPatternIsRefusedWithValidatorsError) {
  Trie trie;
  SubscriptionHandle handle{12, 34};
  EXPECT_EQ(trie.subscribe("a.>.b", 1, handle), SubjectError::full_wildcard_not_last);
  EXPECT_EQ(trie.subscribe("a..b", 1, handle), SubjectError::empty_token);
  EXPECT_EQ(trie.subscribe("", 1, handle), SubjectError::empty);
  EXPECT_EQ(trie.subscribe("a*", 1, handle), SubjectError::wildcard_inside_token);
  EXPECT_EQ(handle, (SubscriptionHandle{12, 34}));
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.node_count(), 1u);
}

TEST(SubjectTrie, UnsubscribeStopsOnlyThatSubscription) {
  Trie trie;
  const auto h1 = subscribe(trie, "a.b", 1);
  const auto h2 = subscribe(trie, "a.b", 2);
  const auto h3 = subscribe(trie, "a.b", 3);
  EXPECT_TRUE(trie.unsubscribe(h1));  // swap-removes: 3 moves into 1's place
  EXPECT_EQ(matches(trie, "a.b"), (std::vector<int>{2, 3}));
  EXPECT_TRUE(trie.unsubscribe(h3));  // so the moved entry must still be found by its handle
  EXPECT_EQ(matches(trie, "a.b"), std::vector<int>{2});
  EXPECT_TRUE(trie.unsubscribe(h2));
  EXPECT_FALSE(trie.has_match("a.b"));
  EXPECT_EQ(trie.size(), 0u);
}

TEST(SubjectTrie, StaleHandleIsRejectedEvenAfterSlotReuse) {
  Trie trie;
  subscribe(trie, "other", 9);  // keeps the trie from emptying, which would reset its pools
  const auto old_handle = subscribe(trie, "a", 1);
  EXPECT_TRUE(trie.unsubscribe(old_handle));
  EXPECT_FALSE(trie.unsubscribe(old_handle));
  const auto new_handle = subscribe(trie, "a", 2);
  EXPECT_EQ(new_handle.slot, old_handle.slot);  // reused, so only the generation tells them apart
  EXPECT_FALSE(trie.unsubscribe(old_handle));
  EXPECT_EQ(matches(trie, "a"), std::vector<int>{2});
  EXPECT_FALSE(trie.unsubscribe(SubscriptionHandle{}));
  EXPECT_FALSE(trie.unsubscribe(SubscriptionHandle{new_handle.slot + 1, new_handle.generation}));
  EXPECT_TRUE(trie.unsubscribe(new_handle));
}

TEST(SubjectTrie, HandlesStayStaleAfterTheTrieEmpties) {
  Trie trie;
  const auto old1 = subscribe(trie, "a", 1);
  const auto old2 = subscribe(trie, "b", 2);
  EXPECT_TRUE(trie.unsubscribe(old1));
  EXPECT_TRUE(trie.unsubscribe(old2));  // the last one: the trie frees its pools
  const auto new1 = subscribe(trie, "a", 3);
  const auto new2 = subscribe(trie, "b", 4);
  EXPECT_FALSE(trie.unsubscribe(old1));
  EXPECT_FALSE(trie.unsubscribe(old2));
  EXPECT_EQ(matches(trie, "a"), std::vector<int>{3});
  EXPECT_EQ(matches(trie, "b"), std::vector<int>{4});
  EXPECT_TRUE(trie.unsubscribe(new1));
  EXPECT_TRUE(trie.unsubscribe(new2));
}

TEST(SubjectTrie, ClearMakesEveryHandleStale) {
  Trie trie;
  const auto old1 = subscribe(trie, "a.b", 1);
  const auto old2 = subscribe(trie, "a.>", 2);
  trie.clear();
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.pattern_count(), 0u);
  EXPECT_EQ(trie.node_count(), 1u);
  EXPECT_FALSE(trie.has_match("a.b"));
  // The new subscriptions reuse both slots; only the generations tell the handles apart.
  const auto new1 = subscribe(trie, "a.b", 3);
  const auto new2 = subscribe(trie, "a.b", 4);
  EXPECT_FALSE(trie.unsubscribe(old1));
  EXPECT_FALSE(trie.unsubscribe(old2));
  EXPECT_EQ(matches(trie, "a.b"), (std::vector<int>{3, 4}));
  EXPECT_TRUE(trie.unsubscribe(new1));
  EXPECT_TRUE(trie.unsubscribe(new2));
}

TEST(SubjectTrie, UnsubscribingEverythingPrunesToTheRoot) {
  Trie trie;
  std::vector<SubscriptionHandle> handles;
  for (std::string_view p : {"a.b.c", "a.b", "a.*.c", "a.>", "*", ">", "x.y.z.w", "a.b.c"}) {
    handles.push_back(subscribe(trie, p, 1));
  }
  EXPECT_EQ(trie.pattern_count(), 7u);
  EXPECT_GT(trie.node_count(), 1u);
  for (const auto &handle : handles)
    EXPECT_TRUE(trie.unsubscribe(handle));
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.pattern_count(), 0u);
  EXPECT_EQ(trie.node_count(), 1u);
}

TEST(SubjectTrie, PruningKeepsNodesOthersStillUse) {
  Trie trie;
  const auto deep = subscribe(trie, "a.b.c.d", 1);
  subscribe(trie, "a.b", 2);
  subscribe(trie, "a.*.c", 3);
  const std::size_t before = trie.node_count();  // root, a, b, c, d, *, c
  EXPECT_EQ(before, 7u);
  EXPECT_TRUE(trie.unsubscribe(deep));
  EXPECT_EQ(trie.node_count(), 5u);  // c and d under a.b went; a.b is still a pattern
  EXPECT_EQ(matches(trie, "a.b"), std::vector<int>{2});
  EXPECT_EQ(matches(trie, "a.b.c"), std::vector<int>{3});
  EXPECT_TRUE(matches(trie, "a.b.c.d").empty());
}

// Thousands of literal edges share one open-addressing table; removing some must leave the ones
// probed past them reachable, also after the table shrinks.
TEST(SubjectTrie, RemovingEdgesKeepsTheirNeighboursReachable) {
  Trie trie;
  constexpr int kCount = 6000;
  std::vector<SubscriptionHandle> handles;
  for (int i = 0; i < kCount; ++i) {
    handles.push_back(subscribe(trie, numbered_subject(i), i));
  }
  auto check_live = [&](auto is_live) {
    for (int i = 0; i < kCount; ++i) {
      const std::string subject = numbered_subject(i);
      ASSERT_EQ(matches(trie, subject), is_live(i) ? std::vector<int>{i} : std::vector<int>{})
          << subject;
    }
  };
  for (int i = 0; i < kCount; i += 2)
    ASSERT_TRUE(trie.unsubscribe(handles[i]));
  check_live([](int i) { return i % 2 == 1; });
  for (int i = 1; i < kCount; i += 2) {
    if (i % 20 != 1) {
      ASSERT_TRUE(trie.unsubscribe(handles[i]));
    }
  }
  check_live([](int i) { return i % 20 == 1; });
  EXPECT_EQ(trie.node_count(), 1 + 2 * kCount / 20);
}

TEST(SubjectTrie, ArbitraryBytesMatchByTheSameTokenRules) {
  Trie trie;
  const std::vector<std::string_view> patterns = {">", "*", "*.*", "a.>", "a.*", "a"};
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    subscribe(trie, patterns[i], static_cast<int>(i));
  }
  std::string huge;
  for (int i = 0; i < 5000; ++i)
    huge += "a.";
  const std::vector<std::string> subjects = {"",
                                             ".",
                                             "..",
                                             "a.",
                                             ".a",
                                             "a..",
                                             "a b",
                                             std::string("a\0.b", 4),
                                             "\xff\xfe",
                                             huge,
                                             std::string(100000, 'a')};
  for (const std::string &s : subjects) {
    std::vector<int> expected;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (pattern_matches(patterns[i], s)) expected.push_back(static_cast<int>(i));
    }
    EXPECT_EQ(matches(trie, s), expected) << s.substr(0, 20);
  }
}

// What a caller can observe of a trie, to show that a failed call left it as it was.
struct Observed {
  std::size_t size, patterns, nodes;
  std::vector<std::vector<int>> matched;
  bool operator==(const Observed &) const = default;
};

Observed observe(const Trie &trie) {
  Observed o{trie.size(), trie.pattern_count(), trie.node_count(), {}};
  for (std::string_view s :
       {"a.b.c", "a.b.e.f.g.h", "a.x.y.a_token_longer_than_sso.z", "q", "x.y"}) {
    o.matched.push_back(matches(trie, s));
  }
  return o;
}

TEST(SubjectTrie, AllocationFailureInSubscribeChangesNothing) {
  Trie trie;
  subscribe(trie, "a.b.c", 1);
  subscribe(trie, "a.*.d", 2);
  subscribe(trie, "x.>", 3);
  int failures = 0;
  for (std::string_view pattern :
       {"a.b.c", "a.b.e.f.g.h", "a.*.*.a_token_longer_than_sso.>", "q", "x.y"}) {
    for (long allowed = 0;; ++allowed) {
      const Observed before = observe(trie);
      SubscriptionHandle handle;
      allocations_before_failure = allowed;
      try {
        trie.subscribe(pattern, 9, handle);
      } catch (const std::bad_alloc &) {
        allocations_before_failure = -1;
        ++failures;
        ASSERT_TRUE(observe(trie) == before) << pattern << " failing after " << allowed;
        continue;
      }
      allocations_before_failure = -1;
      EXPECT_EQ(trie.size(), before.size + 1);
      EXPECT_TRUE(trie.unsubscribe(handle));
      EXPECT_TRUE(observe(trie) == before) << pattern;
      break;
    }
  }
  EXPECT_GE(failures, 5) << "the injection hardly reached the trie";
}

TEST(SubjectTrie, UnsubscribeSucceedsWhenNoMemoryIsLeft) {
  Trie trie;
  std::vector<SubscriptionHandle> handles;
  for (int i = 0; i < 2000; ++i) {
    handles.push_back(subscribe(trie, numbered_subject(i), i));
  }
  allocations_before_failure = 0;  // shrinking the edge table and the pools cannot happen now
  bool all_removed = true;
  for (const auto &handle : handles)
    all_removed = trie.unsubscribe(handle) && all_removed;
  allocations_before_failure = -1;
  EXPECT_TRUE(all_removed);
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.node_count(), 1u);
  subscribe(trie, "t1.x", 1);
  EXPECT_EQ(matches(trie, "t1.x"), std::vector<int>{1});
}

// Deterministic across standard libraries, unlike std::uniform_int_distribution.
class Random {
 public:
  explicit Random(std::uint32_t seed) : engine_(seed) {}
  std::uint32_t below(std::uint32_t n) { return engine_() % n; }

 private:
  std::mt19937 engine_;
};

std::string random_subject(Random &random) {
  static const char *const alphabet[] = {"a", "b", "c", "dd"};
  std::string s;
  const std::uint32_t tokens = 1 + random.below(5);
  for (std::uint32_t i = 0; i < tokens; ++i) {
    if (i) s += '.';
    s += alphabet[random.below(4)];
  }
  return s;
}

std::string random_pattern(Random &random) {
  static const char *const alphabet[] = {"a", "b", "c", "dd"};
  std::string p;
  const std::uint32_t tokens = 1 + random.below(5);
  for (std::uint32_t i = 0; i < tokens; ++i) {
    if (i) p += '.';
    const std::uint32_t roll = random.below(10);
    if (i + 1 == tokens && roll == 0) {
      p += '>';
    } else if (roll < 3) {
      p += '*';
    } else {
      p += alphabet[random.below(4)];
    }
  }
  return p;
}

TEST(SubjectTrie, AgreesWithBruteForceOnRandomPatterns) {
  Random random(20240601);
  Trie trie;
  std::vector<std::string> patterns;
  std::vector<SubscriptionHandle> handles;
  std::vector<bool> live;
  for (int i = 0; i < 3000; ++i) {
    patterns.push_back(random_pattern(random));
    handles.push_back(subscribe(trie, patterns.back(), i));
    live.push_back(true);
  }
  std::vector<std::string> subjects;
  for (int i = 0; i < 2000; ++i)
    subjects.push_back(random_subject(random));

  std::size_t total_matches = 0;
  auto compare = [&] {
    for (const std::string &s : subjects) {
      std::vector<int> expected;
      for (std::size_t i = 0; i < patterns.size(); ++i) {
        if (live[i] && pattern_matches(patterns[i], s)) expected.push_back(static_cast<int>(i));
      }
      total_matches += expected.size();
      ASSERT_EQ(matches(trie, s), expected) << s;
      ASSERT_EQ(trie.has_match(s), !expected.empty()) << s;
    }
  };
  compare();
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (random.below(3) != 0) {
      ASSERT_TRUE(trie.unsubscribe(handles[i]));
      live[i] = false;
    }
  }
  compare();
  EXPECT_GT(total_matches, 10000u) << "the alphabet is too large for matches to happen";
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    EXPECT_EQ(trie.unsubscribe(handles[i]), static_cast<bool>(live[i]));
  }
  EXPECT_EQ(trie.node_count(), 1u);
}

// A subject the pattern matches: each wildcard stands for one token "w".
std::string concrete(std::string pattern) {
  for (char &c : pattern) {
    if (c == '*' || c == '>') c = 'w';
  }
  return pattern;
}

TEST(SubjectTrie, ChurnOf100kCyclesLeavesNothingBehind) {
  struct Live {
    SubscriptionHandle handle;
    std::string subject;
    int value;
  };
  Trie trie;
  Random random(7);
  std::deque<Live> window;
  std::size_t peak_nodes = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string pattern =
        "tenant" + std::to_string(i % 97) + "." + random_pattern(random) + "." + std::to_string(i);
    if (pattern.find('>') != std::string::npos) pattern = "tenant." + std::to_string(i) + ".>";
    window.push_back(Live{subscribe(trie, pattern, i), concrete(pattern), i});
    if (window.size() > 500) {
      ASSERT_TRUE(trie.unsubscribe(window.front().handle));
      window.pop_front();
      // The oldest survivor has seen 500 removals and prunes around it and is still reachable.
      const std::vector<int> found = matches(trie, window.front().subject);
      ASSERT_TRUE(std::binary_search(found.begin(), found.end(), window.front().value)) << i;
    }
    peak_nodes = std::max(peak_nodes, trie.node_count());
  }
  // Each live pattern holds at most 8 nodes of its own; dead ones must not pile up.
  EXPECT_LE(peak_nodes, 1 + 97 + 501 * 8);
  while (!window.empty()) {
    ASSERT_TRUE(trie.unsubscribe(window.front().handle));
    window.pop_front();
  }
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.pattern_count(), 0u);
  EXPECT_EQ(trie.node_count(), 1u);
}

}  // namespace
}  // namespace flume
