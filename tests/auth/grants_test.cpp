// covers() and overlaps() checked against their definitions over every pattern of up to three
// tokens from {a, b, *, >} and every subject of up to four tokens from {a, b, c}: 'c' stands for
// any token the patterns do not name, and four tokens are enough to outrun any three-token
// pattern, so agreement here is agreement everywhere for these shapes.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "auth/grants.hpp"
#include "subject/subject.hpp"

namespace flume::auth {
namespace {

std::vector<std::string> all_strings(const std::vector<std::string> &tokens, std::size_t max) {
  std::vector<std::string> out;
  std::vector<std::string> layer = {""};
  for (std::size_t length = 1; length <= max; ++length) {
    std::vector<std::string> next;
    for (const std::string &prefix : layer) {
      for (const std::string &token : tokens)
        next.push_back(prefix.empty() ? token : prefix + "." + token);
    }
    out.insert(out.end(), next.begin(), next.end());
    layer = std::move(next);
  }
  return out;
}

std::vector<std::string> all_patterns() {
  std::vector<std::string> out;
  for (const std::string &p : all_strings({"a", "b", "*", ">"}, 3)) {
    if (validate_pattern(p) == SubjectError::ok) out.push_back(p);
  }
  return out;
}

const std::vector<std::string> &all_subjects() {
  static const std::vector<std::string> subjects = all_strings({"a", "b", "c"}, 4);
  return subjects;
}

TEST(Grants, CoversAgreesWithItsDefinitionOnEveryPair) {
  const auto patterns = all_patterns();
  ASSERT_EQ(patterns.size(), 4u + 3 * 4 + 3 * 3 * 4);  // '>' only last
  for (const std::string &outer : patterns) {
    for (const std::string &inner : patterns) {
      bool expected = true;
      for (const std::string &subject : all_subjects()) {
        if (pattern_matches(inner, subject) && !pattern_matches(outer, subject)) {
          expected = false;
          break;
        }
      }
      EXPECT_EQ(covers(outer, inner), expected) << outer << " covers " << inner;
    }
  }
}

TEST(Grants, OverlapsAgreesWithItsDefinitionOnEveryPair) {
  const auto patterns = all_patterns();
  for (const std::string &a : patterns) {
    for (const std::string &b : patterns) {
      bool expected = false;
      for (const std::string &subject : all_subjects()) {
        if (pattern_matches(a, subject) && pattern_matches(b, subject)) {
          expected = true;
          break;
        }
      }
      EXPECT_EQ(overlaps(a, b), expected) << a << " overlaps " << b;
      EXPECT_EQ(overlaps(a, b), overlaps(b, a)) << a << " / " << b;
    }
  }
}

TEST(Grants, NamedCasesOfCovers) {
  EXPECT_TRUE(covers("a.b", "a.b"));
  EXPECT_FALSE(covers("a.b", "a.*"));
  EXPECT_TRUE(covers("a.*", "a.b"));
  EXPECT_TRUE(covers("a.*", "a.*"));
  EXPECT_FALSE(covers("a.*", "a.>"));
  EXPECT_TRUE(covers("a.>", "a.*.c"));
  EXPECT_TRUE(covers("a.>", "a.>"));
  EXPECT_FALSE(covers("a.>", "a"));
  EXPECT_TRUE(covers(">", "x"));
  EXPECT_FALSE(covers("*.>", ">"));
  EXPECT_TRUE(covers("*.>", "a.>"));
}

TEST(Grants, NamedCasesOfOverlaps) {
  EXPECT_TRUE(overlaps("a.*", "*.b"));
  EXPECT_FALSE(overlaps("a.b", "a.c"));
  EXPECT_FALSE(overlaps("a.*", "a"));
  EXPECT_TRUE(overlaps("a.>", "*.*.c"));
  EXPECT_FALSE(overlaps("a.>", "a"));
  EXPECT_TRUE(overlaps(">", "x.y.z"));
}

Grants grants_of(std::vector<std::string> allow_pub, std::vector<std::string> deny_pub,
                 std::vector<std::string> allow_sub, std::vector<std::string> deny_sub) {
  return Grants{std::move(allow_pub), std::move(deny_pub), std::move(allow_sub),
                std::move(deny_sub)};
}

TEST(Grants, NothingIsAllowedWithoutAnAllowPattern) {
  const Grants none;
  EXPECT_EQ(may_publish(none, "a"), GrantDecision::not_granted);
  EXPECT_EQ(may_subscribe(none, "a"), GrantDecision::not_granted);
  // Publish grants do not grant subscribing, and the other way round.
  const Grants pub_only = grants_of({">"}, {}, {}, {});
  EXPECT_EQ(may_publish(pub_only, "a"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(pub_only, "a"), GrantDecision::not_granted);
}

TEST(Grants, PublishByLiteralStarAndTail) {
  const Grants g = grants_of({"orders.eu", "metrics.*", "logs.>"}, {}, {}, {});
  EXPECT_EQ(may_publish(g, "orders.eu"), GrantDecision::allowed);
  EXPECT_EQ(may_publish(g, "orders.us"), GrantDecision::not_granted);
  EXPECT_EQ(may_publish(g, "metrics.cpu"), GrantDecision::allowed);
  EXPECT_EQ(may_publish(g, "metrics.cpu.0"), GrantDecision::not_granted);
  EXPECT_EQ(may_publish(g, "logs.a.b.c"), GrantDecision::allowed);
  EXPECT_EQ(may_publish(g, "logs"), GrantDecision::not_granted);
}

TEST(Grants, PublishDenyWinsOverAllow) {
  // Each kind of deny pattern against each kind of allow pattern it overlaps.
  for (const char *allow : {"orders.eu.secret", "orders.*.secret", "orders.>", ">"}) {
    for (const char *deny : {"orders.eu.secret", "orders.*.secret", "*.eu.>", ">"}) {
      const Grants g = grants_of({allow}, {deny}, {}, {});
      EXPECT_EQ(may_publish(g, "orders.eu.secret"), GrantDecision::denied)
          << allow << " / " << deny;
    }
  }
  const Grants g = grants_of({"orders.>"}, {"orders.*.secret"}, {}, {});
  EXPECT_EQ(may_publish(g, "orders.eu.public"), GrantDecision::allowed);
  // A deny with no allow is still reported as a denial, the more specific reason.
  EXPECT_EQ(may_publish(grants_of({}, {"x"}, {}, {}), "x"), GrantDecision::denied);
}

TEST(Grants, SubscribeNeedsOneAllowThatCoversThePattern) {
  const Grants g = grants_of({}, {}, {"orders.eu", "metrics.*", "logs.>"}, {});
  EXPECT_EQ(may_subscribe(g, "orders.eu"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, "orders.*"), GrantDecision::not_granted);
  EXPECT_EQ(may_subscribe(g, "metrics.cpu"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, "metrics.*"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, "metrics.>"), GrantDecision::not_granted);
  EXPECT_EQ(may_subscribe(g, "logs.*.error"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, "logs.>"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, ">"), GrantDecision::not_granted);
  // Allows are not combined: together these cover a.>, one by one they do not.
  const Grants split = grants_of({}, {}, {"a.*", "a.*.>"}, {});
  EXPECT_EQ(may_subscribe(split, "a.>"), GrantDecision::not_granted);
}

TEST(Grants, SubscribeDeniedWhenAnyDenyCouldMatchTheSameSubject) {
  const Grants g = grants_of({}, {}, {">"}, {"orders.*.secret"});
  EXPECT_EQ(may_subscribe(g, "orders.eu.secret"), GrantDecision::denied);  // literal
  EXPECT_EQ(may_subscribe(g, "orders.eu.*"), GrantDecision::denied);       // '*' reaches it
  EXPECT_EQ(may_subscribe(g, "orders.>"), GrantDecision::denied);          // '>' reaches it
  EXPECT_EQ(may_subscribe(g, ">"), GrantDecision::denied);
  EXPECT_EQ(may_subscribe(g, "orders.eu.public"), GrantDecision::allowed);
  EXPECT_EQ(may_subscribe(g, "orders.*"), GrantDecision::allowed);  // two tokens only
  EXPECT_EQ(may_subscribe(g, "orders.eu.secret.x"), GrantDecision::allowed);
}

}  // namespace
}  // namespace flume::auth
