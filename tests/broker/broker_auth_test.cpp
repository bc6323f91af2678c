// Access tokens in the broker engine (docs/protocol.md section 19): HELLO refused per reason,
// grants on SUBSCRIBE and PUBLISH, expiry as a timer, renewal with AUTH, tenants. Real tokens,
// signed with a real Ed25519 key; time moved through BrokerConfig::unix_time_ms.
#include <gtest/gtest.h>

#include "auth/token_signing.hpp"
#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;  // Unix seconds
constexpr std::uint64_t kSecondNs = 1'000'000'000;

struct Keys {
  auth::SigningKey signing;
  auth::SigningKey other;
  static Keys make() {
    std::string error;
    auto a = auth::SigningKey::generate(error);
    auto b = auth::SigningKey::generate(error);
    return {*a, *b};
  }
  auth::VerifyingKey verifying() const {
    std::string error;
    return *auth::VerifyingKey::from_raw(signing.public_key(), error);
  }
};

std::string issue(const auth::SigningKey &key, std::string tenant, auth::Grants grants,
                  std::uint64_t not_before = kNow - 10, std::uint64_t expires = kNow + 3600) {
  auth::AccessToken claims;
  claims.tenant = std::move(tenant);
  claims.subject = "user.test";
  claims.grants = std::move(grants);
  claims.not_before = not_before;
  claims.expires = expires;
  std::string error;
  auto text = auth::issue_token(key, claims, error);
  EXPECT_TRUE(text) << error;
  return text.value_or("");
}

std::vector<std::uint8_t> auth_frame(std::string_view token, std::uint32_t request_id) {
  Props p;
  p.u32(PropertyId::request_id, request_id);
  p.str(PropertyId::token, token);
  return frame(FrameType::auth, {}, p.bytes());
}

class BrokerAuth : public ::testing::Test {
 protected:
  BrokerAuth() : keys(Keys::make()) {
    config.auth_keys.push_back(keys.verifying());
    config.unix_time_ms = [this] { return now_ms; };
    broker = std::make_unique<Broker>(config);
  }
  // HELLO version 2 with `token`; true when answered with OK.
  bool connect(Client &client, std::string_view token) {
    client.control(hello_frame(2, 1, "t", token));
    return !client.control_frames().empty() && client.last_control().type == FrameType::ok;
  }
  std::uint64_t now_ms = kNow * 1000;
  Keys keys;
  BrokerConfig config;
  std::unique_ptr<Broker> broker;
};

TEST_F(BrokerAuth, HelloWithoutTokenIsRefusedWithAuthenticationFailedSayingATokenIsRequired) {
  Client client(*broker);
  EXPECT_FALSE(connect(client, {}));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::authentication_failed));
  EXPECT_NE(client.last_control().string(PropertyId::error_message)->find("token required"),
            std::string::npos);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::authentication_failed));
  EXPECT_EQ(broker->stats().token_missing, 1u);
}

TEST_F(BrokerAuth, EachBadTokenIsRefusedWithItsOwnReasonAndCounted) {
  const std::string good = issue(keys.signing, "acme", {{">"}, {}, {">"}, {}});
  std::string forged = good;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';  // in the signature
  struct Case {
    std::string token;
    const char *says;
  } cases[] = {
      {"flt1.nonsense!", "malformed"},
      {good.substr(0, good.size() - 10), "malformed"},
      {forged, "signature"},
      {issue(keys.other, "acme", {{">"}, {}, {">"}, {}}), "operator key this verifier"},
      {issue(keys.signing, "acme", {}, kNow - 7200, kNow - 61), "expired"},
      {issue(keys.signing, "acme", {}, kNow + 61, kNow + 7200), "not valid yet"},
  };
  for (const Case &c : cases) {
    Client client(*broker);
    EXPECT_FALSE(connect(client, c.token)) << c.says;
    EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::authentication_failed));
    EXPECT_NE(client.last_control().string(PropertyId::error_message)->find(c.says),
              std::string::npos)
        << *client.last_control().string(PropertyId::error_message);
    EXPECT_TRUE(client.transport.closed);
  }
  const BrokerStats s = broker->stats();
  EXPECT_EQ(s.token_malformed, 2u);
  EXPECT_EQ(s.token_bad_signature, 1u);
  EXPECT_EQ(s.token_unknown_key, 1u);
  EXPECT_EQ(s.token_expired, 1u);
  EXPECT_EQ(s.token_not_yet_valid, 1u);
  EXPECT_EQ(s.hellos_accepted, 0u);
}

