#include "overlay/link_measurement.hpp"

#include <algorithm>
#include <charconv>

namespace flume::overlay {

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;

}  // namespace

std::string format_link_estimate(const LinkEstimate &e) {
  return "rate=" + std::to_string(e.rate) + ";srtt=" + std::to_string(e.srtt_us) +
         ";rttvar=" + std::to_string(e.rttvar_us) + ";lost=" + std::to_string(e.lost) +
         ";settled=" + std::to_string(e.settled) +
         ";cost=" + std::to_string(e.cost_bytes_per_second) +
         ";recent=" + std::to_string(e.route_rtt_us);
}

std::optional<LinkEstimate> parse_link_estimate(std::string_view text) {
  if (text.size() > 512) return std::nullopt;
  LinkEstimate out;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find(';'), text.size());
    const std::string_view item = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    const std::string_view key = item.substr(0, eq);
    const std::string_view digits = item.substr(eq + 1);
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size())
      return std::nullopt;
    if (key == "rate") {
      if (value > 1000) return std::nullopt;
      out.rate = static_cast<unsigned>(value);
    } else if (key == "srtt") {
      out.srtt_us = value;
    } else if (key == "rttvar") {
      out.rttvar_us = value;
    } else if (key == "lost" || key == "settled") {
      if (value > LinkMeasurement::kLossWindow) return std::nullopt;
      (key == "lost" ? out.lost : out.settled) = static_cast<std::uint32_t>(value);
    } else if (key == "cost") {
      out.cost_bytes_per_second = value;
    } else if (key == "recent") {
      out.route_rtt_us = value;
    }
  }
  if (out.lost > out.settled) return std::nullopt;
  return out;
}

LinkMeasurement::LinkMeasurement(unsigned rate, std::chrono::nanoseconds timeout)
    : rate_(std::min(rate, 10u)) {
  if (rate_ > 0) period_ = std::chrono::nanoseconds(kSecond / rate_);
  timeout_ = timeout.count() > 0
                 ? timeout
                 : std::max<std::chrono::nanoseconds>(std::chrono::seconds(1), 2 * period_);
}

std::chrono::nanoseconds LinkMeasurement::dead_after_for(unsigned rate) noexcept {
  if (rate == 0) return std::chrono::nanoseconds::max();
  return std::max<std::chrono::nanoseconds>(kMinDeadAfter,
                                            std::chrono::nanoseconds(3 * kSecond / rate));
}

void LinkMeasurement::start(std::uint64_t now) {
  started_ = true;
  last_heard_ = now;
  next_probe_ = now;
  window_start_ = now;
}

bool LinkMeasurement::probe_due(std::uint64_t now) const noexcept {
  return started_ && rate_ > 0 && now >= next_probe_;
}

void LinkMeasurement::on_probe_sent(std::uint64_t now, std::uint64_t id, std::size_t bytes) {
  ++sent_;
  ++unanswered_since_heard_;
  // The next probe keeps the period even if this one was late (a busy loop), but never bursts.
  next_probe_ = std::max(next_probe_ + static_cast<std::uint64_t>(period_.count()),
                         now + static_cast<std::uint64_t>(period_.count()) / 2);
  outstanding_.push_back({id, now});
  add_cost(now, bytes);
}

void LinkMeasurement::on_probe_answered(std::uint64_t now, std::uint64_t id, std::size_t bytes) {
  add_cost(now, bytes);
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [id](const Outstanding &o) { return o.id == id; });
  if (it == outstanding_.end()) return;
  const std::uint64_t r = now > it->sent_at ? now - it->sent_at : 0;
  if (!usable_) {
    if (in_row_ == 0) row_start_ = it->sent_at;
    ++in_row_;
  }
  outstanding_.erase(it);
  ++answered_;
  last_heard_ = now;
  unanswered_since_heard_ = 0;
  recent_[recent_count_++ % kRecentRtts] = r;
  settle(false);
  if (!has_rtt_) {
    srtt_ns_ = r;
    rttvar_ns_ = r / 2;
    has_rtt_ = true;
  } else {
    // RFC 6298 2.3: RTTVAR first (with the old SRTT), beta = 1/4, alpha = 1/8.
    const std::uint64_t delta = srtt_ns_ > r ? srtt_ns_ - r : r - srtt_ns_;
    rttvar_ns_ = (3 * rttvar_ns_ + delta) / 4;
    srtt_ns_ = (7 * srtt_ns_ + r) / 8;
  }
}

void LinkMeasurement::on_probe_received(std::uint64_t now, std::size_t bytes) {
  ++sent_;
  ++answered_;
  last_heard_ = now;
  if (!usable_) ++in_row_;
  add_cost(now, bytes);
}

