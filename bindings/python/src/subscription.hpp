// flume.Subscription: a polling flume_subscription behind recv, recv_batch, iteration and a file
// descriptor for event loops (flume.aio).
#pragma once

#include <vector>

#include "binding.hpp"
#include "message.hpp"

namespace flume_py {

class Subscription {
 public:
  // How many messages one wait takes from libflume for recv() and iteration; the rest wait in
  // this object, so iterating costs one C call per batch rather than per message.
  static constexpr std::size_t kPrefetch = 256;

  Subscription(flume_subscription *handle, py::object client, std::string pattern);
  ~Subscription();
  Subscription(const Subscription &) = delete;
  Subscription &operator=(const Subscription &) = delete;

  // The Python object that owns this one (borrowed), put into each Message.
  void set_self(PyObject *self) { self_ = self; }

  py::object recv(py::handle timeout);
  py::object try_recv();
  py::list recv_batch(std::size_t max, py::handle timeout);
  py::list try_recv_batch(std::size_t max);
  // For __next__: the next message, or StopIteration once the subscription has ended.
  py::object next();

  int fileno();
  void unsubscribe();
  void close();
  bool closed() const { return guard_.closing(); }
  flume_subscription_stats stats();
  // Raises the error that ended the subscription if it has ended and nothing is queued.
  // Waits (in slices, Ctrl-C works) for the broker's answer: returns once accepted, raises its
  // refusal (ConnectionError), TimeoutError, or ClosedError if it ended unanswered.
  void wait_ready(py::handle timeout);

  std::uint32_t id() const { return id_; }
  const std::string &pattern() const { return pattern_; }
  const py::object &client() const { return client_; }

 private:
  // Waits per `deadline` for messages into pending_ (which must be empty). FLUME_OK or a code,
  // with the message in `error`.
  int fill(const Deadline &deadline, std::string &error);
  // Turns up to `max` pending messages into a list of flume.Message.
  py::list take_pending(std::size_t max);
  void free_pending() noexcept;

  flume_subscription *handle_;
  HandleGuard guard_;
  py::object client_;
  std::string pattern_;
  std::uint32_t id_;
  PyObject *self_ = nullptr;
  SubjectCache subjects_;
  // Taken from libflume, not yet handed out; touched only with the GIL held.
  std::vector<flume_message *> pending_;
  std::size_t next_ = 0;
};

// iter(subscription.messages(timeout)): messages until none comes for `timeout` seconds, the
// subscription ends, or `limit` were given.
class MessageIterator {
 public:
  MessageIterator(py::object subscription, py::object timeout, py::object limit);
  py::object next();

 private:
  py::object subscription_;
  py::object timeout_;
  long long left_;  // negative: no limit
};

}  // namespace flume_py
