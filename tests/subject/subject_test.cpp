#include "subject/subject.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace flume {

// Lets GoogleTest print "empty_token" instead of a byte dump when a case fails.
void PrintTo(SubjectError error, std::ostream *os) {
  static const char *const names[] = {"ok",
                                      "empty",
                                      "too_long",
                                      "empty_token",
                                      "invalid_byte",
                                      "wildcard_in_subject",
                                      "wildcard_inside_token",
                                      "full_wildcard_not_last"};
  *os << names[static_cast<int>(error)];
}

namespace {

using namespace std::string_view_literals;
using E = SubjectError;

struct Case {
  std::string_view text;
  SubjectError as_subject;
  SubjectError as_pattern;
};

const std::string kLongest(255, 'a');
const std::string kTooLong(256, 'a');
// 128 one-byte tokens: the most a 255-byte pattern can hold.
const std::string kMostTokens = [] {
  std::string s = "a";
  for (int i = 1; i < 128; ++i)
    s += ".a";
  return s;
}();

const std::vector<Case> &structure_cases() {
  static const std::vector<Case> cases = {
      {"a", E::ok, E::ok},
      {"orders.eu.created", E::ok, E::ok},
      {"A-Z_0-9:~!@#$%^&()", E::ok, E::ok},
      {kLongest, E::ok, E::ok},
      {kMostTokens, E::ok, E::ok},
      {"", E::empty, E::empty},
      {kTooLong, E::too_long, E::too_long},
      {std::string_view(kTooLong.data(), 256), E::too_long, E::too_long},
      {".", E::empty_token, E::empty_token},
      {".a", E::empty_token, E::empty_token},
      {"a.", E::empty_token, E::empty_token},
      {"a..b", E::empty_token, E::empty_token},
      {"a b", E::invalid_byte, E::invalid_byte},
      {" ", E::invalid_byte, E::invalid_byte},
      {"a\tb", E::invalid_byte, E::invalid_byte},
      {"a\nb", E::invalid_byte, E::invalid_byte},
      {"a\0b"sv, E::invalid_byte, E::invalid_byte},
      {"\x01", E::invalid_byte, E::invalid_byte},
      {"\x1f", E::invalid_byte, E::invalid_byte},
      {"a\x7f", E::invalid_byte, E::invalid_byte},
  };
  return cases;
}

const std::vector<Case> &wildcard_cases() {
  static const std::vector<Case> cases = {
      {"*", E::wildcard_in_subject, E::ok},
      {">", E::wildcard_in_subject, E::ok},
      {"a.*", E::wildcard_in_subject, E::ok},
      {"*.b", E::wildcard_in_subject, E::ok},
      {"a.*.c", E::wildcard_in_subject, E::ok},
      {"*.*.*", E::wildcard_in_subject, E::ok},
      {"a.>", E::wildcard_in_subject, E::ok},
      {"*.>", E::wildcard_in_subject, E::ok},
      {"a*", E::wildcard_in_subject, E::wildcard_inside_token},
      {"*a", E::wildcard_in_subject, E::wildcard_inside_token},
      {"a.b>", E::wildcard_in_subject, E::wildcard_inside_token},
      {"**", E::wildcard_in_subject, E::wildcard_inside_token},
      {">>", E::wildcard_in_subject, E::wildcard_inside_token},
      {"*>", E::wildcard_in_subject, E::wildcard_inside_token},
      {">.a", E::wildcard_in_subject, E::full_wildcard_not_last},
      {"a.>.b", E::wildcard_in_subject, E::full_wildcard_not_last},
      {">.>", E::wildcard_in_subject, E::full_wildcard_not_last},
      {">.*", E::wildcard_in_subject, E::full_wildcard_not_last},
      // An empty token is reported before the misplaced '>' it follows.
      {"a.>.", E::wildcard_in_subject, E::empty_token},
      {"a..*", E::empty_token, E::empty_token},
  };
  return cases;
}

const std::vector<Case> &utf8_cases() {
  static const std::vector<Case> cases = {
      {"caf\xc3\xa9", E::ok, E::ok},                           // U+00E9, two bytes
      {"\xc2\x80", E::ok, E::ok},                              // U+0080, smallest two-byte
      {"\xe2\x82\xac.eur", E::ok, E::ok},                      // U+20AC, three bytes
      {"\xe0\xa0\x80", E::ok, E::ok},                          // U+0800, smallest three-byte
      {"\xed\x9f\xbf", E::ok, E::ok},                          // U+D7FF, just below the surrogates
      {"\xee\x80\x80", E::ok, E::ok},                          // U+E000, just above them
      {"\xf0\x9f\x98\x80", E::ok, E::ok},                      // U+1F600, four bytes
      {"\xf4\x8f\xbf\xbf", E::ok, E::ok},                      // U+10FFFF, the last scalar value
      {"\xc0\xaf", E::invalid_byte, E::invalid_byte},          // overlong '/'
      {"\xc1\xbf", E::invalid_byte, E::invalid_byte},          // overlong U+007F
      {"\xc0\xae", E::invalid_byte, E::invalid_byte},          // overlong '.' must not split tokens
      {"\xe0\x80\xaf", E::invalid_byte, E::invalid_byte},      // overlong three-byte
      {"\xe0\x9f\xbf", E::invalid_byte, E::invalid_byte},      // overlong U+07FF
      {"\xf0\x80\x80\xaf", E::invalid_byte, E::invalid_byte},  // overlong four-byte
      {"\xf0\x8f\xbf\xbf", E::invalid_byte, E::invalid_byte},  // overlong U+FFFF
      {"\xed\xa0\x80", E::invalid_byte, E::invalid_byte},      // U+D800, high surrogate
      {"\xed\xbf\xbf", E::invalid_byte, E::invalid_byte},      // U+DFFF, low surrogate
      {"\xf4\x90\x80\x80", E::invalid_byte, E::invalid_byte},  // U+110000
      {"\xf5\x80\x80\x80", E::invalid_byte, E::invalid_byte},  // lead byte past U+10FFFF
      {"\xf8\x88\x80\x80\x80", E::invalid_byte, E::invalid_byte},  // old five-byte form
      {"\xff", E::invalid_byte, E::invalid_byte},
      {"\xfe", E::invalid_byte, E::invalid_byte},
      {"\x80", E::invalid_byte, E::invalid_byte},          // lone continuation byte
      {"a\xbf", E::invalid_byte, E::invalid_byte},         // continuation without a lead
      {"\xc3", E::invalid_byte, E::invalid_byte},          // truncated at the end
      {"\xe2\x82", E::invalid_byte, E::invalid_byte},      // truncated at the end
      {"\xf0\x9f\x98", E::invalid_byte, E::invalid_byte},  // truncated at the end
      {"\xe2\x82.a", E::invalid_byte, E::invalid_byte},    // truncated by a '.'
      {"\xc3 ", E::invalid_byte, E::invalid_byte},         // truncated by a space
      {"\xe2\x82\x41", E::invalid_byte, E::invalid_byte},  // ASCII where a continuation goes
      {"\xf0\x9f\x98\xc3\xa9", E::invalid_byte, E::invalid_byte},  // lead where one goes
  };
  return cases;
}

void expect_cases(const std::vector<Case> &cases) {
  for (const Case &c : cases) {
    SCOPED_TRACE(::testing::Message() << "text = \"" << std::string(c.text) << "\"");
    EXPECT_EQ(validate_subject(c.text), c.as_subject);
    EXPECT_EQ(validate_pattern(c.text), c.as_pattern);
  }
}

TEST(Subject, StructureErrorsAreReportedExactly) {
  expect_cases(structure_cases());
}

TEST(Subject, WildcardsAreWholeTokensAndOnlyInPatterns) {
  expect_cases(wildcard_cases());
}

TEST(Subject, OnlyShortestFormUtf8OfScalarValuesIsAccepted) {
  expect_cases(utf8_cases());
}

TEST(Subject, TablesCoverEveryError) {
  std::set<SubjectError> seen;
  for (const auto *cases : {&structure_cases(), &wildcard_cases(), &utf8_cases()}) {
    for (const Case &c : *cases) {
      seen.insert(c.as_subject);
      seen.insert(c.as_pattern);
    }
  }
  for (int e = 0; e <= static_cast<int>(E::full_wildcard_not_last); ++e) {
    EXPECT_TRUE(seen.count(static_cast<SubjectError>(e))) << "no case for error " << e;
  }
}

TEST(Subject, ValidSubjectIsAlsoValidPattern) {
  for (const auto *cases : {&structure_cases(), &wildcard_cases(), &utf8_cases()}) {
    for (const Case &c : *cases) {
      if (c.as_subject == E::ok) {
        EXPECT_EQ(c.as_pattern, E::ok) << std::string(c.text);
      }
    }
  }
}

TEST(Subject, EachErrorHasItsOwnDescription) {
  std::set<std::string> descriptions;
  const int count = static_cast<int>(E::full_wildcard_not_last) + 1;
  for (int e = 0; e < count; ++e) {
    const char *text = describe(static_cast<SubjectError>(e));
    ASSERT_NE(text, nullptr);
    EXPECT_GT(std::string(text).size(), 4u);
    descriptions.insert(text);
  }
  EXPECT_EQ(descriptions.size(), static_cast<std::size_t>(count));
}

struct MatchCase {
  std::string_view pattern;
  std::string_view subject;
  bool matches;
};

TEST(Subject, PatternMatchesFollowsTokenRules) {
  const MatchCase cases[] = {
      {"a", "a", true},
      {"a", "b", false},
      {"a", "a.b", false},
      {"a.b", "a", false},
      {"a.b.c", "a.b.c", true},
      {"a.b.c", "a.b.d", false},
      {"ab", "a.b", false},
      {"a.b", "ab", false},
      {"*", "a", true},
      {"*", "a.b", false},
      {"*.b", "a.b", true},
      {"*.b", "a.c", false},
      {"a.*", "a", false},
      {"a.*.c", "a.x.c", true},
      {"a.*.c", "a.x.y.c", false},
      {"*.*", "a.b", true},
      {"*.*", "a.b.c", false},
      {">", "a", true},
      {">", "a.b.c", true},
      {"a.>", "a", false},
      {"a.>", "a.b", true},
      {"a.>", "a.b.c.d", true},
      {"a.>", "b.c", false},
      {"*.>", "a", false},
      {"*.>", "a.b", true},
      {"a.*.>", "a.b", false},
      {"a.*.>", "a.b.c", true},
      {"caf\xc3\xa9.*", "caf\xc3\xa9.x", true},
      {"caf\xc3\xa9", "cafe", false},
  };
  for (const MatchCase &c : cases) {
    EXPECT_EQ(pattern_matches(c.pattern, c.subject), c.matches)
        << std::string(c.pattern) << " vs " << std::string(c.subject);
  }
}

TEST(Subject, EverySubjectMatchesItself) {
  for (std::string_view s : {"a"sv, "a.b"sv, "orders.eu.created"sv, "\xf0\x9f\x98\x80.x"sv}) {
    EXPECT_TRUE(pattern_matches(s, s)) << std::string(s);
  }
  EXPECT_TRUE(pattern_matches(kMostTokens, kMostTokens));
}

TEST(Subject, TokenCursorSplitsOnEveryDot) {
  TokenCursor cursor("a..bc.");
  std::vector<std::string> tokens;
  std::string_view token;
  while (cursor.next(token))
    tokens.emplace_back(token);
  EXPECT_EQ(tokens, (std::vector<std::string>{"a", "", "bc", ""}));
}

}  // namespace
}  // namespace flume
