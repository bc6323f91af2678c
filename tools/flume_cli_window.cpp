// PublishWindow: bounded fire-and-forget publishing with an account of what the broker confirmed
// (see flume_cli.hpp).
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "flume_cli.hpp"

namespace flume::cli {
namespace {
// Large payloads end a window early, so two windows stay a few MiB.
constexpr std::size_t kMaxWindowBytes = 4 << 20;
// A slow publisher (lines typed, a trickle on stdin) ends a window after this long, so a lost
// connection puts at most this much of its past in doubt, not everything since it started.
constexpr std::chrono::milliseconds kMaxWindowAge{200};
}  // namespace

struct PublishWindow::State {
  // Messages published between two flushes, and the client's reconnect count when the first of
  // them was published: a flush that succeeds on a later connection says nothing about the ones
  // that went out on the connection lost meanwhile.
  struct Window {
    std::uint64_t messages = 0;
    std::uint64_t reconnects_at_start = 0;
    std::chrono::steady_clock::time_point opened{};
  };

  Client &client;
  std::size_t window;
  std::chrono::milliseconds flush_timeout;
  FlushFailure on_failure;
  Window open;  // publisher's thread only
  std::size_t bytes_in_window = 0;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Window> waiting;   // closed windows whose flush has not finished, oldest first
  std::uint64_t requested = 0;  // windows closed
  std::uint64_t completed = 0;  // their flushes done
  PublishAccount account;
  ClientResult error;  // the first failed flush (FlushFailure::stop only)
  bool stop = false;
  std::thread flusher;

  State(Client &c, std::size_t w, std::chrono::milliseconds timeout, FlushFailure failure)
      : client(c), window(w), flush_timeout(timeout), on_failure(failure) {
    flusher = std::thread([this] { run(); });
  }

  // Flushes and sorts `closed`'s messages into confirmed or in doubt. Called without `mutex`.
  ClientResult confirm(const Window &closed) {
    ClientResult result = client.flush(flush_timeout);
    const bool same_connection = client.stats().reconnects == closed.reconnects_at_start;
    std::lock_guard lock(mutex);
    if (result.ok() && same_connection) {
      account.confirmed += closed.messages;
    } else {
      account.in_doubt += closed.messages;
      if (result.ok()) {
        result = ClientResult{ClientStatus::not_connected,
                              "the connection was lost before the broker confirmed them"};
      }
      if (account.first_doubt.empty()) account.first_doubt = result.message;
    }
    return result;
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stop || !waiting.empty(); });
      if (stop) return;
      const Window closed = waiting.front();
      lock.unlock();
      ClientResult result = confirm(closed);
      lock.lock();
      waiting.pop_front();
      ++completed;
      if (!result.ok() && on_failure == FlushFailure::stop && error.ok()) error = std::move(result);
      changed.notify_all();
    }
  }
};

PublishWindow::PublishWindow(Client &client, std::size_t window,
                             std::chrono::milliseconds flush_timeout, FlushFailure on_failure)
    : state_(std::make_unique<State>(client, window, flush_timeout, on_failure)) {}

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
  const auto now = std::chrono::steady_clock::now();
  if (s.open.messages == 0) {
    s.open.reconnects_at_start = s.client.stats().reconnects;
    s.open.opened = now;
  }
  s.bytes_in_window += bytes;
  if (++s.open.messages < s.window && s.bytes_in_window < kMaxWindowBytes &&
      now - s.open.opened < kMaxWindowAge) {
    return {};
  }
  const State::Window closed = std::exchange(s.open, {});
  s.bytes_in_window = 0;
  std::unique_lock lock(s.mutex);
  s.waiting.push_back(closed);
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
  const State::Window last = std::exchange(s.open, {});
  s.bytes_in_window = 0;
  ClientResult result = s.confirm(last);
  return s.on_failure == FlushFailure::stop ? result : ClientResult{};
}

PublishAccount PublishWindow::account() const {
  std::lock_guard lock(state_->mutex);
  return state_->account;
}

}  // namespace flume::cli
