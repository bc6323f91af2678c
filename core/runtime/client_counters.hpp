// The counters behind Client::stats(). They are bumped from the application's threads (publish)
// and from the loop thread (everything else); each is its own atomic so no part of the client
// takes a lock to count. stats() reads each counter once: a snapshot per counter, not of all of
// them at one instant.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/client.hpp"

namespace flume {

struct ClientCounters {
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> dropped_by_broker{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> publish_errors{0};
  std::atomic<std::uint64_t> publishes_unsent{0};
  std::atomic<bool> connected{false};

  static void add(std::atomic<std::uint64_t> &counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  ClientStats snapshot() const noexcept {
    constexpr auto relaxed = std::memory_order_relaxed;
    ClientStats stats;
    stats.messages_out = messages_out.load(relaxed);
    stats.bytes_out = bytes_out.load(relaxed);
    stats.messages_in = messages_in.load(relaxed);
    stats.bytes_in = bytes_in.load(relaxed);
    stats.dropped_by_broker = dropped_by_broker.load(relaxed);
    stats.reconnects = reconnects.load(relaxed);
    stats.publish_errors = publish_errors.load(relaxed);
    stats.publishes_unsent = publishes_unsent.load(relaxed);
    stats.connected = connected.load(relaxed);
    return stats;
  }
};

}  // namespace flume
