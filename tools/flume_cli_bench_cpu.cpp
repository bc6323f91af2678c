// flume bench --broker-pid: the broker's own CPU time, so a result does not depend on how many
// cores the load generator took from it. Read from the scheduler's per-thread counters
// (/proc/PID/task/TID/schedstat, nanoseconds on a CPU) rather than utime/stime, whose 10 ms
// ticks are too coarse for a few seconds of a mostly idle broker.
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "flume_cli_bench.hpp"
#include "text/parse_number.hpp"

namespace flume::cli::bench {

std::optional<std::uint64_t> read_process_cpu_ns(long pid) {
  if (pid <= 0) return std::nullopt;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  std::filesystem::directory_iterator it(tasks, error);
  if (error) return std::nullopt;
  std::uint64_t total = 0;
  bool any = false;
  for (const auto &task : it) {
    std::ifstream schedstat(task.path() / "schedstat");
    std::string first;                    // "<ns on cpu> <ns waiting> <timeslices>"
    if (!(schedstat >> first)) continue;  // the thread ended meanwhile
    if (auto ns = text::parse_whole(first, 0, ~0ULL)) {
      total += *ns;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return total;
}

}  // namespace flume::cli::bench
