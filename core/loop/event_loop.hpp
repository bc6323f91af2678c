// One thread's event loop: epoll for file descriptors, one timerfd for every timer, one eventfd
// for work handed over from other threads.
//
// Thread-safety rules:
// - post(), stop() and is_loop_thread() may be called from any thread, including from inside a
//   callback on the loop thread.
// - Everything else (watch/modify/unwatch, the timer calls, run/run_once) belongs to the loop
//   thread: the thread that last entered run(), or the constructing thread before that. Other
//   threads reach these through post().
// - Callbacks (fd, timer and posted ones) run on the loop thread only, one at a time, and never
//   while the loop holds its queue lock, so a callback may post(), stop(), watch, arm or remove
//   anything, including its own watch or timer.
// - The loop must outlive every post() and stop() aimed at it.
// - Callbacks must not throw: an exception leaves run() and leaves the loop in an unspecified
//   state.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace flume {

// Names one timer of one loop. A stale id (its timer removed) is ignored by every timer call, so
// a connection that outlives a removed timer cannot disturb the timer that reuses its slot.
struct TimerId {
  std::uint32_t index = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t generation = 0;

  bool valid() const noexcept { return index != std::numeric_limits<std::uint32_t>::max(); }
  friend bool operator==(TimerId, TimerId) = default;
};

class EventLoop {
 public:
  // Bits of the `events` argument to watch()/modify() and of what an fd callback receives.
  // Watches are level-triggered: a socket that stays readable keeps firing until drained, and a
  // writable watch should be dropped with modify() once there is nothing left to write.
  static constexpr std::uint32_t kReadable = 1u << 0;
  static constexpr std::uint32_t kWritable = 1u << 1;
  // Delivered (never requested): an error or hang-up on the fd. kReadable is set with it so a
  // callback that only reads still finds the error in its next read.
  static constexpr std::uint32_t kError = 1u << 2;

  // "No deadline", the same value ngtcp2_conn_get_expiry() returns when nothing is pending.
  static constexpr std::uint64_t kNoDeadline = std::numeric_limits<std::uint64_t>::max();

  using FdCallback = std::function<void(std::uint32_t events)>;
  using TimerCallback = std::function<void()>;
  using Task = std::function<void()>;

  // Throws std::system_error when the kernel refuses the epoll, timerfd or eventfd.
  EventLoop();
  ~EventLoop();  // Closes its own fds; watched fds stay open. Unrun posted tasks are destroyed.
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  // Current CLOCK_MONOTONIC time in ns: the clock of every deadline here and of ngtcp2's `ts`.
  static std::uint64_t now_ns() noexcept;

  // --- file descriptors (loop thread) ---
  // Starts calling `callback` while `fd` is ready for `events`. One watch per fd. The loop does
  // not own the fd: unwatch() before closing it.
  std::error_code watch(int fd, std::uint32_t events, FdCallback callback);
  std::error_code modify(int fd, std::uint32_t events);
  // No-op for an fd that is not watched. Safe from inside that fd's own callback.
  void unwatch(int fd) noexcept;

  // --- timers (loop thread) ---
  // Timers are one-shot and start disarmed; arming an armed timer moves it. Arming, moving and
  // disarming never allocate and cost O(log n); the timerfd is reprogrammed at most once per
  // loop iteration, however often timers move in between.
  TimerId add_timer(TimerCallback callback);
  // Fires at `deadline_ns` on now_ns()'s clock (a past deadline fires on the next iteration).
  // kNoDeadline disarms, so ngtcp2's expiry can be passed straight in.
  void arm_at(TimerId id, std::uint64_t deadline_ns) noexcept;
  void arm_after(TimerId id, std::chrono::nanoseconds delay) noexcept;
  void disarm(TimerId id) noexcept;
  void remove_timer(TimerId id) noexcept;  // Safe from inside the timer's own callback.
  bool is_armed(TimerId id) const noexcept;

