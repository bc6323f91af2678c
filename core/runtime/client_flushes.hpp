// FlushTracker: what flush() waits for. A flush is a PING through the session; the broker's PONG
// says everything sent before it was processed. The tracker hands out flush ids on the
// application's thread, maps the PING's token to the id on the loop thread, and keeps each
// result until its waiter collects it, or drops it when the waiter gave up (timed out).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "runtime/client.hpp"

namespace flume {

class FlushTracker {
 public:
  // Any thread. A new flush id; none once closed.
  std::optional<std::uint32_t> begin();
  // Any thread. Waits up to `timeout` for flush `id`'s result.
  ClientResult wait(std::uint32_t id, std::chrono::milliseconds timeout);
  // Wakes every waiter with `closed`; begin() refuses from now on.
  void close();

  // Loop thread. The flush's PING left with `token`.
  void sent(std::uint64_t token, std::uint32_t id);
  // Loop thread. The PONG for `token` came: that flush succeeded.
  void answered(std::uint64_t token);
  // Loop thread. Flush `id` ended without a PING (`result` says why).
  void finish(std::uint32_t id, ClientResult result);
  // Loop thread. The connection is gone: every flush in flight ends with `result`.
  void fail_all(const ClientResult &result);

 private:
  // Under mutex_.
  void store(std::uint32_t id, ClientResult result);

  std::map<std::uint64_t, std::uint32_t> pings_;  // loop thread only: PING token -> flush id

  std::mutex mutex_;
  std::condition_variable done_;
  bool closed_ = false;
  std::uint32_t next_id_ = 1;
  std::map<std::uint32_t, ClientResult> results_;  // finished flushes, by id
  std::set<std::uint32_t> abandoned_;              // timed out: their results are not kept
};

}  // namespace flume
