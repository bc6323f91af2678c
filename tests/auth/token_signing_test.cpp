// Issuing and verifying with real Ed25519 keys through GnuTLS: forged and altered tokens, keys the
// verifier does not hold, rotation with two keys, and the exact edges of the time window.
#include <gtest/gtest.h>

#include <algorithm>

#include "auth/base64url.hpp"
#include "auth/token_signing.hpp"

namespace flume::auth {
namespace {

constexpr std::uint64_t kNotBefore = 1'800'000'000;
constexpr std::uint64_t kExpires = 1'800'003'600;

SigningKey new_key() {
  std::string error;
  auto key = SigningKey::generate(error);
  EXPECT_TRUE(key) << error;
  return *key;
}

VerifyingKey public_of(const SigningKey &key) {
  std::string error;
  auto verifier = VerifyingKey::parse(key.public_text(), error);
  EXPECT_TRUE(verifier) << error;
  return *verifier;
}

AccessToken claims() {
  AccessToken token;
  token.tenant = "acme";
  token.subject = "user.alice";
  token.grants.allow_subscribe = {"orders.>"};
  token.not_before = kNotBefore;
  token.expires = kExpires;
  return token;
}

std::string issue(const SigningKey &key, AccessToken token = claims()) {
  std::string error;
  auto text = issue_token(key, std::move(token), error);
  EXPECT_TRUE(text) << error;
  return text.value_or("");
}

TEST(TokenSigning, AnIssuedTokenVerifiesWithItsPublicKey) {
  const SigningKey key = new_key();
  const std::string text = issue(key);
  ASSERT_TRUE(text.starts_with("flt1."));
  const VerifyingKey keys[] = {public_of(key)};
  const Verification v = verify_token(text, keys, kNotBefore + 10);
  ASSERT_EQ(v.error, TokenError::ok) << v.message;
  EXPECT_EQ(v.token.tenant, "acme");
  EXPECT_EQ(v.token.subject, "user.alice");
  EXPECT_EQ(v.token.key_id, key.id());
  EXPECT_EQ(v.token.grants.allow_subscribe, std::vector<std::string>{"orders.>"});
}

TEST(TokenSigning, TwoTokensGetDifferentIds) {
  const SigningKey key = new_key();
  const VerifyingKey keys[] = {public_of(key)};
  const auto a = verify_token(issue(key), keys, kNotBefore);
  const auto b = verify_token(issue(key), keys, kNotBefore);
  ASSERT_EQ(a.error, TokenError::ok);
  EXPECT_NE(a.token.id, b.token.id);
}

TEST(TokenSigning, KeyFilesRoundTripAndRefuseTheWrongKind) {
  const SigningKey key = new_key();
  std::string error;
  auto again = SigningKey::parse(key.text() + "\n", error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->id(), key.id());
  EXPECT_EQ(again->public_text(), key.public_text());
  EXPECT_EQ(format_key_id(key.id()).size(), 16u);

  EXPECT_FALSE(SigningKey::parse(key.public_text(), error));
  EXPECT_NE(error.find("public key"), std::string::npos) << error;
  EXPECT_FALSE(VerifyingKey::parse(key.text(), error));
  EXPECT_NE(error.find("secret key"), std::string::npos) << error;
  EXPECT_FALSE(VerifyingKey::parse("flpk1.AAAA", error));
  EXPECT_NE(error.find("32 bytes"), std::string::npos) << error;
}

TEST(TokenSigning, ASecretKeyWhoseHalvesDoNotMatchIsRefused) {
  const SigningKey a = new_key();
  const SigningKey b = new_key();
  // a's private half with b's public half.
  auto a_bytes = from_base64url(a.text().substr(6));
  auto b_bytes = from_base64url(b.text().substr(6));
  ASSERT_TRUE(a_bytes && b_bytes);
  std::copy(b_bytes->begin() + 32, b_bytes->end(), a_bytes->begin() + 32);
  std::string error;
  EXPECT_FALSE(SigningKey::parse("flsk1." + to_base64url(*a_bytes), error));
  EXPECT_NE(error.find("does not belong"), std::string::npos) << error;
}

TEST(TokenSigning, AnAlteredBodyOrSignatureIsABadSignature) {
  const SigningKey key = new_key();
  const VerifyingKey keys[] = {public_of(key)};
  std::string detail;
  ParsedToken parsed;
  ASSERT_EQ(parse_token(issue(key), parsed, detail), TokenError::ok);

  // Widen the grants and keep the signature: a forgery.
  AccessToken widened = parsed.token;
  widened.grants.allow_subscribe = {">"};
  const Verification forged =
      verify_token(token_text(encode_body(widened), parsed.signature), keys, kNotBefore);
  EXPECT_EQ(forged.error, TokenError::bad_signature);
  EXPECT_NE(forged.message.find("forged or altered"), std::string::npos) << forged.message;

  for (std::size_t byte : {std::size_t{0}, std::size_t{31}, std::size_t{63}}) {
    Signature flipped = parsed.signature;
    flipped[byte] ^= 0x01;
    EXPECT_EQ(verify_token(token_text(parsed.body, flipped), keys, kNotBefore).error,
              TokenError::bad_signature);
  }
}

TEST(TokenSigning, ATokenFromAnotherOperatorKeyIsUnknown) {
  const SigningKey ours = new_key();
  const SigningKey theirs = new_key();
  const VerifyingKey keys[] = {public_of(ours)};
  const Verification v = verify_token(issue(theirs), keys, kNotBefore);
  EXPECT_EQ(v.error, TokenError::unknown_key);
  EXPECT_NE(v.message.find(format_key_id(theirs.id())), std::string::npos) << v.message;
  // Verifying with no keys at all: the same answer, never a pass.
  EXPECT_EQ(verify_token(issue(ours), {}, kNotBefore).error, TokenError::unknown_key);
}

TEST(TokenSigning, ATokenClaimingOurKeyIdButSignedByAnotherIsABadSignature) {
  const SigningKey ours = new_key();
  const SigningKey theirs = new_key();
  const VerifyingKey keys[] = {public_of(ours)};
  AccessToken token = claims();
  token.key_id = ours.id();
  std::string error;
  auto signature = theirs.sign(signed_bytes(encode_body(token)), error);
  ASSERT_TRUE(signature) << error;
  EXPECT_EQ(verify_token(token_text(encode_body(token), *signature), keys, kNotBefore).error,
            TokenError::bad_signature);
}

TEST(TokenSigning, RotationTrustsTwoKeysThenDropsTheOld) {
  const SigningKey old_key = new_key();
  const SigningKey new_key_ = new_key();
  const std::string old_token = issue(old_key);
  const std::string new_token = issue(new_key_);
  const VerifyingKey both[] = {public_of(old_key), public_of(new_key_)};
  EXPECT_EQ(verify_token(old_token, both, kNotBefore).error, TokenError::ok);
  EXPECT_EQ(verify_token(new_token, both, kNotBefore).error, TokenError::ok);
  const VerifyingKey only_new[] = {public_of(new_key_)};
  EXPECT_EQ(verify_token(old_token, only_new, kNotBefore).error, TokenError::unknown_key);
  EXPECT_EQ(verify_token(new_token, only_new, kNotBefore).error, TokenError::ok);
}

TEST(TokenSigning, TheWindowAllowsExactlySixtySecondsOfSkewEitherSide) {
  const SigningKey key = new_key();
  const VerifyingKey keys[] = {public_of(key)};
  const std::string text = issue(key);
  EXPECT_EQ(verify_token(text, keys, kNotBefore - 61).error, TokenError::not_yet_valid);
  EXPECT_EQ(verify_token(text, keys, kNotBefore - 60).error, TokenError::ok);
  EXPECT_EQ(verify_token(text, keys, kNotBefore).error, TokenError::ok);
  EXPECT_EQ(verify_token(text, keys, kExpires).error, TokenError::ok);
  EXPECT_EQ(verify_token(text, keys, kExpires + 59).error, TokenError::ok);
  EXPECT_EQ(verify_token(text, keys, kExpires + 60).error, TokenError::expired);
  EXPECT_EQ(verify_token(text, keys, kExpires + 86400 * 365).error, TokenError::expired);
  const Verification early = verify_token(text, keys, 0);
  EXPECT_EQ(early.error, TokenError::not_yet_valid);
  EXPECT_NE(early.message.find("clock skew"), std::string::npos) << early.message;
}

TEST(TokenSigning, TheWindowIsCheckedOnlyAfterTheSignature) {
  // An expired forgery is reported as forged: the time fields of a forgery mean nothing.
  const SigningKey key = new_key();
  const VerifyingKey keys[] = {public_of(key)};
  ParsedToken parsed;
  std::string detail;
  ASSERT_EQ(parse_token(issue(key), parsed, detail), TokenError::ok);
  parsed.signature[5] ^= 0x80;
  EXPECT_EQ(verify_token(token_text(parsed.body, parsed.signature), keys, kExpires + 1000).error,
            TokenError::bad_signature);
}

TEST(TokenSigning, ExtremeTimesDoNotWrap) {
  const SigningKey key = new_key();
  const VerifyingKey keys[] = {public_of(key)};
  AccessToken token = claims();
  token.not_before = 0;
  token.expires = UINT64_MAX;
  const std::string forever = issue(key, token);
  EXPECT_EQ(verify_token(forever, keys, 0).error, TokenError::ok);
  EXPECT_EQ(verify_token(forever, keys, UINT64_MAX - 61).error, TokenError::ok);
  token.not_before = UINT64_MAX - 1;
  EXPECT_EQ(verify_token(issue(key, token), keys, 5).error, TokenError::not_yet_valid);
}

TEST(TokenSigning, IssuingRefusesInvalidClaimsAndTokensOverTheLimit) {
  const SigningKey key = new_key();
  std::string error;
  AccessToken token = claims();
  token.grants.allow_publish = {"a.>.b"};
  EXPECT_FALSE(issue_token(key, token, error));
  EXPECT_NE(error.find("a.>.b"), std::string::npos) << error;
  token = claims();
  const std::string long_pattern(250, 'p');
  token.grants.allow_publish.assign(kMaxPatternsPerList, long_pattern);
  token.grants.allow_subscribe.assign(kMaxPatternsPerList, long_pattern);
  EXPECT_FALSE(issue_token(key, token, error));
  EXPECT_NE(error.find("over the limit of 8192"), std::string::npos) << error;
}

}  // namespace
}  // namespace flume::auth
