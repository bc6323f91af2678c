// Giving freed memory back to the system after the broker's queues shrink.
//
// glibc's malloc keeps what the program frees in its arenas for reuse: only a free stretch at
// the very top of the main heap is returned by itself (M_TRIM_THRESHOLD), and allocations below
// the mmap threshold (128 KiB, rising to 32 MiB as large blocks are freed) never go back. The
// broker's queued messages are exactly such allocations, interleaved with long-lived ones, so a
// burst of paused subscribers left the process at its peak RSS for good after they resumed or
// left (issue 10). malloc_trim(0) releases the free pages inside the heaps (MADV_DONTNEED) too.
//
// It walks every arena, so it is not called per message: the broker's one-second timer asks
// MemoryReleaser whether the queues fell to half of what they held at their peak since the last
// release (and that peak was worth it), and then once more a few ticks later, because the
// connections of subscribers that left free their transport buffers only after their close.
#pragma once

#include <cstddef>

namespace flume {

class MemoryReleaser {
 public:
  // A peak below this is not worth a walk of the heaps.
  static constexpr std::size_t kMinPeak = std::size_t{8} << 20;
  // Ticks after a release at which it is repeated once.
  static constexpr int kFollowUpTicks = 3;

  // One tick: `recent_peak` is the high-water mark of the counted bytes since the previous
  // tick, `now` what is counted now. True when freed memory should be released now.
  bool tick(std::size_t recent_peak, std::size_t now) noexcept;

 private:
  std::size_t peak_ = 0;  // since the last release
  int follow_up_ = 0;
};

// malloc_trim(0) where the C library has it (glibc); nothing elsewhere. Returns whether it
// released anything.
bool release_free_memory() noexcept;

}  // namespace flume
