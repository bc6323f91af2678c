// The broker-wide memory budget: what the delivery queues of all connections hold together, and
// the default limit for it taken from the machine.
//
// What is counted (MemoryAccount): each MESSAGE buffer a delivery queue holds, once however many
// queues hold it (fan-out shares one buffer; SharedBuffer counts its holders), at its allocation
// size (frame bytes + SharedBuffer::kHeaderSize + kAllocatorOverhead), plus kQueueEntryCost for
// every queue entry referring to it. Not counted: the frames QUIC holds after the broker handed
// them over (per subscription stream at most stream_window_bytes unsent plus what the peer's
// flow-control window lets fly), publish bytes held before HELLO (bounded per connection),
// connection and router state; those are bounded by the per-stream and per-connection limits
// and are the fixed overhead on top of the budget (docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace flume::broker {

// malloc's chunk header and rounding to 16 bytes, per allocation (glibc: 8 + up to 15).
inline constexpr std::size_t kAllocatorOverhead = 16;

struct MemoryAccount {
  std::size_t bytes = 0;        // counted now
  std::size_t peak = 0;         // high-water mark since the start
  std::size_t recent_peak = 0;  // high-water mark since take_recent_peak()

  void add(std::size_t n) noexcept {
    bytes += n;
    if (bytes > peak) peak = bytes;
    if (bytes > recent_peak) recent_peak = bytes;
  }
  void sub(std::size_t n) noexcept { bytes -= n; }
  std::size_t take_recent_peak() noexcept {
    const std::size_t out = recent_peak;
    recent_peak = bytes;
    return out;
  }
};

// The default budget for a machine with `physical` bytes of RAM and, if set, a cgroup memory
// limit: a quarter of the smaller, at least kMinDefaultMemoryBudget. A quarter because the
// counted queues are not all the broker holds: the transport's per-stream buffers, connection
// state and the allocator's own slack (fragmentation can make RSS up to about twice the bytes
// in use) come on top, and the machine (or container) has other work; it is the same fraction
// the JVM takes for its default heap limit, for the same reasons.
inline constexpr std::size_t kMinDefaultMemoryBudget = std::size_t{64} << 20;
std::size_t default_memory_budget(std::size_t physical,
                                  std::optional<std::size_t> cgroup_limit) noexcept;

// The same for this machine: physical memory from sysconf(_SC_PHYS_PAGES), the limit of this
// process's cgroup (v2 memory.max of its cgroup and every parent, or v1 memory.limit_in_bytes).
std::size_t default_memory_budget() noexcept;

}  // namespace flume::broker