void LinkMeasurement::expire(std::uint64_t now) {
  const auto timeout = static_cast<std::uint64_t>(timeout_.count());
  while (!outstanding_.empty() && now - outstanding_.front().sent_at >= timeout) {
    // A probe sent since the row of answers began, lost: the row starts again. (Probes sent
    // while the link was blocked time out after it cleared; they do not break the row.)
    if (outstanding_.front().sent_at >= row_start_) in_row_ = 0;
    outstanding_.pop_front();
    settle(true);
  }
  add_cost(now, 0);
}

bool LinkMeasurement::dead(std::uint64_t now, bool dialer) const noexcept {
  if (!started_) return false;
  const unsigned rate = dialer ? rate_ : (peer_ ? peer_->rate : 0);
  if (rate == 0) return false;
  const auto silence = static_cast<std::uint64_t>(dead_after_for(rate).count());
  if (now < last_heard_ || now - last_heard_ < silence) return false;
  return !dialer || unanswered_since_heard_ >= kDeadProbes;
}

std::chrono::nanoseconds LinkMeasurement::unusable_after(bool dialer) const noexcept {
  std::chrono::nanoseconds bound = kMinUnusableAfter;
  if (dialer) {
    if (has_rtt_) bound = std::max(bound, std::chrono::nanoseconds(2 * srtt_ns_ + 4 * rttvar_ns_));
    return bound;
  }
  if (!peer_ || peer_->rate == 0) return std::chrono::nanoseconds::max();
  const std::uint64_t from_peer = 1000 * (2 * peer_->srtt_us + 4 * peer_->rttvar_us);
  bound = std::max(bound, std::chrono::nanoseconds(from_peer));
  return bound + std::chrono::nanoseconds(kSecond / peer_->rate);
}

bool LinkMeasurement::update_usable(std::uint64_t now, bool dialer) {
  if (!started_) return false;
  if (!usable_) {
    if (in_row_ < kUsableAfter) return false;
    usable_ = true;
    in_row_ = 0;
    return true;
  }
  if (dialer && rate_ == 0) return false;
  const auto bound = unusable_after(dialer);
  if (bound == std::chrono::nanoseconds::max()) return false;
  const auto limit = static_cast<std::uint64_t>(bound.count());
  bool silent = false;
  if (dialer) {
    // The oldest probe still waiting; or, once probes time out before the bound (a very slow
    // link), the time since the last answer with probes sent since.
    silent = (!outstanding_.empty() && now > outstanding_.front().sent_at &&
              now - outstanding_.front().sent_at > limit) ||
             (unanswered_since_heard_ > 0 && now > last_heard_ &&
              now - last_heard_ > limit + static_cast<std::uint64_t>(period_.count()));
  } else {
    silent = now > last_heard_ && now - last_heard_ > limit;
  }
  if (!silent) return false;
  usable_ = false;
  in_row_ = 0;
  return true;
}

LinkEstimate LinkMeasurement::estimate() const noexcept {
  LinkEstimate out;
  out.rate = rate_;
  out.srtt_us = srtt_ns_ / 1000;
  out.rttvar_us = rttvar_ns_ / 1000;
  out.settled = settled_;
  const std::uint64_t mask =
      settled_ >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << settled_) - 1;
  out.lost = static_cast<std::uint32_t>(__builtin_popcountll(history_ & mask));
  out.cost_bytes_per_second = cost_;
  out.probes_sent = sent_;
  out.probes_answered = answered_;
  // The routing RTT: the mean of the last kRecentRtts samples without the highest (see the
  // header for why); with fewer than 3 samples, their plain mean.
  const std::size_t n = std::min(recent_count_, kRecentRtts);
  if (n > 0) {
    std::uint64_t sum = 0;
    std::uint64_t highest = 0;
    for (std::size_t i = 0; i < n; ++i) {
      sum += recent_[i];
      highest = std::max(highest, recent_[i]);
    }
    const std::uint64_t mean = n >= 3 ? (sum - highest) / (n - 1) : sum / n;
    out.route_rtt_us = std::max<std::uint64_t>(mean / 1000, 1);
  }
  return out;
}

void LinkMeasurement::settle(bool lost) {
  history_ = (history_ << 1) | (lost ? 1u : 0u);
  if (settled_ < kLossWindow) ++settled_;
}

void LinkMeasurement::add_cost(std::uint64_t now, std::size_t bytes) {
  if (now >= window_start_ + kSecond) {
    // A window closes after at least a second: its bytes per second, then a new window that
    // holds what arrives now.
    const std::uint64_t span = now - window_start_;
    cost_ = window_bytes_ * kSecond / span;
    window_bytes_ = 0;
    window_start_ = now;
  }
  window_bytes_ += bytes;
}

}  // namespace flume::overlay
