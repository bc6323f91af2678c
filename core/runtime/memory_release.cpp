#include "runtime/memory_release.hpp"

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace flume {

bool MemoryReleaser::tick(std::size_t recent_peak, std::size_t now) noexcept {
  peak_ = std::max({peak_, recent_peak, now});
  if (peak_ >= kMinPeak && now <= peak_ / 2) {
    peak_ = now;
    follow_up_ = kFollowUpTicks;
    return true;
  }
  if (follow_up_ > 0 && --follow_up_ == 0) return true;
  return false;
}

bool release_free_memory() noexcept {
#if defined(__GLIBC__)
  return ::malloc_trim(0) != 0;
#else
  return false;
#endif
}

}  // namespace flume
