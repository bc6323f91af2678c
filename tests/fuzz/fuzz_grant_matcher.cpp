// Feeds arbitrary bytes to covers(), overlaps() and the grant decisions, and traps when they
// disagree with each other or with pattern_matches().
//
// The input, split at '\n', is two patterns A and B and a subject S; subjects derived from B
// (each '*' made "x", a '>' made "x.y") give matches the fuzzer need not guess.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/grants.hpp"
#include "subject/subject.hpp"

namespace {

using namespace flume;
using namespace flume::auth;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

std::string_view next_line(std::string_view &rest) {
  const std::size_t end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

std::string subject_inside(std::string_view pattern, std::string_view star, std::string_view tail) {
  std::string out;
  TokenCursor cursor(pattern);
  std::string_view token;
  while (cursor.next(token)) {
    if (!out.empty()) out += '.';
    out += token == "*" ? star : token == ">" ? tail : token;
  }
  return out;
}

void check_subject(std::string_view a, std::string_view b, std::string_view subject) {
  if (validate_subject(subject) != SubjectError::ok) return;
  const bool in_a = pattern_matches(a, subject);
  const bool in_b = pattern_matches(b, subject);
  if (in_b && covers(a, b)) check(in_a);
  if (in_a && in_b) check(overlaps(a, b));
  const Grants grants{{std::string(a)}, {std::string(b)}, {}, {}};
  const GrantDecision publish = may_publish(grants, subject);
  check(publish == (in_b   ? GrantDecision::denied
                    : in_a ? GrantDecision::allowed
                           : GrantDecision::not_granted));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char *>(data), size);
  const std::string_view a = next_line(rest);
  const std::string_view b = next_line(rest);
  const std::string_view subject = next_line(rest);
  if (validate_pattern(a) != SubjectError::ok || validate_pattern(b) != SubjectError::ok) return 0;

  check(covers(a, a) && overlaps(a, a));
  check(overlaps(a, b) == overlaps(b, a));
  if (covers(a, b)) check(overlaps(a, b));
  if (covers(a, b) && covers(b, a)) check(a == b);  // distinct patterns match distinct sets
  // A narrower pattern inside B ('>' made "*.>"): B covers it, so whatever covers B does too.
  if (const std::string narrower = subject_inside(b, "*", "*.>");
      validate_pattern(narrower) == SubjectError::ok) {
    check(covers(b, narrower));
    if (covers(a, b)) check(covers(a, narrower));
  }

  const Grants grants{{}, {}, {std::string(a)}, {std::string(b)}};
  const GrantDecision subscribe = may_subscribe(grants, a);
  check(subscribe == (overlaps(a, b) ? GrantDecision::denied : GrantDecision::allowed));

  check_subject(a, b, subject);
  check_subject(a, b, subject_inside(b, "x", "x.y"));
  check_subject(a, b, subject_inside(b, "y", "y"));
  check_subject(a, b, subject_inside(a, "x", "x"));
  return 0;
}
