// flume.connect() and flume.Client: publish, subscribe, flush, stats, close.
#include "client.hpp"

#include <memory>

#include "subscription.hpp"

namespace flume_py {

namespace {

constexpr const char *kClosed = "the client is closed";

int overflow_policy(const std::string &name) {
  if (name == "drop_oldest") return FLUME_OVERFLOW_DROP_OLDEST;
  if (name == "drop_newest") return FLUME_OVERFLOW_DROP_NEWEST;
  if (name == "close") return FLUME_OVERFLOW_CLOSE;
  raise_error(FLUME_EINVAL,
              "overflow must be 'drop_oldest', 'drop_newest' or 'close', not '" + name + "'");
}

// Seconds as the C ABI's int milliseconds.
int milliseconds(double seconds, const char *what) {
  if (!(seconds >= 0) || seconds > 2.0e6) {
    raise_error(FLUME_EINVAL, std::string(what) + " must be between 0 and 2e6 seconds");
  }
  return static_cast<int>(seconds * 1000.0 + 0.5);
}

// "URL" as given, or a list/tuple of URLs (nodes of a cluster) joined with commas for libflume.
std::string broker_urls(py::handle given) {
  if (py::isinstance<py::str>(given)) return given.cast<std::string>();
  if (!py::isinstance<py::list>(given) && !py::isinstance<py::tuple>(given)) {
    throw py::type_error("url must be a str or a list of str (nodes of a cluster)");
  }
  std::string joined;
  for (py::handle each : given) {
    if (!py::isinstance<py::str>(each)) throw py::type_error("every url in the list must be a str");
    if (!joined.empty()) joined += ',';
    joined += each.cast<std::string>();
  }
  return joined;
}

py::object connect(py::handle url_given, py::handle name, py::handle ca_file, py::handle pin_sha256,
                   bool insecure, py::handle token, double connect_timeout, bool reconnect,
                   double reconnect_min, double reconnect_max, py::handle server_name,
                   std::size_t max_pending_bytes, double publish_timeout, py::handle keep_alive) {
  const std::string url = broker_urls(url_given);
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  const std::string name_text = name.is_none() ? "flume-python" : name.cast<std::string>();
  const std::string ca_text = path_or_empty(ca_file, "ca_file");
  const std::string pin_text = pin_sha256.is_none() ? "" : pin_sha256.cast<std::string>();
  const std::string server_text = server_name.is_none() ? "" : server_name.cast<std::string>();
  std::unique_ptr<ByteView> token_bytes;
  if (!token.is_none()) token_bytes = std::make_unique<ByteView>(token, "token");

  options.client_name = name_text.c_str();
  options.connect_timeout_ms = milliseconds(connect_timeout, "connect_timeout");
  if (options.connect_timeout_ms == 0) options.connect_timeout_ms = 1;
  if (!ca_text.empty()) options.ca_file = ca_text.c_str();
  if (!pin_text.empty()) options.pin_sha256 = pin_text.c_str();
  options.insecure = insecure ? FLUME_ON : FLUME_OFF;
  if (token_bytes) {
    options.token = token_bytes->bytes();
    options.token_length = token_bytes->size();
  }
  options.reconnect = reconnect ? FLUME_ON : FLUME_OFF;
  options.reconnect_min_ms = milliseconds(reconnect_min, "reconnect_min");
  options.reconnect_max_ms = milliseconds(reconnect_max, "reconnect_max");
  if (!server_text.empty()) options.server_name = server_text.c_str();
  options.max_pending_bytes = max_pending_bytes;
  // Python's 0 means "do not wait"; in a C option struct that is FLUME_NO_WAIT (0: the default).
  const int publish_ms = milliseconds(publish_timeout, "publish_timeout");
  options.publish_timeout_ms = publish_ms == 0 ? FLUME_NO_WAIT : publish_ms;
  // None: no keep-alive; a number of seconds (at least 0.1; libflume checks).
  options.keep_alive_ms = keep_alive.is_none()
                              ? FLUME_WAIT_FOREVER
                              : milliseconds(keep_alive.cast<double>(), "keep_alive");
  if (options.keep_alive_ms == 0) options.keep_alive_ms = 1;  // 0 s is too short, not "default"

  flume_client *handle = nullptr;
  int rc;
  std::string error;
  {
    // Waits up to connect_timeout + 1 s; Ctrl-C is seen when it returns.
    py::gil_scoped_release nogil;
    rc = flume_client_connect(&handle, url.c_str(), &options);
    if (rc < 0) error = flume_last_error();
  }
  if (PyErr_CheckSignals() != 0) {
    if (handle != nullptr) {
      py::gil_scoped_release nogil;
      flume_client_close(handle);
    }
    throw py::error_already_set();
  }
  if (rc < 0) raise_error(rc, error);
  return py::cast(std::make_unique<Client>(handle, url));
}

py::object subscribe(py::object self, const std::string &pattern, std::uint32_t queue_limit,
                     std::size_t local_queue_limit, const std::string &overflow, bool gaps,
                     bool wait, py::handle timeout) {
  auto &client = self.cast<Client &>();
  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.overflow_policy = overflow_policy(overflow);
  options.queue_limit = queue_limit;
  options.local_queue_limit = local_queue_limit;
  options.report_gaps = gaps ? FLUME_ON : FLUME_OFF;
  py::object result;
  {
    Use use(client.guard(), kClosed);
    flume_subscription *handle = nullptr;
    check(flume_client_subscribe(&handle, client.handle(), pattern.data(), pattern.size(), &options,
                                 nullptr));
    auto subscription = std::make_unique<Subscription>(handle, self, pattern);
    Subscription *raw = subscription.get();
    result = py::cast(std::move(subscription));
    raw->set_self(result.ptr());
  }
  if (wait) result.cast<Subscription &>().wait_ready(timeout);
  return result;
}

}  // namespace

Client::Client(flume_client *handle, std::string url) : handle_(handle), url_(std::move(url)) {
  register_open(this);
}

Client::~Client() {
  unregister_open(this);
  if (guard_.begin_close()) {
    // Collected without close(): nobody else can be inside (they would hold a reference).
    if (finalizing()) {
      close_handle();
    } else {
      py::gil_scoped_release nogil;
      close_handle();
    }
  }
}

void Client::close_handle() noexcept {
  flume_client_close(handle_);
  handle_ = nullptr;
}

void Client::publish(py::handle subject_object, py::handle data) {
  Use use(guard_, kClosed);
  const ByteView subject(subject_object, "subject");
  const ByteView payload(data, "data");
  // Copies and queues; waits (up to publish_timeout) only when max_pending_bytes already wait
  // for the network, so other threads run meanwhile.
  int rc;
  std::string error;
  {
    py::gil_scoped_release nogil;
    rc = flume_client_publish(handle_, subject.data(), subject.size(), payload.bytes(),
                              payload.size());
    if (rc < 0) error = flume_last_error();
  }
  if (rc < 0) raise_error(rc, error);
}

void Client::flush(py::handle timeout) {
  Use use(guard_, kClosed);
  const Deadline deadline(timeout);
  std::string error;
  const int rc = wait_in_slices(deadline, guard_, error, [&](int timeout_ms) {
    return flume_client_flush(handle_, timeout_ms);
  });
  if (rc < 0) raise_error(rc, error);
}

flume_client_stats Client::stats() {
  Use use(guard_, kClosed);
  flume_client_stats stats = FLUME_CLIENT_STATS_INIT;
  check(flume_client_get_stats(&stats, handle_));
  return stats;
}

std::uint32_t Client::max_payload() {
  Use use(guard_, kClosed);
  return flume_client_max_payload(handle_);
}

void Client::close() {
  if (!guard_.begin_close()) return;
  unregister_open(this);
  py::gil_scoped_release nogil;
  // A flush in another thread stops at its next slice; a publish waiting for room (the client
  // full) is waited for, at most publish_timeout.
  guard_.wait_idle();
  close_handle();
}

py::object owner_of(Client *client) {
  return py::cast(client, py::return_value_policy::reference);
}

void init_client(py::module_ &m) {
  py::class_<flume_client_stats>(m, "ClientStats", "Counters of one client (Client.stats()).")
      .def_readonly("messages_out", &flume_client_stats::messages_out,
                    "Messages accepted by publish().")
      .def_readonly("bytes_out", &flume_client_stats::bytes_out, "Their payload bytes.")
      .def_readonly("messages_in", &flume_client_stats::messages_in,
                    "Messages received for any subscription.")
      .def_readonly("bytes_in", &flume_client_stats::bytes_in, "Their payload bytes.")
      .def_readonly("dropped_by_broker", &flume_client_stats::dropped_by_broker,
                    "Messages the broker dropped for this client's subscriptions.")
      .def_readonly("reconnects", &flume_client_stats::reconnects,
                    "Connections re-established after a loss.")
      .def_readonly("publish_errors", &flume_client_stats::publish_errors,
                    "Publishes the broker refused after publish() returned.")
      .def_property_readonly(
          "connected", [](const flume_client_stats &s) { return s.connected != 0; },
          "True while connected and past HELLO.")
      .def_readonly("publishes_unsent", &flume_client_stats::publishes_unsent,
                    "Publishes accepted by publish() that never reached the network (the "
                    "connection was lost first).")
      .def("__repr__", [](const flume_client_stats &s) {
        return py::str(
                   "ClientStats(messages_out={}, bytes_out={}, messages_in={}, bytes_in={}, "
                   "dropped_by_broker={}, reconnects={}, publish_errors={}, connected={}, "
                   "publishes_unsent={})")
            .format(s.messages_out, s.bytes_out, s.messages_in, s.bytes_in, s.dropped_by_broker,
                    s.reconnects, s.publish_errors, s.connected != 0, s.publishes_unsent);
      });

  py::class_<Client>(m, "Client", R"(A connection to a broker, made by flume.connect().

A context manager: leaving the block closes it. Publishing waits only when max_pending_bytes
already wait for the network (up to publish_timeout); flush() waits until the broker has processed
everything sent before it.)")
      .def("publish", &Client::publish, py::arg("subject"), py::arg("data"),
           "Publishes `data` (bytes, or str sent as UTF-8) to `subject`. Returns once the message "
           "is queued for the client's thread, which sends it as soon as QUIC allows (flush() "
           "is a round trip to the broker, not a 'send now'), unless max_pending_bytes already "
           "wait for the network: then waits up to "
           "publish_timeout for room and raises TimeoutError. InvalidSubject, PayloadTooLarge, "
           "ConnectionError (reconnecting: not sent), "
           "ClosedError.")
      .def("subscribe", &subscribe, py::arg("pattern"), py::kw_only(), py::arg("queue_limit") = 0,
           py::arg("local_queue_limit") = 0, py::arg("overflow") = "drop_oldest",
           py::arg("gaps") = false, py::arg("wait") = true, py::arg("timeout") = 10.0,
           R"(Subscribes to `pattern` ('*' one token, a final '>' one or more).

queue_limit: messages the broker queues for it (0: the broker's default);
local_queue_limit: messages held here for recv (0: 65536); overflow: what the broker does when
its queue is full ('drop_oldest', 'drop_newest', 'close'); gaps=True: where messages were
missed (drops, or a lost connection after which it was made again), a flume.Gap comes in their
place among the messages (else they only show as jumps in Message.sequence and in stats()).
With wait=True (the default) it
returns once the broker accepted the subscription (up to `timeout` seconds), raising its refusal
(ConnectionError with the broker's reason) if it refused; wait=False returns at once
(Subscription.wait_ready() waits later).)")
      .def("flush", &Client::flush, py::arg("timeout") = py::none(),
           "Waits until the broker has processed everything published and subscribed before "
           "(up to `timeout` seconds; None: no limit).")
      .def("stats", &Client::stats)
      .def_property_readonly("max_payload", &Client::max_payload,
                             "The broker's payload limit in bytes.")
      .def_property_readonly("url", &Client::url)
      .def_property_readonly("closed", &Client::closed)
      .def("close", &Client::close,
           "Closes the connection (a goodbye bounded to about 0.5 s). Its subscriptions end: "
           "what they received stays readable. Idempotent.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Client &c, py::args) { c.close(); })
      .def("__repr__", [](const Client &c) {
        return py::str("<flume.Client {}{}>").format(c.url(), c.closed() ? " closed" : "");
      });

  m.def("connect", &connect, py::arg("url") = "flume://127.0.0.1:7337", py::kw_only(),
        py::arg("name") = py::none(), py::arg("ca_file") = py::none(),
        py::arg("pin_sha256") = py::none(), py::arg("insecure") = false,
        py::arg("token") = py::none(), py::arg("connect_timeout") = 5.0,
        py::arg("reconnect") = true, py::arg("reconnect_min") = 0.1, py::arg("reconnect_max") = 5.0,
        py::arg("server_name") = py::none(), py::arg("max_pending_bytes") = 0,
        py::arg("publish_timeout") = 5.0, py::arg("keep_alive") = 1.0,
        R"(Connects to a broker and returns a Client once the broker accepted it.

url: "flume://host:port" ("host:port", "host"; port 7337 by default). Nodes of a cluster: a
list of URLs (or one string with them separated by commas): the client races handshakes to all
and keeps the nearest (the first to answer), and on every reconnect races them again.
Trust: ca_file (PEM with the CA or the broker's self-signed certificate), pin_sha256 (the
fingerprint "AB:CD:..." the broker prints), or insecure=True (no verification). With none of
them, the system's CA store, except for a broker on this machine, whose self-signed cert.pem in
the default data directory is trusted. token: bytes or str sent for authentication.
Back-pressure: at most max_pending_bytes (0: 8 MiB) of published messages wait in the client for
the network; publish() waits up to publish_timeout for room (0: not at all), then raises
TimeoutError. keep_alive (at least 0.1, None: none): a QUIC PING after that long without sending,
so an idle subscriber notices a crashed and restarted broker within about that long (one small
packet each way per interval). Times are in seconds. Raises ConnectionError (unreachable, refused), TLSError (with the
reason), ProtocolError, TimeoutError, InvalidArgument.)");
}

}  // namespace flume_py
