// flume.Subscription and its iterators.
#include "subscription.hpp"

#include <algorithm>

#include "client.hpp"

namespace flume_py {

namespace {

constexpr const char *kClosed = "the subscription is closed";

const char *state_name(int state) {
  switch (state) {
    case FLUME_SUBSCRIPTION_PENDING:
      return "pending";
    case FLUME_SUBSCRIPTION_ACTIVE:
      return "active";
    default:
      return "ended";
  }
}

}  // namespace

Subscription::Subscription(flume_subscription *handle, py::object client, std::string pattern)
    : handle_(handle),
      client_(std::move(client)),
      pattern_(std::move(pattern)),
      id_(flume_subscription_id(handle)) {
  pending_.reserve(kPrefetch);
}

Subscription::~Subscription() {
  // Nobody else can be inside: every call holds a reference to the Python object.
  free_pending();
  flume_subscription_free(handle_);  // NULL after close()
}

void Subscription::free_pending() noexcept {
  if (next_ < pending_.size()) {
    flume_message_free_batch(pending_.data() + next_, pending_.size() - next_);
  }
  pending_.clear();
  next_ = 0;
}

int Subscription::fill(const Deadline &deadline, std::string &error) {
  flume_message *taken[kPrefetch];
  std::size_t count = 0;
  const int rc = wait_in_slices(deadline, guard_, error, [&](int timeout_ms) {
    return flume_subscription_recv_batch(taken, kPrefetch, &count, handle_, timeout_ms);
  });
  if (rc == FLUME_OK) {
    // Another thread may have filled it meanwhile: append, never replace.
    pending_.insert(pending_.end(), taken, taken + count);
  }
  return rc;
}

py::list Subscription::take_pending(std::size_t max) {
  const std::size_t n = std::min(max, pending_.size() - next_);
  flume_message_view views[kPrefetch];
  py::list out(static_cast<py::ssize_t>(n));
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min(n - done, kPrefetch);
    flume_message **batch = pending_.data() + next_;
    check(flume_message_views(views, sizeof(flume_message_view), batch, chunk));
    for (std::size_t i = 0; i < chunk; ++i) {
      PyObject *message = new_item(views[i], self_, subjects_);
      if (message == nullptr) throw py::error_already_set();
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(done + i), message);
      // Freed one by one: the list may fail half-way, and the block goes with its last message.
      flume_message_free(batch[i]);
      batch[i] = nullptr;
      ++next_;
    }
    done += chunk;
  }
  if (next_ == pending_.size()) {
    pending_.clear();
    next_ = 0;
  }
  return out;
}

py::object Subscription::recv(py::handle timeout) {
  Use use(guard_, kClosed);
  if (next_ == pending_.size()) {
    const Deadline deadline(timeout);
    std::string error;
    const int rc = fill(deadline, error);
    if (rc == FLUME_EAGAIN) raise_error(FLUME_ETIMEDOUT, "no message within the timeout");
    if (rc != FLUME_OK) raise_error(rc, error);
  }
  py::list one = take_pending(1);
  return one[0];
}

py::object Subscription::try_recv() {
  Use use(guard_, kClosed);
  if (next_ == pending_.size()) {
    std::string error;
    const int rc = fill(Deadline(py::float_(0.0)), error);
    if (rc == FLUME_EAGAIN) return py::none();
    if (rc != FLUME_OK) raise_error(rc, error);
  }
  py::list one = take_pending(1);
  return one[0];
}

py::list Subscription::recv_batch(std::size_t max, py::handle timeout) {
  if (max == 0) raise_error(FLUME_EINVAL, "max must be at least 1");
  Use use(guard_, kClosed);
  if (next_ < pending_.size()) return take_pending(max);
  // Reused by every call on this thread: receiving allocates nothing here in the steady state.
  thread_local std::vector<flume_message *> taken;
  if (taken.size() < max) taken.resize(max);
  std::size_t count = 0;
  const Deadline deadline(timeout);
  std::string error;
  const int rc = wait_in_slices(deadline, guard_, error, [&](int timeout_ms) {
    return flume_subscription_recv_batch(taken.data(), max, &count, handle_, timeout_ms);
  });
  if (rc == FLUME_EAGAIN || rc == FLUME_ETIMEDOUT) return py::list();
  if (rc != FLUME_OK) raise_error(rc, error);
  pending_.insert(pending_.end(), taken.begin(), taken.begin() + static_cast<long>(count));
  return take_pending(max);
}

