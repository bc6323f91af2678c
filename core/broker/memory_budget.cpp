#include "broker/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace flume::broker {
namespace {

// A cgroup limit file's value: a number of bytes, or nothing for "max" / unreadable. cgroup v1
// writes "unlimited" as a huge number (PAGE_COUNTER_MAX pages); anything past 2^60 is that.
std::optional<std::size_t> read_limit(const std::string &path) {
  std::ifstream in(path);
  std::string text;
  if (!in || !(in >> text) || text.empty() || text == "max") return std::nullopt;
  try {
    std::size_t used = 0;
    const unsigned long long value = std::stoull(text, &used);
    if (used != text.size() || value == 0 || value >= (1ull << 60)) return std::nullopt;
    return static_cast<std::size_t>(value);
  } catch (...) {
    return std::nullopt;
  }
}

void take_min(std::optional<std::size_t> &limit, std::optional<std::size_t> value) {
  if (value && (!limit || *value < *limit)) limit = value;
}

// The tightest memory limit of this process's cgroup and its parents, if any.
std::optional<std::size_t> cgroup_memory_limit() {
  std::optional<std::size_t> limit;
  // Inside a container the cgroup namespace's root is the container's own cgroup.
  take_min(limit, read_limit("/sys/fs/cgroup/memory.max"));
  take_min(limit, read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  for (int lines = 0; lines < 64 && std::getline(in, line); ++lines) {
    const bool v2 = line.rfind("0::", 0) == 0;
    const auto memory = line.find(":memory:");
    if (!v2 && memory == std::string::npos) continue;
    std::string path = v2 ? line.substr(3) : line.substr(memory + 8);
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    const std::string file = v2 ? "/memory.max" : "/memory.limit_in_bytes";
    // The cgroup and each parent: a parent's limit binds its children too. Bounded by depth.
    for (int depth = 0; depth < 64 && path.size() > 1; ++depth) {
      take_min(limit, read_limit(root + path + file));
      const auto slash = path.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      path.resize(slash);
    }
  }
  return limit;
}

}  // namespace

std::size_t default_memory_budget(std::size_t physical,
                                  std::optional<std::size_t> cgroup_limit) noexcept {
  std::size_t machine = physical;
  if (cgroup_limit && (machine == 0 || *cgroup_limit < machine)) machine = *cgroup_limit;
  return std::max(machine / 4, kMinDefaultMemoryBudget);
}

std::size_t default_memory_budget() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const std::size_t physical = pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) *
                                                                static_cast<std::size_t>(page_size)
                                                          : 0;
  std::optional<std::size_t> cgroup;
  try {
    cgroup = cgroup_memory_limit();
  } catch (...) {
    // No cgroup limit known: physical memory alone.
  }
  return default_memory_budget(physical, cgroup);
}

}  // namespace flume::broker
