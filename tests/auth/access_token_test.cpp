// The token's encoding without cryptography: base64url strictness, a round trip of every field,
// and each way a text is refused as malformed or oversized.
#include <gtest/gtest.h>

#include "auth/access_token.hpp"
#include "auth/base64url.hpp"

namespace flume::auth {
namespace {

AccessToken sample_claims() {
  AccessToken token;
  token.tenant = "acme";
  token.subject = "service.billing";
  token.grants = Grants{{"billing.>"}, {"billing.secret"}, {"orders.*.created"}, {"orders.eu.*"}};
  token.not_before = 1'800'000'000;
  token.expires = 1'800'003'600;
  for (std::size_t i = 0; i < token.id.size(); ++i)
    token.id[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 0; i < token.key_id.size(); ++i)
    token.key_id[i] = static_cast<std::uint8_t>(0xa0 + i);
  return token;
}

std::string text_of(const AccessToken &token) {
  Signature signature{};
  signature.fill(0x5a);
  return token_text(encode_body(token), signature);
}

TEST(Base64url, RoundTripsEveryLengthAndRefusesNonCanonicalText) {
  std::vector<std::uint8_t> bytes;
  for (int length = 0; length < 40; ++length) {
    const std::string text = to_base64url(bytes);
    EXPECT_EQ(text.find('='), std::string::npos);
    auto back = from_base64url(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<std::uint8_t>(length * 37 + 250));
  }
  EXPECT_EQ(to_base64url(std::vector<std::uint8_t>{0xfb, 0xff}), "-_8");
  EXPECT_FALSE(from_base64url("AB=="));   // padding
  EXPECT_FALSE(from_base64url("A+B/"));   // the standard alphabet
  EXPECT_FALSE(from_base64url("ABCDE"));  // 4n+1 characters
  EXPECT_FALSE(from_base64url("AB"));     // "AB" leaves a non-zero bit: "AA" is canonical
  EXPECT_TRUE(from_base64url("AA"));
}

TEST(AccessToken, EveryFieldSurvivesTheRoundTrip) {
  const AccessToken claims = sample_claims();
  ASSERT_EQ(check_claims(claims), "");
  ParsedToken parsed;
  std::string detail;
  ASSERT_EQ(parse_token(text_of(claims), parsed, detail), TokenError::ok) << detail;
  const AccessToken &t = parsed.token;
  EXPECT_EQ(t.tenant, claims.tenant);
  EXPECT_EQ(t.subject, claims.subject);
  EXPECT_EQ(t.grants.allow_publish, claims.grants.allow_publish);
  EXPECT_EQ(t.grants.deny_publish, claims.grants.deny_publish);
  EXPECT_EQ(t.grants.allow_subscribe, claims.grants.allow_subscribe);
  EXPECT_EQ(t.grants.deny_subscribe, claims.grants.deny_subscribe);
  EXPECT_EQ(t.not_before, claims.not_before);
  EXPECT_EQ(t.expires, claims.expires);
  EXPECT_EQ(t.id, claims.id);
  EXPECT_EQ(t.key_id, claims.key_id);
  EXPECT_EQ(parsed.body, encode_body(claims));
  EXPECT_EQ(parsed.signature[0], 0x5a);
}

TEST(AccessToken, EveryTruncationIsMalformed) {
  const std::string text = text_of(sample_claims());
  for (std::size_t length = 0; length < text.size(); ++length) {
    ParsedToken parsed;
    std::string detail;
    EXPECT_EQ(parse_token(text.substr(0, length), parsed, detail), TokenError::malformed) << length;
    EXPECT_FALSE(detail.empty());
  }
  // Truncated bytes inside a well-formed base64url text: the body ends inside a field.
  std::vector<std::uint8_t> body = encode_body(sample_claims());
  body.resize(body.size() - 3);
  ParsedToken parsed;
  std::string detail;
  Signature signature{};
  EXPECT_EQ(parse_token(token_text(body, signature), parsed, detail), TokenError::malformed);
  EXPECT_NE(detail.find("truncated"), std::string::npos) << detail;
}

TEST(AccessToken, OversizedTextIsRefusedBeforeDecoding) {
  std::string text = "flt1." + std::string(kMaxTokenText, 'A');
  ParsedToken parsed;
  std::string detail;
  EXPECT_EQ(parse_token(text, parsed, detail), TokenError::oversized);
  // Exactly the limit is not oversized (it is malformed here: it is not a real token).
  text.resize(kMaxTokenText);
  EXPECT_EQ(parse_token(text, parsed, detail), TokenError::malformed);
}

TEST(AccessToken, InvalidFieldsAreMalformedWithTheReason) {
  auto refused = [](const AccessToken &token, const char *reason) {
    ParsedToken parsed;
    std::string detail;
    EXPECT_EQ(parse_token(text_of(token), parsed, detail), TokenError::malformed) << reason;
    EXPECT_NE(detail.find(reason), std::string::npos) << detail;
    EXPECT_NE(check_claims(token), "");
  };
  AccessToken t = sample_claims();
  t.tenant = "a.b";
  refused(t, "one token");
  t = sample_claims();
  t.tenant = "";
  refused(t, "1 to 64");
  t = sample_claims();
  t.subject = "who*";
  refused(t, "subject is invalid");
  t = sample_claims();
  t.grants.allow_subscribe = {"a.>.b"};
  refused(t, "subscribe allow pattern 'a.>.b'");
  t = sample_claims();
  t.grants.deny_publish = {"a b"};
  refused(t, "publish deny pattern");
  t = sample_claims();
  t.expires = t.not_before;
  refused(t, "earlier than the expiry");

  t = sample_claims();
  t.grants.allow_publish.assign(kMaxPatternsPerList + 1, "x");
  EXPECT_NE(check_claims(t).find("more than 64"), std::string::npos);
  ParsedToken parsed;
  std::string detail;
  EXPECT_EQ(parse_token(text_of(t), parsed, detail), TokenError::malformed);
  EXPECT_NE(detail.find("more than 64"), std::string::npos) << detail;
}

TEST(AccessToken, WrongPrefixVersionAndTrailingBytesAreMalformed) {
  ParsedToken parsed;
  std::string detail;
  std::string text = text_of(sample_claims());
  EXPECT_EQ(parse_token("flt2." + text.substr(5), parsed, detail), TokenError::malformed);
  EXPECT_NE(detail.find("flt1."), std::string::npos);

  std::vector<std::uint8_t> body = encode_body(sample_claims());
  Signature signature{};
  body[0] = 2;
  EXPECT_EQ(parse_token(token_text(body, signature), parsed, detail), TokenError::malformed);
  EXPECT_NE(detail.find("version 2"), std::string::npos) << detail;

  body = encode_body(sample_claims());
  body.push_back(0);
  EXPECT_EQ(parse_token(token_text(body, signature), parsed, detail), TokenError::malformed);
  EXPECT_NE(detail.find("follow the last"), std::string::npos) << detail;
}

}  // namespace
}  // namespace flume::auth