  // --- running ---
  // Runs until stop(). The calling thread becomes the loop thread. A stop() that arrives before
  // run() is entered makes it return at once; run() clears the request when it returns.
  void run();
  // One iteration: waits up to `timeout` (or until an fd, timer or post wakes it), then runs
  // everything that is ready. Returns the number of callbacks run (fd, timer and posted).
  std::size_t run_once(std::chrono::milliseconds timeout);

  // --- any thread ---
  // Runs `task` on the loop thread, after every task posted before it (FIFO per loop).
  void post(Task task);
  // Makes run() return once the current iteration ends.
  void stop() noexcept;
  bool is_loop_thread() const noexcept;
  // Makes the calling thread the loop's thread. Only while no thread is inside run(): a
  // LoopThread hands its stopped loop to the thread that joined it, which may then run what
  // was posted too late and tear the loop's objects down.
  void adopt_current_thread() noexcept;

 private:
  struct Watch;
  struct TimerSlot;

  std::size_t iterate(int timeout_ms);
  std::size_t dispatch_fd(std::uint64_t tag, std::uint32_t epoll_events);
  std::size_t run_due_timers();
  std::size_t run_posted();
  void program_timerfd();
  void wake() noexcept;
  void close_fds() noexcept;

  // Min-heap of armed timer slot indices, keyed by (deadline, arm sequence) so equal deadlines
  // fire in the order they were armed.
  bool heap_less(std::uint32_t a, std::uint32_t b) const noexcept;
  void heap_place(std::size_t pos, std::uint32_t slot) noexcept;
  void heap_sift_up(std::size_t pos) noexcept;
  void heap_sift_down(std::size_t pos) noexcept;
  void heap_remove(std::size_t pos) noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;   // eventfd
  int timer_fd_ = -1;  // timerfd on CLOCK_MONOTONIC, absolute deadlines
  std::atomic<std::thread::id> owner_;
  std::atomic<bool> stop_requested_{false};

  // fd watches live in slots addressed by (index, generation) in epoll's user data, so an event
  // already returned by epoll_wait for a watch removed earlier in the same batch is recognised
  // as stale instead of reaching a dead or reused callback.
  std::vector<Watch> watches_;
  std::vector<std::uint32_t> free_watches_;
  std::unordered_map<int, std::uint32_t> watch_by_fd_;

  std::vector<TimerSlot> timers_;
  std::vector<std::uint32_t> free_timers_;
  std::vector<std::uint32_t> heap_;  // capacity kept >= timers_.size(): arming never allocates
  std::uint64_t arm_sequence_ = 0;
  std::uint64_t expiry_pass_ = 0;
  std::uint64_t programmed_deadline_ = kNoDeadline;  // what the timerfd is set to

  std::array<epoll_event, 64> events_{};

  std::mutex queue_mutex_;
  std::vector<Task> queue_;    // guarded by queue_mutex_
  bool wake_pending_ = false;  // guarded by queue_mutex_: the eventfd is already signalled
  std::vector<Task> running_;  // loop thread only; swapped with queue_ to keep capacity
};

// Owns a std::thread that runs one EventLoop. The loop is created (and usable through post())
// before start(); before start() the constructing thread counts as the loop thread.
class LoopThread {
 public:
  explicit LoopThread(std::string name = "flume-loop");  // Linux truncates names to 15 bytes
  ~LoopThread();                                         // stop()
  LoopThread(const LoopThread &) = delete;
  LoopThread &operator=(const LoopThread &) = delete;

  // Starts the thread and returns once the loop is running on it. No-op if already running.
  void start();
  // Posts a stop behind every task already posted, so those still run, then joins. From the
  // loop thread itself it only requests the stop (a thread cannot join itself); join() later.
  void stop();
  // Waits for the thread to end (after stop() or a loop.stop() from anywhere); the loop then
  // belongs to the joining thread.
  void join();
  bool running() const noexcept { return thread_.joinable(); }

  EventLoop &loop() noexcept { return loop_; }

 private:
  std::string name_;
  EventLoop loop_;
  std::thread thread_;
  std::atomic<std::uint64_t> generation_{0};  // which start() a posted stop belongs to
};

}  // namespace flume
