// Which patterns make others redundant, so a node advertises the fewest patterns that select the
// same subjects (docs/overlay.md, "Interest"). Patterns as in docs/protocol.md section 10: `*`
// is one token, `>` one or more trailing tokens. Pure functions on valid patterns.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flume::overlay {

// True when every subject `b` matches is matched by `a` as well (`orders.>` covers `orders.eu`,
// `orders.eu.*` and `orders.*.>`; `orders.*` covers `orders.eu` but not `orders.>`). Every
// pattern covers itself.
bool covers(std::string_view a, std::string_view b);

// The patterns of `patterns` no other one covers, each once, sorted: the same subjects match.
// The comparison is quadratic, so past `max_compared` patterns only exact repeats are removed
// (still correct, just not minimal).
std::vector<std::string> minimal_patterns(std::vector<std::string> patterns,
                                          std::size_t max_compared = 2048);

}  // namespace flume::overlay
