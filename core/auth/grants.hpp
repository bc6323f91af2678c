// What an access token lets its holder touch: allow and deny patterns for publishing and for
// subscribing (docs/protocol.md section 18.3). Deny always wins over allow, and nothing is
// allowed unless an allow pattern says so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flume::auth {

struct Grants {
  std::vector<std::string> allow_publish;
  std::vector<std::string> deny_publish;
  std::vector<std::string> allow_subscribe;
  std::vector<std::string> deny_subscribe;
};

enum class GrantDecision {
  allowed,
  not_granted,  // no allow pattern covers it
  denied,       // a deny pattern matches (publish) or overlaps (subscribe) it
};
const char *describe(GrantDecision decision) noexcept;

// Every argument below is a valid pattern (validate_pattern) or subject (validate_subject).

// Whether every subject `inner` matches is also matched by `outer` ("a.>" covers "a.*.c").
bool covers(std::string_view outer, std::string_view inner) noexcept;
// Whether some subject is matched by both patterns ("a.*" and "*.b" share "a.b").
bool overlaps(std::string_view a, std::string_view b) noexcept;

// A publish to `subject`: denied if a deny pattern matches it, allowed if an allow pattern does.
GrantDecision may_publish(const Grants &grants, std::string_view subject) noexcept;
// A subscription to `pattern`: denied if a deny pattern overlaps it (it could deliver a denied
// subject), allowed if one allow pattern covers it. Allows are not combined: "a.>" is refused by
// allows "a.b" and "a.*.>" together, though they cover it between them; grant "a.>" instead.
GrantDecision may_subscribe(const Grants &grants, std::string_view pattern) noexcept;

}  // namespace flume::auth