py::list Subscription::try_recv_batch(std::size_t max) {
  return recv_batch(max, py::float_(0.0));
}

py::object Subscription::next() {
  try {
    return recv(py::none());
  } catch (py::error_already_set &error) {
    if (code_of(error) == FLUME_ECLOSED) throw py::stop_iteration();
    throw;
  }
}

int Subscription::fileno() {
  Use use(guard_, kClosed);
  const int fd = flume_subscription_fd(handle_);
  check(fd);
  return fd;
}

void Subscription::unsubscribe() {
  Use use(guard_, kClosed);
  check(flume_subscription_unsubscribe(handle_));
}

void Subscription::close() {
  if (!guard_.begin_close()) return;
  // Ends any recv waiting in another thread (it returns FLUME_ECLOSED), then waits for it.
  flume_subscription_unsubscribe(handle_);
  {
    py::gil_scoped_release nogil;
    guard_.wait_idle();
  }
  free_pending();
  // Now, not at garbage collection: its file descriptor and queue go at once.
  flume_subscription_free(handle_);
  handle_ = nullptr;
}

flume_subscription_stats Subscription::stats() {
  Use use(guard_, kClosed);
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  check(flume_subscription_get_stats(&stats, handle_));
  stats.queued += pending_.size() - next_;
  return stats;
}

void Subscription::wait_ready(py::handle timeout) {
  Use use(guard_, kClosed);
  const Deadline deadline(timeout);
  std::string error;
  const int rc = wait_in_slices(deadline, guard_, error, [&](int timeout_ms) {
    return flume_subscription_wait_ready(handle_, timeout_ms);
  });
  if (rc == FLUME_EAGAIN) raise_error(FLUME_ETIMEDOUT, "the broker did not answer in time");
  if (rc != FLUME_OK) raise_error(rc, error);
}

MessageIterator::MessageIterator(py::object subscription, py::object timeout, py::object limit)
    : subscription_(std::move(subscription)), timeout_(std::move(timeout)), left_(-1) {
  Deadline check_timeout(timeout_);  // refuses a negative timeout now, not at the first next()
  (void)check_timeout;
  if (!limit.is_none()) {
    left_ = limit.cast<long long>();
    if (left_ < 0) raise_error(FLUME_EINVAL, "limit must be None or >= 0");
  }
}

py::object MessageIterator::next() {
  if (left_ == 0) throw py::stop_iteration();
  auto &subscription = subscription_.cast<Subscription &>();
  try {
    py::object message = subscription.recv(timeout_);
    if (left_ > 0) --left_;
    return message;
  } catch (py::error_already_set &error) {
    const int code = code_of(error);
    if (code == FLUME_ECLOSED || code == FLUME_ETIMEDOUT) throw py::stop_iteration();
    throw;
  }
}

