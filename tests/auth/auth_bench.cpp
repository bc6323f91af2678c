// What checking a token costs a node: verifying one (parse, Ed25519, window) as at connect, and
// matching a publish and a subscription against its grants as on every request.
#include <benchmark/benchmark.h>

#include <string>

#include "auth/token_signing.hpp"

namespace {

using namespace flume::auth;

constexpr std::uint64_t kNow = 1'800'000'000;

struct Fixture {
  Fixture() {
    std::string error;
    signing = *SigningKey::generate(error);
    trusted.push_back(*VerifyingKey::parse(signing.public_text(), error));
    AccessToken claims;
    claims.tenant = "acme";
    claims.subject = "service.billing";
    // A token of ordinary size: eight patterns in each list.
    for (int i = 0; i < 8; ++i) {
      const std::string n = std::to_string(i);
      claims.grants.allow_publish.push_back("billing." + n + ".>");
      claims.grants.deny_publish.push_back("billing." + n + ".secret");
      claims.grants.allow_subscribe.push_back("orders." + n + ".*.created");
      claims.grants.deny_subscribe.push_back("orders." + n + ".internal.>");
    }
    claims.not_before = kNow - 10;
    claims.expires = kNow + 3600;
    token = *issue_token(signing, claims, error);
    grants = claims.grants;
  }
  SigningKey signing;
  std::vector<VerifyingKey> trusted;
  std::string token;
  Grants grants;
};

Fixture &fixture() {
  static Fixture f;
  return f;
}

void BM_VerifyToken(benchmark::State &state) {
  Fixture &f = fixture();
  for (auto _ : state) {
    Verification v = verify_token(f.token, f.trusted, kNow);
    if (v.error != TokenError::ok) state.SkipWithError(v.message.c_str());
    benchmark::DoNotOptimize(v);
  }
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
}
BENCHMARK(BM_VerifyToken);

void BM_MayPublish(benchmark::State &state) {
  Fixture &f = fixture();
  for (auto _ : state)
    benchmark::DoNotOptimize(may_publish(f.grants, "billing.7.invoices.eu"));
}
BENCHMARK(BM_MayPublish);

void BM_MaySubscribe(benchmark::State &state) {
  Fixture &f = fixture();
  for (auto _ : state)
    benchmark::DoNotOptimize(may_subscribe(f.grants, "orders.7.eu.created"));
}
BENCHMARK(BM_MaySubscribe);

}  // namespace
