// Access tokens on client connections (docs/protocol.md section 19, docs/security.md): the token
// of HELLO and AUTH verified against the operator keys, its grants checked on every SUBSCRIBE and
// PUBLISH, its expiry kept as a timer, and its tenant's own subject space (one router each).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "auth/token_signing.hpp"
#include "broker/broker.hpp"
#include "broker/broker_frames.hpp"
#include "broker/requests.hpp"
#include "broker/session.hpp"
#include "log/log.hpp"

namespace flume::broker {
namespace {

constexpr std::uint64_t kNsPerMs = 1'000'000;

std::string_view as_text(std::span<const std::uint8_t> bytes) noexcept {
  return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

}  // namespace

std::uint64_t Broker::unix_now_ms() const {
  if (config_.unix_time_ms) return config_.unix_time_ms();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Verifies `token` for the HELLO or AUTH of `s` and, when it is good, makes it the session's. A
// refusal is counted per reason and answered: at HELLO it closes the connection
// (AUTHENTICATION_FAILED); on AUTH it is a request error and the token in force stays.
bool Broker::admit_token(Session &s, std::span<const std::uint8_t> token,
                         std::optional<std::uint32_t> request_id) {
  const bool renewal = s.state == SessionState::open;
  auto refuse = [&](std::uint64_t *counter, std::string_view message) {
    if (counter != nullptr) ++*counter;
    if (renewal) {
      ++stats_.token_renewals_refused;
      request_error(s, ErrorCode::authentication_failed, message, request_id, std::nullopt);
    } else {
      ++stats_.hellos_refused;
      fatal(s, ErrorCode::authentication_failed, message, request_id);
    }
    return false;
  };
  if (token.empty()) {
    return refuse(&stats_.token_missing,
                  "token required: this broker admits only clients with an "
                  "access token (docs/security.md)");
  }
  const std::uint64_t now_ms = unix_now_ms();
  auth::Verification verified =
      auth::verify_token(as_text(token), config_.auth_keys, now_ms / 1000);
  switch (verified.error) {
    case auth::TokenError::ok:
      break;
    case auth::TokenError::malformed:
    case auth::TokenError::oversized:
      return refuse(&stats_.token_malformed, verified.message);
    case auth::TokenError::unknown_key:
      return refuse(&stats_.token_unknown_key, verified.message);
    case auth::TokenError::bad_signature:
      return refuse(&stats_.token_bad_signature, verified.message);
    case auth::TokenError::expired:
      return refuse(&stats_.token_expired, verified.message);
    case auth::TokenError::not_yet_valid:
      return refuse(&stats_.token_not_yet_valid, verified.message);
  }
  if (renewal && verified.token.tenant != s.tenant) {
    return refuse(nullptr, "the renewed token is for tenant '" + verified.token.tenant +
                               "', the connection's tenant is '" + s.tenant + "'");
  }
  s.token_checked = true;
  s.tenant = std::move(verified.token.tenant);
  s.grants = std::move(verified.token.grants);
  arm_expiry(s, verified.token.expires);
  return true;
}

void Broker::handle_auth(Session &s, const Frame &frame) {
  AuthRequest request;
  if (const char *why = parse_auth(frame.payload, request)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  if (config_.auth_keys.empty()) {
    // Nothing is checked on this broker, so any token is as good as none.
    send_control(s, ok_to_auth(request.request_id));
    return;
  }
  if (!admit_token(s, request.token, request.request_id)) return;
  ++stats_.token_renewals;
  send_control(s, ok_to_auth(request.request_id));
  if (s.state == SessionState::closed) return;
  revoke_ungranted_subscriptions(s);
}

// After a renewal: subscriptions the new grants no longer allow end with PERMISSION_DENIED on
// their stream, as SLOW_CONSUMER ends a subscription (protocol.md 6.3).
void Broker::revoke_ungranted_subscriptions(Session &s) {
  std::vector<Subscription *> ended;
  for (auto &[id, sub] : s.by_id) {
    if (auth::may_subscribe(s.grants, sub->pattern) != auth::GrantDecision::allowed) {
      ended.push_back(sub);
    }
  }
  for (Subscription *sub : ended) {
    if (s.state == SessionState::closed) return;
    ++stats_.subscriptions_revoked;
    stats_.discarded_on_close += discard_queue(*sub);
    const std::string message = "the renewed token does not grant subscribing to '" + sub->pattern +
                                "': " + auth::describe(auth::may_subscribe(s.grants, sub->pattern));
    end_with_error(*sub, ErrorCode::permission_denied, message);
  }
}

bool Broker::subscribe_granted(Session &s, std::string_view pattern,
                               std::optional<std::uint32_t> request_id,
                               std::uint32_t subscription_id) {
  const auth::GrantDecision decision = auth::may_subscribe(s.grants, pattern);
  if (decision == auth::GrantDecision::allowed) return true;
  ++(decision == auth::GrantDecision::denied ? stats_.subscribe_denied
                                             : stats_.subscribe_not_granted);
  request_error(s, ErrorCode::permission_denied,
                "subscribe to '" + std::string(pattern) + "' " + auth::describe(decision),
                request_id, subscription_id);
  return false;
}

bool Broker::publish_granted(Session &s, std::string_view subject, std::int64_t stream_id) {
  const auth::GrantDecision decision = auth::may_publish(s.grants, subject);
  if (decision == auth::GrantDecision::allowed) return true;
  ++(decision == auth::GrantDecision::denied ? stats_.publish_denied : stats_.publish_not_granted);
  // Like INVALID_SUBJECT (11.2): no request_id to echo, so the message names the subject, and
  // the stream when it is not the control stream.
  std::string message = "publish to '" + std::string(subject) + "' " + auth::describe(decision);
  if (stream_id != kControlStreamId) {
    message = "PUBLISH on stream " + std::to_string(stream_id) + ": " + message;
  }
  request_error(s, ErrorCode::permission_denied, message, std::nullopt, std::nullopt);
  return false;
}

// The connection is closed when a verifier would refuse the token: at expires + the clock skew
// (protocol.md 18.4), on the broker's clock through the pair read at open_session.
void Broker::arm_expiry(Session &s, std::uint64_t expires_unix_seconds) {
  disarm_expiry(s);
  // Saturating: a token may say it expires in the year 500 billion.
  constexpr std::uint64_t kFarFutureSeconds = std::uint64_t{1} << 40;
  const std::uint64_t end_ms =
      (std::min(expires_unix_seconds, kFarFutureSeconds) + auth::kClockSkewSeconds) * 1000;
  const std::uint64_t now_ms = unix_now_ms();
  // Elapsed on the Unix clock since open_session, added to the broker's clock then: both clocks
  // are read here as they were there, so the deadline does not depend on when on_timer last ran.
  const std::uint64_t since_open_ms = now_ms > s.opened_unix_ms ? now_ms - s.opened_unix_ms : 0;
  const std::uint64_t left_ms = end_ms > now_ms ? end_ms - now_ms : 0;
  const std::uint64_t wait_ms = since_open_ms + left_ms;
  const std::uint64_t deadline = wait_ms > (UINT64_MAX - s.opened_ns) / kNsPerMs
                                     ? UINT64_MAX
                                     : s.opened_ns + wait_ms * kNsPerMs;
  s.expiry = expiry_deadlines_.emplace(deadline, &s);
  s.has_expiry = true;
}

void Broker::disarm_expiry(Session &s) noexcept {
  if (!s.has_expiry) return;
  expiry_deadlines_.erase(s.expiry);
  s.has_expiry = false;
}

SubjectTrie<Subscription *> *Broker::router_of(const std::string &tenant) noexcept {
  if (tenant.empty()) return &router_;
  auto it = tenant_routers_.find(tenant);
  return it == tenant_routers_.end() ? nullptr : it->second.get();
}

SubjectTrie<Subscription *> &Broker::router_for(const std::string &tenant) {
  if (tenant.empty()) return router_;
  auto &slot = tenant_routers_[tenant];
  if (!slot) {
    try {
      slot = std::make_unique<SubjectTrie<Subscription *>>();
    } catch (...) {
      tenant_routers_.erase(tenant);
      throw;
    }
  }
  return *slot;
}

void Broker::forget_tenant_router_if_empty(const std::string &tenant) noexcept {
  if (tenant.empty()) return;
  auto it = tenant_routers_.find(tenant);
  if (it != tenant_routers_.end() && it->second->size() == 0) tenant_routers_.erase(it);
}

}  // namespace flume::broker
