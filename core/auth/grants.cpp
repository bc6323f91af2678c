#include "auth/grants.hpp"

#include "subject/subject.hpp"

namespace flume::auth {

const char *describe(GrantDecision decision) noexcept {
  switch (decision) {
    case GrantDecision::allowed:
      return "allowed";
    case GrantDecision::not_granted:
      return "not granted: no allow pattern of the token covers it";
    case GrantDecision::denied:
      return "denied by a deny pattern of the token";
  }
  return "unknown grant decision";
}

bool covers(std::string_view outer, std::string_view inner) noexcept {
  TokenCursor outer_tokens(outer);
  TokenCursor inner_tokens(inner);
  std::string_view o;
  std::string_view i;
  // Bounded by the tokens of `outer`: each turn consumes one.
  while (outer_tokens.next(o)) {
    const bool inner_has = inner_tokens.next(i);
    // '>' takes one or more tokens: whatever inner has from here (at least one) is covered.
    if (o == ">") return inner_has;
    if (!inner_has) return false;  // outer needs more tokens than inner gives
    if (i == ">") return false;    // inner goes on to any depth, outer stops
    if (o == "*") continue;        // one token, literal or '*'
    if (i != o) return false;      // a literal covers only itself
  }
  return !inner_tokens.next(i);  // inner longer than outer: not covered
}

bool overlaps(std::string_view a, std::string_view b) noexcept {
  TokenCursor a_tokens(a);
  TokenCursor b_tokens(b);
  std::string_view x;
  std::string_view y;
  for (;;) {  // bounded: each turn consumes a token of both
    const bool a_has = a_tokens.next(x);
    const bool b_has = b_tokens.next(y);
    if (!a_has || !b_has) return a_has == b_has;  // same length so far and both done
    // '>' matches one or more tokens, and the other pattern has at least one here.
    if (x == ">" || y == ">") return true;
    if (x == "*" || y == "*") continue;
    if (x != y) return false;
  }
}

GrantDecision may_publish(const Grants &grants, std::string_view subject) noexcept {
  for (const std::string &deny : grants.deny_publish) {
    if (pattern_matches(deny, subject)) return GrantDecision::denied;
  }
  for (const std::string &allow : grants.allow_publish) {
    if (pattern_matches(allow, subject)) return GrantDecision::allowed;
  }
  return GrantDecision::not_granted;
}

GrantDecision may_subscribe(const Grants &grants, std::string_view pattern) noexcept {
  for (const std::string &deny : grants.deny_subscribe) {
    if (overlaps(deny, pattern)) return GrantDecision::denied;
  }
  for (const std::string &allow : grants.allow_subscribe) {
    if (covers(allow, pattern)) return GrantDecision::allowed;
  }
  return GrantDecision::not_granted;
}

}  // namespace flume::auth
