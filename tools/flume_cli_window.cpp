// PublishWindow: bounded fire-and-forget publishing (see flume_cli.hpp).
#include <condition_variable>
#include <mutex>
#include <thread>

#include "flume_cli.hpp"

namespace flume::cli {
namespace {
// Large payloads end a window early, so two windows stay a few MiB.
constexpr std::size_t kMaxWindowBytes = 4 << 20;
}  // namespace

struct PublishWindow::State {
  Client &client;
  std::size_t window;
  std::chrono::milliseconds flush_timeout;
  std::size_t in_window = 0;
  std::size_t bytes_in_window = 0;

  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t requested = 0;  // window boundaries passed
  std::uint64_t completed = 0;  // their flushes done
  ClientResult error;
  bool stop = false;
  std::thread flusher;

  State(Client &c, std::size_t w, std::chrono::milliseconds timeout)
      : client(c), window(w), flush_timeout(timeout) {
    flusher = std::thread([this] { run(); });
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stop || requested > completed; });
      if (stop) return;
      lock.unlock();
      ClientResult result = client.flush(flush_timeout);
      lock.lock();
      ++completed;
      if (!result.ok() && error.ok()) error = std::move(result);
      changed.notify_all();
    }
  }
};

PublishWindow::PublishWindow(Client &client, std::size_t window,
                             std::chrono::milliseconds flush_timeout)
    : state_(std::make_unique<State>(client, window, flush_timeout)) {}

PublishWindow::~PublishWindow() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->changed.notify_all();
  state_->flusher.join();
}

ClientResult PublishWindow::published(std::size_t bytes) {
  State &s = *state_;
  s.bytes_in_window += bytes;
  if (++s.in_window < s.window && s.bytes_in_window < kMaxWindowBytes) return {};
  s.in_window = 0;
  s.bytes_in_window = 0;
  std::unique_lock lock(s.mutex);
  ++s.requested;
  s.changed.notify_all();
  // The flush of the previous window must be done: at most two windows are unconfirmed.
  s.changed.wait(lock, [&] { return s.completed + 1 >= s.requested || !s.error.ok(); });
  return s.error;
}

ClientResult PublishWindow::finish() {
  State &s = *state_;
  {
    std::unique_lock lock(s.mutex);
    s.changed.wait(lock, [&] { return s.completed == s.requested || !s.error.ok(); });
    if (!s.error.ok()) return s.error;
  }
  return s.client.flush(s.flush_timeout);
}

}  // namespace flume::cli
