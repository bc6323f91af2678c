#include "loop/event_loop.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <ctime>
#include <future>
#include <utility>

namespace flume {

namespace {

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();
// epoll user data of the loop's own fds; watches use (generation << 32 | index) and a watch
// index never reaches these values.
constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};
constexpr std::uint64_t kTimerTag = ~std::uint64_t{0} - 1;

std::uint64_t make_tag(std::uint32_t index, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | index;
}

std::uint32_t to_epoll(std::uint32_t events) {
  std::uint32_t out = 0;
  if (events & EventLoop::kReadable) out |= EPOLLIN;
  if (events & EventLoop::kWritable) out |= EPOLLOUT;
  return out;
}

std::uint32_t from_epoll(std::uint32_t events) {
  std::uint32_t out = 0;
  if (events & EPOLLIN) out |= EventLoop::kReadable;
  if (events & EPOLLOUT) out |= EventLoop::kWritable;
  if (events & (EPOLLERR | EPOLLHUP)) out |= EventLoop::kError | EventLoop::kReadable;
  return out;
}

[[noreturn]] void throw_errno(const char *what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

struct EventLoop::Watch {
  int fd = -1;
  std::uint32_t generation = 0;
  FdCallback callback;  // empty while free, and while its own callback runs
};

struct EventLoop::TimerSlot {
  std::uint64_t deadline = kNoDeadline;
  std::uint64_t sequence = 0;
  std::uint64_t fired_pass = 0;  // the expiry pass it last fired in (see run_due_timers)
  std::uint32_t generation = 0;
  std::uint32_t heap_pos = kNoSlot;  // kNoSlot: disarmed
  bool in_use = false;
  TimerCallback callback;
};

EventLoop::EventLoop() : owner_(std::this_thread::get_id()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (wake_fd_ < 0 || timer_fd_ < 0) {
    int saved = errno;
    close_fds();  // the destructor does not run for a constructor that throws
    errno = saved;
    throw_errno(wake_fd_ < 0 ? "eventfd" : "timerfd_create");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kTimerTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
}

EventLoop::~EventLoop() {
  close_fds();
  // Task destructors may post(); destroy them outside the lock.
  std::vector<Task> leftover;
  {
    std::lock_guard lock(queue_mutex_);
    leftover.swap(queue_);
  }
}

void EventLoop::close_fds() noexcept {
  for (int fd : {timer_fd_, wake_fd_, epoll_fd_}) {
    if (fd >= 0) ::close(fd);
  }
  timer_fd_ = wake_fd_ = epoll_fd_ = -1;
}

std::uint64_t EventLoop::now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// File descriptors

std::error_code EventLoop::watch(int fd, std::uint32_t events, FdCallback callback) {
  assert(is_loop_thread());
  if (watch_by_fd_.count(fd) != 0) return std::make_error_code(std::errc::file_exists);
  std::uint32_t index;
  if (free_watches_.empty()) {
    index = static_cast<std::uint32_t>(watches_.size());
    watches_.emplace_back();
  } else {
    index = free_watches_.back();
    free_watches_.pop_back();
  }
  Watch &w = watches_[index];
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.u64 = make_tag(index, w.generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    std::error_code ec(errno, std::generic_category());
    free_watches_.push_back(index);
    return ec;
  }
  w.fd = fd;
  w.callback = std::move(callback);
  watch_by_fd_.emplace(fd, index);
  return {};
}

std::error_code EventLoop::modify(int fd, std::uint32_t events) {
  assert(is_loop_thread());
  auto it = watch_by_fd_.find(fd);
  if (it == watch_by_fd_.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.u64 = make_tag(it->second, watches_[it->second].generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return {errno, std::generic_category()};
  }
  return {};
}

void EventLoop::unwatch(int fd) noexcept {
  assert(is_loop_thread());
  auto it = watch_by_fd_.find(fd);
  if (it == watch_by_fd_.end()) return;
  std::uint32_t index = it->second;
  watch_by_fd_.erase(it);
  // Fails with EBADF if the fd was already closed; epoll forgot it then anyway.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  Watch &w = watches_[index];
  w.fd = -1;
  ++w.generation;  // pending events for the old watch become stale
  w.callback = nullptr;
  free_watches_.push_back(index);
}

std::size_t EventLoop::dispatch_fd(std::uint64_t tag, std::uint32_t epoll_events) {
  auto index = static_cast<std::uint32_t>(tag);
  auto generation = static_cast<std::uint32_t>(tag >> 32);
  if (index >= watches_.size() || watches_[index].generation != generation) return 0;
  // The callback is moved out while it runs: it may unwatch its own fd (destroying the slot's
  // function) or add watches (reallocating watches_), and neither may touch the running one.
  FdCallback callback = std::move(watches_[index].callback);
  if (!callback) return 0;
  callback(from_epoll(epoll_events));
  Watch &w = watches_[index];
  if (w.generation == generation && !w.callback) w.callback = std::move(callback);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Timers

TimerId EventLoop::add_timer(TimerCallback callback) {
  assert(is_loop_thread());
  std::uint32_t index;
  if (free_timers_.empty()) {
    index = static_cast<std::uint32_t>(timers_.size());
    timers_.emplace_back();
    heap_.reserve(timers_.size());
  } else {
    index = free_timers_.back();
    free_timers_.pop_back();
  }
  TimerSlot &t = timers_[index];
  t.in_use = true;
  t.callback = std::move(callback);
  return TimerId{index, t.generation};
}

void EventLoop::arm_at(TimerId id, std::uint64_t deadline_ns) noexcept {
  assert(is_loop_thread());
  if (deadline_ns == kNoDeadline) {
    disarm(id);
    return;
  }
  if (id.index >= timers_.size()) return;
  TimerSlot &t = timers_[id.index];
  if (!t.in_use || t.generation != id.generation) return;
  t.deadline = deadline_ns;
  t.sequence = ++arm_sequence_;
  if (t.heap_pos == kNoSlot) {
    heap_.push_back(id.index);  // never reallocates: capacity >= timers_.size()
    t.heap_pos = static_cast<std::uint32_t>(heap_.size() - 1);
    heap_sift_up(t.heap_pos);
  } else {
    // A moved timer may go either way; one of the two sifts is a no-op.
    std::size_t pos = t.heap_pos;
    heap_sift_up(pos);
    heap_sift_down(timers_[id.index].heap_pos);
  }
}

void EventLoop::arm_after(TimerId id, std::chrono::nanoseconds delay) noexcept {
  auto ns = delay.count() < 0 ? 0 : static_cast<std::uint64_t>(delay.count());
  arm_at(id, now_ns() + ns);
}

void EventLoop::disarm(TimerId id) noexcept {
  assert(is_loop_thread());
  if (id.index >= timers_.size()) return;
  TimerSlot &t = timers_[id.index];
  if (!t.in_use || t.generation != id.generation || t.heap_pos == kNoSlot) return;
  heap_remove(t.heap_pos);
}

void EventLoop::remove_timer(TimerId id) noexcept {
  disarm(id);
  if (id.index >= timers_.size()) return;
  TimerSlot &t = timers_[id.index];
  if (!t.in_use || t.generation != id.generation) return;
  t.in_use = false;
  ++t.generation;
  t.callback = nullptr;
  free_timers_.push_back(id.index);
}

bool EventLoop::is_armed(TimerId id) const noexcept {
  if (id.index >= timers_.size()) return false;
  const TimerSlot &t = timers_[id.index];
  return t.in_use && t.generation == id.generation && t.heap_pos != kNoSlot;
}

bool EventLoop::heap_less(std::uint32_t a, std::uint32_t b) const noexcept {
  const TimerSlot &x = timers_[a];
  const TimerSlot &y = timers_[b];
  return x.deadline != y.deadline ? x.deadline < y.deadline : x.sequence < y.sequence;
}

void EventLoop::heap_place(std::size_t pos, std::uint32_t slot) noexcept {
  heap_[pos] = slot;
  timers_[slot].heap_pos = static_cast<std::uint32_t>(pos);
}

void EventLoop::heap_sift_up(std::size_t pos) noexcept {
  std::uint32_t slot = heap_[pos];
  while (pos > 0) {
    std::size_t parent = (pos - 1) / 2;
    if (!heap_less(slot, heap_[parent])) break;
    heap_place(pos, heap_[parent]);
    pos = parent;
  }
  heap_place(pos, slot);
}

void EventLoop::heap_sift_down(std::size_t pos) noexcept {
  std::uint32_t slot = heap_[pos];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_less(heap_[child + 1], heap_[child])) ++child;
    if (!heap_less(heap_[child], slot)) break;
    heap_place(pos, heap_[child]);
    pos = child;
  }
  heap_place(pos, slot);
}

void EventLoop::heap_remove(std::size_t pos) noexcept {
  std::uint32_t removed = heap_[pos];
  std::uint32_t last = heap_.back();
  heap_.pop_back();
  timers_[removed].heap_pos = kNoSlot;
  timers_[removed].deadline = kNoDeadline;
  if (pos == heap_.size()) return;  // it was the last element
  heap_place(pos, last);
  heap_sift_up(pos);
  heap_sift_down(timers_[last].heap_pos);
}

void EventLoop::program_timerfd() {
  std::uint64_t next = heap_.empty() ? kNoDeadline : timers_[heap_.front()].deadline;
  // Re-arms between two epoll_waits collapse into this one syscall. An empty heap leaves the
  // timerfd as it is: one spurious wake-up costs no more than the syscall to cancel it.
  if (next == programmed_deadline_ || next == kNoDeadline) return;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(next / 1'000'000'000u);
  spec.it_value.tv_nsec = static_cast<long>(next % 1'000'000'000u);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
    spec.it_value.tv_nsec = 1;  // 0 = off
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  programmed_deadline_ = next;
}

std::size_t EventLoop::run_due_timers() {
  std::size_t ran = 0;
  if (heap_.empty()) return ran;
  const std::uint64_t now = now_ns();
  // A timer that re-arms itself at or before `now` waits for the next iteration instead of
  // firing again in this pass, so it cannot starve I/O.
  const std::uint64_t pass = ++expiry_pass_;
  while (!heap_.empty()) {
    std::uint32_t index = heap_.front();
    TimerSlot &t = timers_[index];
    if (t.deadline > now || t.fired_pass == pass) break;
    heap_remove(0);
    t.fired_pass = pass;
    std::uint32_t generation = t.generation;
    TimerCallback callback = std::move(t.callback);  // see dispatch_fd for why
    if (callback) {
      callback();
      ++ran;
    }
    TimerSlot &after = timers_[index];
    if (after.in_use && after.generation == generation && !after.callback) {
      after.callback = std::move(callback);
    }
  }
  return ran;
}

// ---------------------------------------------------------------------------------------------
// Cross-thread hand-off

void EventLoop::post(Task task) {
  bool signal;
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(task));
    signal = !wake_pending_;
    wake_pending_ = true;
  }
  // One eventfd write per batch of posts: later posts see wake_pending_ until the loop drains.
  if (signal) wake();
}

void EventLoop::wake() noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero, which is as good as our write.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

std::size_t EventLoop::run_posted() {
  std::uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
  {
    std::lock_guard lock(queue_mutex_);
    running_.swap(queue_);
    wake_pending_ = false;
  }
  // Tasks posted from here on land in queue_ and signal a fresh wake-up: they run next
  // iteration, after the whole current batch, which keeps FIFO order.
  std::size_t ran = 0;
  for (Task &task : running_) {
    task();
    ++ran;
  }
  running_.clear();  // destroys the tasks, still outside the lock; keeps the capacity
  return ran;
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  wake();
}

bool EventLoop::is_loop_thread() const noexcept {
  return owner_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void EventLoop::adopt_current_thread() noexcept {
  owner_.store(std::this_thread::get_id(), std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// Running

std::size_t EventLoop::iterate(int timeout_ms) {
  if (!heap_.empty()) {
    if (timers_[heap_.front()].deadline <= now_ns()) {
      timeout_ms = 0;
    } else {
      program_timerfd();
    }
  }
  int n = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n < 0) n = 0;  // EINTR; nothing else can happen with valid arguments
  std::size_t ran = 0;
  bool woken = false;
  for (int i = 0; i < n; ++i) {
    const epoll_event &ev = events_[static_cast<std::size_t>(i)];
    if (ev.data.u64 == kWakeTag) {
      woken = true;
    } else if (ev.data.u64 == kTimerTag) {
      std::uint64_t expirations;
      [[maybe_unused]] ssize_t r = ::read(timer_fd_, &expirations, sizeof expirations);
      programmed_deadline_ = kNoDeadline;  // one-shot: it is off now
    } else {
      ran += dispatch_fd(ev.data.u64, ev.events);
    }
  }
  ran += run_due_timers();
  if (woken) ran += run_posted();
  return ran;
}

void EventLoop::run() {
  owner_.store(std::this_thread::get_id(), std::memory_order_release);
  while (!stop_requested_.load(std::memory_order_acquire))
    iterate(-1);
  stop_requested_.store(false, std::memory_order_release);
}

std::size_t EventLoop::run_once(std::chrono::milliseconds timeout) {
  assert(is_loop_thread());
  auto ms = timeout.count();
  int timeout_ms = ms < 0 ? 0 : ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
  return iterate(timeout_ms);
}

// ---------------------------------------------------------------------------------------------
// LoopThread

LoopThread::LoopThread(std::string name) : name_(std::move(name)) {}

LoopThread::~LoopThread() {
  stop();
}

void LoopThread::start() {
  if (thread_.joinable()) return;
  // Queued behind nothing the caller cares about and run only once run() has claimed the
  // thread, so after start() returns, is_loop_thread() is true on the new thread and only there.
  std::promise<void> running;
  std::future<void> ready = running.get_future();
  ++generation_;  // disarms a stop() task left queued after an earlier run ended on its own
  loop_.post([&running] { running.set_value(); });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    loop_.run();
  });
  ready.wait();
}

void LoopThread::stop() {
  if (!thread_.joinable()) return;
  if (loop_.is_loop_thread()) {
    loop_.stop();
    return;
  }
  loop_.post([this, generation = generation_.load()] {
    if (generation == generation_.load()) loop_.stop();
  });
  join();
}

void LoopThread::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    loop_.adopt_current_thread();
  }
}

}  // namespace flume
