// Feeds arbitrary bytes to the subject validator and the router and traps on any broken invariant.
//
// The input is read whole as a subject and a pattern, and, split at its first '\n', as a pattern
// and a subject to route, so the fuzzer can steer both sides of a match.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "router/subject_trie.hpp"
#include "subject/subject.hpp"

namespace {

using flume::SubjectError;
using flume::SubjectTrie;
using flume::SubscriptionHandle;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

std::size_t count_matches(const SubjectTrie<std::uint32_t> &trie, std::string_view subject) {
  std::size_t count = 0;
  trie.match(subject, [&](std::uint32_t) { ++count; });
  check(trie.has_match(subject) == (count != 0));
  return count;
}

// Patterns derived from a valid subject, each of which must match it: the subject itself, a token
// replaced by '*', and a proper prefix followed by '>'. At most about eight of each, so that long
// subjects do not cost quadratic time per input.
std::vector<std::string> patterns_matching(std::string_view subject) {
  std::vector<std::string_view> tokens;
  flume::TokenCursor cursor(subject);
  std::string_view token;
  while (cursor.next(token))
    tokens.push_back(token);

  const std::size_t stride = tokens.size() / 8 + 1;
  std::vector<std::string> patterns{std::string(subject)};
  for (std::size_t star = 0; star < tokens.size(); star += stride) {
    std::string p;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i) p += '.';
      p += i == star ? std::string_view("*") : tokens[i];
    }
    patterns.push_back(p);
  }
  std::string prefix;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i % stride == 0) patterns.push_back(prefix + ">");
    prefix += tokens[i];
    prefix += '.';
  }
  return patterns;
}

void check_subject(std::string_view text) {
  const SubjectError as_subject = flume::validate_subject(text);
  const SubjectError as_pattern = flume::validate_pattern(text);
  check(flume::describe(as_subject) != nullptr);
  if (as_subject != SubjectError::ok) return;
  check(as_pattern == SubjectError::ok);
  check(flume::pattern_matches(text, text));

  SubjectTrie<std::uint32_t> trie;
  std::vector<SubscriptionHandle> handles;
  for (const std::string &pattern : patterns_matching(text)) {
    SubscriptionHandle handle;
    check(trie.subscribe(pattern, static_cast<std::uint32_t>(handles.size()), handle) ==
          SubjectError::ok);
    check(flume::pattern_matches(pattern, text));
    handles.push_back(handle);
  }
  check(count_matches(trie, text) == handles.size());
  for (const SubscriptionHandle &handle : handles)
    check(trie.unsubscribe(handle));
  check(trie.size() == 0 && trie.pattern_count() == 0 && trie.node_count() == 1);
  check(!trie.has_match(text));
}

void check_route(std::string_view pattern, std::string_view subject) {
  SubjectTrie<std::uint32_t> trie;
  SubscriptionHandle handle;
  const SubjectError error = trie.subscribe(pattern, 1, handle);
  check(error == flume::validate_pattern(pattern));
  if (error != SubjectError::ok) {
    check(trie.size() == 0 && trie.node_count() == 1 && count_matches(trie, subject) == 0);
    return;
  }
  // The trie follows pattern_matches's token rules for any subject bytes, valid or not.
  check(count_matches(trie, subject) == (flume::pattern_matches(pattern, subject) ? 1u : 0u));
  check(trie.unsubscribe(handle) && !trie.unsubscribe(handle));
  check(trie.pattern_count() == 0 && trie.node_count() == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  check_subject(input);
  const std::size_t newline = input.find('\n');
  if (newline != std::string_view::npos) {
    check_route(input.substr(0, newline), input.substr(newline + 1));
  } else {
    check_route(input, input);
  }
  return 0;
}
