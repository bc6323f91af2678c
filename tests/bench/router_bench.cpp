// How fast the router answers "who gets this message" for a five-token subject.
//
// Names end in /1k, /100k and /1M (subscriptions), so `--benchmark_filter=-/1M` skips the large
// trie; each trie is built on first use and never timed.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "router/subject_trie.hpp"

namespace {

using flume::SubjectTrie;
using flume::SubscriptionHandle;

// Subjects look like region.service.entity.id.event; the id level is the wide one.
constexpr std::uint32_t kLevelWidth[5] = {8, 32, 64, 4096, 8};
constexpr const char *kLevelPrefix[5] = {"region", "svc", "entity", "id", "ev"};
constexpr std::size_t kSubscriptionsPerPattern = 10;
constexpr std::size_t kSubjects = 4096;  // a power of two, cycled through by the timed loop

struct Workload {
  SubjectTrie<std::uint32_t> trie;
  std::vector<std::string> subjects;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : random_(seed) {}

  std::string token(int level) {
    std::string t = kLevelPrefix[level];
    t += std::to_string(random_() % kLevelWidth[level]);
    return t;
  }

  std::string subject() {
    std::string s = token(0);
    for (int level = 1; level < 5; ++level) {
      s += '.';
      s += token(level);
    }
    return s;
  }

  // Mostly literal subscriptions, some with one `*`, a few `prefix.>` (prefixes of three or four
  // tokens: a shorter one would catch nearly every subject).
  std::string pattern() {
    const std::uint32_t roll = random_() % 100;
    if (roll < 2) {
      const int prefix = 3 + static_cast<int>(random_() % 2);
      std::string p = token(0);
      for (int level = 1; level < prefix; ++level) {
        p += '.';
        p += token(level);
      }
      p += ".>";
      return p;
    }
    const int star = roll < 10 ? static_cast<int>(random_() % 5) : -1;
    std::string p;
    for (int level = 0; level < 5; ++level) {
      if (level) p += '.';
      p += level == star ? std::string("*") : token(level);
    }
    return p;
  }

  std::uint32_t below(std::uint32_t n) { return random_() % n; }

 private:
  std::mt19937 random_;
};

std::unique_ptr<Workload> build(std::size_t subscriptions) {
  Generator generate(42);
  const std::size_t pattern_target = subscriptions / kSubscriptionsPerPattern;
  std::unordered_set<std::string> unique;
  std::vector<std::string> patterns;
  while (patterns.size() < pattern_target) {
    std::string p = generate.pattern();
    if (unique.insert(p).second) patterns.push_back(std::move(p));
  }

  auto workload = std::make_unique<Workload>();
  SubscriptionHandle handle;
  for (std::size_t i = 0; i < subscriptions; ++i) {
    workload->trie.subscribe(patterns[i % patterns.size()], static_cast<std::uint32_t>(i), handle);
  }
  // Half the traffic goes to subjects somebody subscribed to literally, half anywhere.
  while (workload->subjects.size() < kSubjects) {
    const std::string &p = patterns[generate.below(static_cast<std::uint32_t>(patterns.size()))];
    const bool literal = p.find_first_of("*>") == std::string::npos;
    workload->subjects.push_back(literal && generate.below(2) ? p : generate.subject());
  }
  return workload;
}

const Workload &workload(std::size_t subscriptions) {
  static std::map<std::size_t, std::unique_ptr<Workload>> built;
  std::unique_ptr<Workload> &slot = built[subscriptions];
  if (!slot) slot = build(subscriptions);
  return *slot;
}

void RouterMatch(benchmark::State &state, std::size_t subscriptions) {
  const Workload &w = workload(subscriptions);
  std::size_t next = 0, visits = 0;
  for (auto _ : state) {
    const std::string &subject = w.subjects[next++ % kSubjects];
    w.trie.match(subject, [&](std::uint32_t value) { visits += value != UINT32_MAX; });
  }
  benchmark::DoNotOptimize(visits);
  state.SetItemsProcessed(state.iterations());
  state.counters["visits/match"] =
      static_cast<double>(visits) / static_cast<double>(state.iterations());
  state.counters["patterns"] = static_cast<double>(w.trie.pattern_count());
}

void RouterHasMatch(benchmark::State &state, std::size_t subscriptions) {
  const Workload &w = workload(subscriptions);
  std::size_t next = 0, hits = 0;
  for (auto _ : state)
    hits += w.trie.has_match(w.subjects[next++ % kSubjects]);
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(state.iterations());
  state.counters["hit rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(RouterMatch, 1k, 1'000);
BENCHMARK_CAPTURE(RouterMatch, 100k, 100'000);
BENCHMARK_CAPTURE(RouterMatch, 1M, 1'000'000);
BENCHMARK_CAPTURE(RouterHasMatch, 1k, 1'000);
BENCHMARK_CAPTURE(RouterHasMatch, 100k, 100'000);
BENCHMARK_CAPTURE(RouterHasMatch, 1M, 1'000'000);

}  // namespace