TEST_F(BrokerAuth, ClockSkewOf60SecondsIsAllowedEitherSide) {
  Client early(*broker);
  EXPECT_TRUE(connect(early, issue(keys.signing, "acme", {}, kNow + 59, kNow + 7200)));
  Client late(*broker);
  EXPECT_TRUE(connect(late, issue(keys.signing, "acme", {}, kNow - 7200, kNow - 59)));
}

TEST_F(BrokerAuth, TokenOverTheWireLimitIsAProtocolError) {
  Client client(*broker);
  EXPECT_FALSE(connect(client, std::string(4097, 'A')));
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
}

TEST_F(BrokerAuth, SubscribeGrantsFollowCoversAndDenyWins) {
  const std::string token = issue(
      keys.signing, "acme", {{}, {}, {"orders.>", "logs.*", "metrics.cpu"}, {"orders.*.secret"}});
  Client client(*broker);
  ASSERT_TRUE(connect(client, token));
  struct Case {
    const char *pattern;
    bool allowed;
  } cases[] = {
      {"orders.eu", true},   {"orders.*.created", true},
      {"orders.>", false},   {"orders.eu.secret", false},
      {"orders.*.*", false}, {"logs.app", true},
      {"logs.*", true},      {"logs.>", false},
      {"metrics.cpu", true}, {"metrics.mem", false},
      {"metrics.*", false},  {">", false},
  };
  std::uint32_t id = 1;
  for (const Case &c : cases) {
    client.subscribe(c.pattern, id);
    const OwnedFrame answer = client.last_control();
    if (c.allowed) {
      EXPECT_EQ(answer.type, FrameType::ok) << c.pattern;
    } else {
      EXPECT_EQ(answer.error_code(), code(ErrorCode::permission_denied)) << c.pattern;
      EXPECT_EQ(answer.integer(PropertyId::subscription_id), id);
    }
    ++id;
  }
  EXPECT_FALSE(client.transport.closed);
  const BrokerStats s = broker->stats();
  EXPECT_EQ(s.subscribe_denied, 4u);       // orders.>, orders.eu.secret, orders.*.*, >
  EXPECT_EQ(s.subscribe_not_granted, 3u);  // logs.>, metrics.mem, metrics.*
  EXPECT_EQ(s.request_errors[code(ErrorCode::permission_denied)], 7u);
}

TEST_F(BrokerAuth, PublishOutsideTheGrantsGetsPermissionDeniedAndTheConnectionStays) {
  const std::string token =
      issue(keys.signing, "acme", {{"logs.>", "a.*"}, {"logs.audit"}, {">"}, {}});
  Client client(*broker);
  ASSERT_TRUE(connect(client, token));
  client.subscribe(">", 1);
  for (const char *subject : {"logs.app", "logs.audit", "a.b", "a.b.c", "other"})
    client.publish(subject, "x");
  EXPECT_EQ(client.messages(1), (std::vector<std::string>{"x", "x"}));
  std::vector<std::string> errors;
  for (const OwnedFrame &f : client.control_frames()) {
    if (f.type == FrameType::error) {
      EXPECT_EQ(f.error_code(), code(ErrorCode::permission_denied));
      errors.push_back(*f.string(PropertyId::error_message));
    }
  }
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("'logs.audit' denied"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("'a.b.c' not granted"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("'other' not granted"), std::string::npos) << errors[2];
  EXPECT_FALSE(client.transport.closed);
  EXPECT_EQ(broker->stats().publish_denied, 1u);
  EXPECT_EQ(broker->stats().publish_not_granted, 2u);
}

TEST_F(BrokerAuth, ConnectionIsClosedWithTokenExpiredByTheTimerAtExpiryPlusSkew) {
  // Expires 50 s from now: refused from 110 s on.
  Client client(*broker, /*now_ns=*/5 * kSecondNs);
  ASSERT_TRUE(
      connect(client, issue(keys.signing, "acme", {{}, {}, {">"}, {}}, kNow - 10, kNow + 50)));
  client.subscribe("a.>", 1);
  ASSERT_EQ(broker->next_timer(), 5 * kSecondNs + 110 * kSecondNs);
  broker->on_timer(5 * kSecondNs + 109 * kSecondNs);
  EXPECT_FALSE(client.transport.closed);
  broker->on_timer(5 * kSecondNs + 110 * kSecondNs);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::token_expired));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::token_expired));
  EXPECT_EQ(broker->stats().token_expiry_closes, 1u);
  EXPECT_EQ(broker->stats().subscriptions, 0u);
}

