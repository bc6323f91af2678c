#include "quic/address_limits.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace flume::quic {

namespace {

constexpr std::uint64_t kMilli = 1000;
constexpr std::uint8_t kFamilyV4 = 4;
constexpr std::uint8_t kFamilyV6 = 6;

bool is_v4_mapped(const in6_addr &a) noexcept {
  static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.s6_addr, prefix, sizeof prefix) == 0;
}

}  // namespace

AddressLimits::Key AddressLimits::key_of(const SocketAddress &address) noexcept {
  Key key;
  if (address.family() == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(&address.storage);
    std::memcpy(key.bytes.data() + 12, &v4->sin_addr, 4);
    key.bytes[16] = kFamilyV4;
  } else if (address.family() == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address.storage);
    if (is_v4_mapped(v6->sin6_addr)) {
      std::memcpy(key.bytes.data() + 12, v6->sin6_addr.s6_addr + 12, 4);
      key.bytes[16] = kFamilyV4;
    } else {
      std::memcpy(key.bytes.data(), v6->sin6_addr.s6_addr, 8);  // the /64
      key.bytes[16] = kFamilyV6;
    }
  }
  return key;
}

bool AddressLimits::applies_to(const SocketAddress &address) const noexcept {
  if (config_.limit_loopback) return true;
  const Key key = key_of(address);
  if (key.bytes[16] == kFamilyV4) return key.bytes[12] != 127;
  if (key.bytes[16] == kFamilyV6 && address.family() == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address.storage);
    return !IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  }
  return true;
}

std::size_t AddressLimits::KeyHash::operator()(const Key &key) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: short keys, no need for more
  for (std::uint8_t b : key.bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return static_cast<std::size_t>(h);
}

std::uint64_t AddressLimits::capacity_milli() const noexcept {
  return std::uint64_t{std::max<std::uint32_t>(config_.handshake_burst, 1)} * kMilli;
}

void AddressLimits::refill(Entry &entry, std::uint64_t now_ns) const noexcept {
  if (now_ns <= entry.refilled_ns) return;
  const std::uint64_t elapsed = now_ns - entry.refilled_ns;
  // rate handshakes a second = rate thousandths a millisecond; whole milliseconds only, so the
  // remainder carries over instead of being lost to rounding.
  const std::uint64_t ms = elapsed / 1'000'000;
  if (ms == 0) return;
  const std::uint64_t added = ms * config_.handshakes_per_second;
  for (std::uint64_t *bucket : {&entry.unproven_milli, &entry.retry_milli, &entry.proven_milli})
    *bucket = std::min(capacity_milli(), *bucket + added);
  entry.refilled_ns += ms * 1'000'000;
}

AddressLimits::Verdict AddressLimits::check(const Key &key, bool address_validated,
                                            std::uint64_t now_ns) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Verdict::admit;  // unknown: a full bucket, no connections
  Entry &entry = it->second;
  if (config_.max_connections_per_address != 0 &&
      entry.connections >= config_.max_connections_per_address) {
    return Verdict::refuse_connections;
  }
  if (config_.handshakes_per_second == 0) return Verdict::admit;
  refill(entry, now_ns);
  if (address_validated) {
    return entry.proven_milli >= kMilli ? Verdict::admit : Verdict::refuse_rate;
  }
  if (entry.unproven_milli >= kMilli) return Verdict::admit;
  if (entry.retry_milli < kMilli) return Verdict::drop;
  entry.retry_milli -= kMilli;
  return Verdict::retry;
}

bool AddressLimits::opened(const Key &key, bool address_validated, std::uint64_t now_ns) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= config_.max_tracked_addresses && !make_room(now_ns)) {
      ++untracked_admissions_;
      return false;
    }
    const std::uint64_t full = capacity_milli();
    it = entries_.emplace(key, Entry{0, full, full, full, now_ns}).first;
  }
  Entry &entry = it->second;
  ++entry.connections;
  if (config_.handshakes_per_second != 0) {
    refill(entry, now_ns);
    std::uint64_t &bucket = address_validated ? entry.proven_milli : entry.unproven_milli;
    bucket -= std::min(bucket, kMilli);
  }
  return true;
}

void AddressLimits::closed(const Key &key) noexcept {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;  // admitted untracked
  if (it->second.connections > 0) --it->second.connections;
}

bool AddressLimits::make_room(std::uint64_t now_ns) {
  // A sweep over the table, at most once per time it is found full: O(n) then, amortised over
  // the entries it frees (every idle one), and nothing in the common case.
  if (now_ns < next_sweep_ns_) return false;
  const std::size_t before = entries_.size();
  for (auto it = entries_.begin(); it != entries_.end();) {
    refill(it->second, now_ns);
    const Entry &e = it->second;
    const std::uint64_t full = capacity_milli();
    if (e.connections == 0 && e.unproven_milli >= full && e.retry_milli >= full &&
        e.proven_milli >= full) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (entries_.size() < before && entries_.size() < config_.max_tracked_addresses) return true;
  next_sweep_ns_ = now_ns + 1'000'000'000;
  return false;
}

}  // namespace flume::quic
