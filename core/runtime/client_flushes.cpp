#include "runtime/client_flushes.hpp"

namespace flume {

std::optional<std::uint32_t> FlushTracker::begin() {
  std::lock_guard lock(mutex_);
  if (closed_) return std::nullopt;
  return next_id_++;
}

ClientResult FlushTracker::wait(std::uint32_t id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  done_.wait_for(lock, timeout, [&] { return results_.count(id) != 0 || closed_; });
  auto it = results_.find(id);
  if (it != results_.end()) {
    ClientResult result = std::move(it->second);
    results_.erase(it);
    return result;
  }
  abandoned_.insert(id);  // its result may still come: not kept for anyone
  if (closed_) return ClientResult{ClientStatus::closed, "the client is closed"};
  return ClientResult{ClientStatus::timeout, "the broker did not confirm the flush within " +
                                                 std::to_string(timeout.count()) + " ms"};
}

void FlushTracker::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  done_.notify_all();
}

void FlushTracker::sent(std::uint64_t token, std::uint32_t id) {
  pings_[token] = id;
}

void FlushTracker::answered(std::uint64_t token) {
  auto it = pings_.find(token);
  if (it == pings_.end()) return;
  const std::uint32_t id = it->second;
  pings_.erase(it);
  finish(id, ClientResult{});
}

void FlushTracker::finish(std::uint32_t id, ClientResult result) {
  {
    std::lock_guard lock(mutex_);
    store(id, std::move(result));
  }
  done_.notify_all();
}

void FlushTracker::fail_all(const ClientResult &result) {
  {
    std::lock_guard lock(mutex_);
    for (auto &[token, id] : pings_)
      store(id, result);
  }
  pings_.clear();
  done_.notify_all();
}

void FlushTracker::store(std::uint32_t id, ClientResult result) {
  if (abandoned_.erase(id) == 0) results_[id] = std::move(result);
}

}  // namespace flume
