// What the files of the _flume extension share: error raising, the guard that keeps a C handle
// from being freed under a call, and waiting in slices so that Ctrl-C works.
//
// The extension uses flume.h and nothing else of Flume. Handles may be used from several Python
// threads; the GIL is released around every call that can wait.
#pragma once

#include <pybind11/pybind11.h>

#include <flume/flume.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace flume_py {

namespace py = pybind11;

// --- errors (errors.cpp) ----------------------------------------------------------------------

// Caches flume.errors.from_code, which makes the exception for a FLUME_E* code, and adds
// _flume.exception_class_name(code).
void init_errors(py::module_ &m);

// The name of the class in flume/errors.py that `code` raises (capi/error_codes.def).
const char *exception_class_name(int code);

// The exception instance for `code` (a FlumeError subclass), without raising it.
py::object make_error(int code, const std::string &message);

// Raises the exception for `code` with `message`.
[[noreturn]] void raise_error(int code, const std::string &message);

// Raises the exception for `code` with flume_last_error(): call right after the failing call,
// on the same thread.
[[noreturn]] void raise_last(int code);

// The FLUME_E* code of a raised FlumeError, 0 for any other exception.
int code_of(const py::error_already_set &error);

inline void check(int rc) {
  if (rc < 0) raise_last(rc);
}

// --- arguments --------------------------------------------------------------------------------

// Bytes of a str (UTF-8), bytes, or any C-contiguous buffer (bytearray, memoryview...), held
// for as long as this object lives.
class ByteView {
 public:
  ByteView(py::handle object, const char *what);
  ~ByteView();
  ByteView(const ByteView &) = delete;
  ByteView &operator=(const ByteView &) = delete;

  const char *data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::uint8_t *bytes() const { return reinterpret_cast<const std::uint8_t *>(data_); }

 private:
  const char *data_ = nullptr;
  std::size_t size_ = 0;
  Py_buffer buffer_{};
  bool has_buffer_ = false;
};

// os.fspath() of a str or os.PathLike, or an empty string for None.
std::string path_or_empty(py::handle object, const char *what);

// --- the guard --------------------------------------------------------------------------------

// Keeps a C handle alive while calls use it. The C ABI lets several threads use a handle at once
// but none may race with the call that frees it; Python threads may call close() while another
// thread waits in recv(), so every call enters the guard and close() waits until all have left.
class HandleGuard {
 public:
  // Counts a call in; false once closing has begun (the caller raises ClosedError).
  bool enter() noexcept {
    std::lock_guard lock(mutex_);
    if (closing_.load(std::memory_order_relaxed)) return false;
    ++uses_;
    return true;
  }
  void leave() noexcept {
    std::lock_guard lock(mutex_);
    if (--uses_ == 0) idle_.notify_all();
  }
  bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }
  // Marks the handle as closing; true for the one caller that did it.
  bool begin_close() noexcept {
    std::lock_guard lock(mutex_);
    return !closing_.exchange(true);
  }
  // Waits until no call is inside. Call without the GIL: a call inside may need it to leave.
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return uses_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  int uses_ = 0;
  std::atomic<bool> closing_{false};
};

// One call inside a guard; raises ClosedError with `what` if the handle is closed.
class Use {
 public:
  Use(HandleGuard &guard, const char *what) : guard_(guard) {
    if (!guard_.enter()) raise_error(FLUME_ECLOSED, what);
  }
  ~Use() { guard_.leave(); }
  Use(const Use &) = delete;
  Use &operator=(const Use &) = delete;

 private:
  HandleGuard &guard_;
};

// --- waiting ----------------------------------------------------------------------------------

// A timeout given in seconds (None: no limit), turned into slices of at most kSliceMs.
class Deadline {
 public:
  static constexpr int kSliceMs = 50;

  explicit Deadline(py::handle timeout_seconds);
  static Deadline none() { return Deadline(py::none()); }

  bool unlimited() const { return unlimited_; }
  double seconds() const { return seconds_; }
  bool immediate() const { return immediate_; }
  bool expired() const { return !unlimited_ && std::chrono::steady_clock::now() >= end_; }
  // The next wait in milliseconds: at least 1, at most kSliceMs.
  int slice_ms() const;

 private:
  bool unlimited_ = true;
  bool immediate_ = false;
  double seconds_ = 0;
  std::chrono::steady_clock::time_point end_{};
};

// Calls `call(timeout_ms)` (a flume_ call that waits up to timeout_ms and returns FLUME_EAGAIN, or
// FLUME_ETIMEDOUT for flush, when that ran out) with the GIL released, in slices, until it returns
// anything else or the deadline passes. Between slices, with the GIL held, it runs Python's signal
// handlers (so Ctrl-C raises KeyboardInterrupt within a slice) and stops with FLUME_ECLOSED once
// `guard` is closing. On failure the code is returned and `error` holds flume_last_error() as read
// on the calling thread. An immediate deadline makes one call with timeout 0, keeping the GIL.
template <class Call>
int wait_in_slices(const Deadline &deadline, const HandleGuard &guard, std::string &error,
                   Call &&call) {
  if (deadline.immediate()) {
    const int rc = call(0);
    if (rc < 0) error = flume_last_error();
    return rc;
  }
  for (;;) {
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = call(deadline.slice_ms());
      if (rc < 0) error = flume_last_error();
    }
    if (rc != FLUME_EAGAIN && rc != FLUME_ETIMEDOUT) return rc;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (guard.closing()) {
      error = "closed while waiting";
      return FLUME_ECLOSED;
    }
    if (deadline.expired()) {
      error = "timed out after " + std::to_string(deadline.seconds()).substr(0, 8) + " s";
      return rc;
    }
  }
}

// --- the parts of the module ------------------------------------------------------------------

void init_message(py::module_ &m);
void init_gap(py::module_ &m);
void init_client(py::module_ &m);
void init_subscription(py::module_ &m);
void init_broker(py::module_ &m);
void init_codec(py::module_ &m);
void init_log(py::module_ &m);

// Removes libflume's log handler (log.cpp): at exit, before the interpreter finalizes.
void remove_log_handler();

// Clients and brokers still open when the interpreter exits are closed by an atexit hook, so
// their loop threads never outlive the objects they use.
class Client;
class Broker;
void register_open(Client *client);
void unregister_open(Client *client);
void register_open(Broker *broker);
void unregister_open(Broker *broker);
// A reference to the Python object that owns it (so it cannot be collected meanwhile), and
// the close for the atexit hook; in client.cpp and broker.cpp.
py::object owner_of(Client *client);
py::object owner_of(Broker *broker);
void close_at_exit(py::handle owner_of_client_or_broker);

// True while the interpreter is shutting down: destructors then keep the GIL.
bool finalizing();

}  // namespace flume_py
