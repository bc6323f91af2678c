// Per-source-address admission for a server endpoint: how many connections one address may hold
// and how fast it may start handshakes (token buckets). A flood from one address then costs the
// server a table lookup per Initial, not a connection and a TLS handshake, while clients at other
// addresses keep connecting.
//
// Three buckets per address, each `handshake_burst` deep and refilled at `handshakes_per_second`:
// - new connections from an unproven address (an Initial without our Retry token);
// - Retries: once the first is empty, an Initial is answered with a Retry so a real client can
//   prove its address; past this bucket too, Initials are dropped without an answer. A Retry
//   costs a token encryption and an integrity tag (tens of microseconds), so answering every
//   packet of a flood would make the flood expensive for us instead of for the sender;
// - new connections from a proven address (with our Retry token). A flood that spoofs a
//   victim's address empties the first bucket but never sees the Retries, so the victim, who
//   does, still gets in through this one; a sender flooding from its real address gets through
//   both and is then refused with CONNECTION_REFUSED.
//
// An "address" is an IPv4 address, or the /64 prefix of an IPv6 one: a single IPv6 host usually
// holds a whole /64 and could otherwise pick a fresh address per connection. An IPv4 peer of a
// dual-stack socket (v4-mapped) counts as IPv4.
//
// Memory is bounded: at most `max_tracked_addresses` entries. Entries with no connection and a
// full bucket carry no information and are dropped first; when every entry is busy, a new
// address is admitted without per-address limits (counted in untracked_admissions) rather than
// refused: a table full of one attacker's addresses must not lock out everyone else, and the
// endpoint's global limits (max_connections, the Retry threshold) still hold. Sans-I/O: the
// caller passes the time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "net/udp_socket.hpp"

namespace flume::quic {

struct AddressLimitsConfig {
  // Live connections (handshaking ones included) from one address; 0: no limit.
  std::size_t max_connections_per_address = 1000;
  // New connections per second one address may start, and how many at once (the bucket's
  // size); rate 0: no limit. A NAT can put many clients behind one address, so the defaults
  // are generous: they stop a flood (thousands a second), not a busy office.
  std::uint32_t handshakes_per_second = 100;
  std::uint32_t handshake_burst = 200;
  std::size_t max_tracked_addresses = 65536;
  // Loopback peers (127.0.0.0/8, ::1) are the machine's own: benchmarks and local tools open
  // hundreds of connections from one address on purpose. Off by default for them.
  bool limit_loopback = false;
};

class AddressLimits {
 public:
  // The address as the limits see it: 16 bytes, IPv4 in the last 4 (first 12 zero), IPv6 /64
  // in the first 8 with the rest zero, and a family byte so the two never collide.
  struct Key {
    std::array<std::uint8_t, 17> bytes{};
    friend bool operator==(const Key &, const Key &) = default;
  };
  static Key key_of(const SocketAddress &address) noexcept;
  // Whether `address` is subject to the limits at all (see limit_loopback).
  bool applies_to(const SocketAddress &address) const noexcept;

  enum class Verdict : std::uint8_t {
    admit,
    retry,               // over the rate, not proven: answer with a Retry
    drop,                // over the rate, not proven, and over the Retry rate too: no answer
    refuse_connections,  // the address holds max_connections_per_address already
    refuse_rate,         // over the rate with a proven address
  };

  explicit AddressLimits(AddressLimitsConfig config) noexcept : config_(config) {}

  // Whether a new connection from `key` may start now. `address_validated`: the Initial carried
  // our Retry token, so the source address is real (not spoofed). A `retry` verdict takes a
  // token from the Retry bucket; nothing else changes.
  Verdict check(const Key &key, bool address_validated, std::uint64_t now_ns);
  // A connection from `key` was created: takes a token from the bucket check() judged it by.
  // False when it could not be tracked (the table is full of busy entries); then do not call
  // closed() for it.
  bool opened(const Key &key, bool address_validated, std::uint64_t now_ns);
  // A connection opened() tracked is gone.
  void closed(const Key &key) noexcept;

  std::size_t tracked() const noexcept { return entries_.size(); }
  std::uint64_t untracked_admissions() const noexcept { return untracked_admissions_; }
  const AddressLimitsConfig &config() const noexcept { return config_; }

 private:
  // Thousandths of a handshake, so slow rates refill smoothly.
  struct Entry {
    std::size_t connections = 0;
    std::uint64_t unproven_milli = 0;
    std::uint64_t retry_milli = 0;
    std::uint64_t proven_milli = 0;
    std::uint64_t refilled_ns = 0;
  };
  struct KeyHash {
    std::size_t operator()(const Key &key) const noexcept;
  };

  std::uint64_t capacity_milli() const noexcept;
  void refill(Entry &entry, std::uint64_t now_ns) const noexcept;
  // Makes room for one more entry; false when every entry is busy.
  bool make_room(std::uint64_t now_ns);

  AddressLimitsConfig config_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::uint64_t untracked_admissions_ = 0;
  // After a sweep that freed nothing, the next waits a second: under a flood of new addresses a
  // full table must not cost a sweep per Initial.
  std::uint64_t next_sweep_ns_ = 0;
};

}  // namespace flume::quic