void init_subscription(py::module_ &m) {
  py::class_<flume_subscription_stats>(m, "SubscriptionStats",
                                       "Counters of one subscription (Subscription.stats()).")
      .def_readonly("received", &flume_subscription_stats::received,
                    "Messages delivered to it (queued for recv).")
      .def_readonly("dropped_by_broker", &flume_subscription_stats::dropped_by_broker,
                    "Messages the broker dropped because its queue for it overflowed.")
      .def_readonly("dropped_locally", &flume_subscription_stats::dropped_locally,
                    "Messages dropped here because recv did not keep up.")
      .def_readonly("queued", &flume_subscription_stats::queued,
                    "Messages waiting to be received now.")
      .def_readonly("queued_high_water", &flume_subscription_stats::queued_high_water,
                    "The most messages that ever waited to be received at once.")
      .def_readonly("queue_limit", &flume_subscription_stats::queue_limit,
                    "The broker's queue limit for it, as the broker granted it (0 until it "
                    "answered).")
      .def_readonly("resubscribed", &flume_subscription_stats::resubscribed,
                    "Times it was made again on a new connection after one was lost (each time, "
                    "what was published meanwhile was missed, uncounted).")
      .def_readonly("last_sequence", &flume_subscription_stats::last_sequence,
                    "The sequence of the last message received.")
      .def_property_readonly(
          "state", [](const flume_subscription_stats &s) { return state_name(s.state); },
          "'pending' (the broker has not answered), 'active' or 'ended'.")
      .def_property_readonly(
          "ended",
          [](const flume_subscription_stats &s) { return s.state == FLUME_SUBSCRIPTION_ENDED; },
          "True once it ended (refused, unsubscribed, client closed, or ended by the broker).")
      .def("__repr__", [](const flume_subscription_stats &s) {
        return py::str(
                   "SubscriptionStats(received={}, dropped_by_broker={}, dropped_locally={}, "
                   "queued={}, queued_high_water={}, queue_limit={}, resubscribed={}, "
                   "last_sequence={}, state={!r})")
            .format(s.received, s.dropped_by_broker, s.dropped_locally, s.queued,
                    s.queued_high_water, s.queue_limit, s.resubscribed, s.last_sequence,
                    state_name(s.state));
      });

  py::class_<MessageIterator>(m, "MessageIterator")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &MessageIterator::next);

  py::class_<Subscription>(m, "Subscription", R"(Messages whose subject matches a pattern.

Made by Client.subscribe(). Iterating gives Message objects until the subscription ends;
recv()/recv_batch() take them with a timeout. Closing the client ends it too: what was already
received can still be read, then iteration stops.)")
      .def("recv", &Subscription::recv, py::arg("timeout") = py::none(),
           "The next message, waiting up to `timeout` seconds (None: until one comes). Raises "
           "TimeoutError when none came, ClosedError once the subscription has ended.")
      .def("try_recv", &Subscription::try_recv,
           "The next message if one is waiting, else None. ClosedError once it has ended.")
      .def("recv_batch", &Subscription::recv_batch, py::arg("max") = 1024,
           py::arg("timeout") = py::none(),
           "Up to `max` messages: waits up to `timeout` seconds for the first, then takes what "
           "is already there. An empty list when the timeout ran out.")
      .def("try_recv_batch", &Subscription::try_recv_batch, py::arg("max") = 1024,
           "Up to `max` messages that are already waiting (maybe none).")
      .def(
          "messages",
          [](py::object self, py::object timeout, py::object limit) {
            return MessageIterator(std::move(self), std::move(timeout), std::move(limit));
          },
          py::arg("timeout") = py::none(), py::arg("limit") = py::none(),
          "An iterator over messages that stops when none came for `timeout` seconds, when "
          "the subscription ends, or after `limit` messages.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &Subscription::next)
      .def("wait_ready", &Subscription::wait_ready, py::arg("timeout") = py::none(),
           "Waits up to `timeout` seconds (None: no limit) for the broker's answer: returns once "
           "it accepted the subscription; raises ConnectionError with the broker's reason if it "
           "refused it, TimeoutError, or ClosedError if it ended unanswered. subscribe() does "
           "this unless wait=False.")
      .def("fileno", &Subscription::fileno,
           "A file descriptor that is readable while messages wait in libflume or once the "
           "subscription has ended (for event loops; try_recv first: messages may also be "
           "waiting in this object). Never read or close it.")
      .def("unsubscribe", &Subscription::unsubscribe,
           "Ends the subscription and tells the broker. Messages already received can still be "
           "read; after them recv raises ClosedError.")
      .def("close", &Subscription::close,
           "Unsubscribes (if still live), discards unread messages and frees the handle. "
           "Idempotent.")
      .def_property_readonly("closed", &Subscription::closed)
      .def("stats", &Subscription::stats)
      .def_property_readonly("id", &Subscription::id)
      .def_property_readonly("pattern", &Subscription::pattern)
      .def_property_readonly("client", &Subscription::client)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Subscription &s, py::args) { s.close(); })
      .def("__repr__", [](const Subscription &s) {
        return py::str("<flume.Subscription id={} pattern={!r}{}>")
            .format(s.id(), s.pattern(), s.closed() ? " closed" : "");
      });
}

}  // namespace flume_py