TEST_F(BrokerAuth, RenewalExtendsTheConnectionAndEndsSubscriptionsNoLongerGranted) {
  Client client(*broker);
  ASSERT_TRUE(connect(
      client, issue(keys.signing, "acme", {{}, {}, {"a.>", "b.>"}, {}}, kNow - 10, kNow + 10)));
  client.subscribe("a.x", 1);
  client.subscribe("b.x", 2);
  now_ms += 30'000;
  client.control(
      auth_frame(issue(keys.signing, "acme", {{}, {}, {"a.>"}, {}}, kNow, kNow + 600), 9));
  const OwnedFrame answer = client.last_control();
  EXPECT_EQ(answer.type, FrameType::ok);
  EXPECT_EQ(answer.integer(PropertyId::request_id), 9u);
  // b.x is no longer granted: its stream ends with ERROR {PERMISSION_DENIED}.
  const auto b = client.frames(2);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.back().error_code(), code(ErrorCode::permission_denied));
  EXPECT_EQ(client.frames(1).back().type, FrameType::subscription);
  EXPECT_EQ(broker->stats().subscriptions_revoked, 1u);
  EXPECT_EQ(broker->stats().token_renewals, 1u);
  // The old expiry (kNow + 70 s) no longer closes it; the new one (kNow + 660 s) does.
  broker->on_timer(100 * kSecondNs);
  EXPECT_FALSE(client.transport.closed);
  ASSERT_EQ(broker->next_timer(), 660 * kSecondNs);
}

TEST_F(BrokerAuth, RenewalWithABadTokenOrAnotherTenantIsARequestErrorAndTheOldTokenStays) {
  Client client(*broker);
  ASSERT_TRUE(connect(client, issue(keys.signing, "acme", {{}, {}, {">"}, {}})));
  client.control(auth_frame(issue(keys.signing, "globex", {{}, {}, {">"}, {}}), 3));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::authentication_failed));
  EXPECT_NE(client.last_control().string(PropertyId::error_message)->find("tenant"),
            std::string::npos);
  client.control(auth_frame(issue(keys.other, "acme", {{}, {}, {">"}, {}}), 4));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::authentication_failed));
  EXPECT_FALSE(client.transport.closed);
  client.subscribe("x", 1);
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  EXPECT_EQ(broker->stats().token_renewals_refused, 2u);
}

TEST_F(BrokerAuth, AuthOnAVersionOneConnectionIsAProtocolError) {
  Client client(*broker);
  client.control(hello_frame(1, 1, "t", issue(keys.signing, "acme", {})));
  ASSERT_EQ(client.last_control().type, FrameType::ok);
  client.control(auth_frame(issue(keys.signing, "acme", {}), 2));
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
}

TEST_F(BrokerAuth, TenantsHaveTheirOwnSubjectSpacesAndWildcardsDoNotCross) {
  const auth::Grants all{{">"}, {}, {">"}, {}};
  Client a(*broker), b(*broker);
  ASSERT_TRUE(connect(a, issue(keys.signing, "tenant-a", all)));
  ASSERT_TRUE(connect(b, issue(keys.signing, "tenant-b", all)));
  a.subscribe("orders.>", 1);
  a.subscribe(">", 2);
  b.subscribe("orders.>", 1);
  b.publish("orders.eu", "from b");
  a.publish("orders.us", "from a");
  EXPECT_EQ(a.messages(1), std::vector<std::string>{"from a"});
  EXPECT_EQ(a.messages(2), std::vector<std::string>{"from a"});
  EXPECT_EQ(b.messages(1), std::vector<std::string>{"from b"});
  EXPECT_EQ(broker->stats().tenants, 2u);
  EXPECT_EQ(broker->stats().subscriptions, 3u);
}

TEST(BrokerAuthOff, WithoutKeysTokensAreIgnoredAndEveryoneSharesTheDefaultTenant) {
  Broker broker({});
  Client a(broker), b(broker);
  a.control(hello_frame(2, 1, "a", "whatever"));
  b.control(hello_frame(2, 1, "b"));
  ASSERT_EQ(a.last_control().type, FrameType::ok);
  a.subscribe(">", 1);
  b.publish("x", "hi");
  EXPECT_EQ(a.messages(1), std::vector<std::string>{"hi"});
  a.control(auth_frame("anything", 7));
  EXPECT_EQ(a.last_control().type, FrameType::ok);
}

}  // namespace
}  // namespace flume::broker::test
