// flume.Broker: the broker embedded in this process (flume_broker_start), on its own thread.
#include <optional>

#include "binding.hpp"

namespace flume_py {

class Broker {
 public:
  Broker(const std::string &listen, py::handle data_dir, py::handle cert_file, py::handle key_file,
         std::uint32_t max_payload, std::uint32_t max_connections, std::uint32_t max_subscriptions,
         std::uint32_t queue_limit, std::uint64_t max_pending_bytes, double shutdown_grace,
         std::uint64_t max_memory) {
    flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
    const std::string data_text = path_or_empty(data_dir, "data_dir");
    const std::string cert_text = path_or_empty(cert_file, "cert_file");
    const std::string key_text = path_or_empty(key_file, "key_file");
    options.listen = listen.c_str();
    if (!data_text.empty()) options.data_dir = data_text.c_str();
    if (!cert_text.empty()) options.cert_file = cert_text.c_str();
    if (!key_text.empty()) options.key_file = key_text.c_str();
    if (max_payload != 0) options.max_payload = max_payload;
    if (max_connections != 0) options.max_connections = max_connections;
    if (max_subscriptions != 0) options.max_subscriptions = max_subscriptions;
    if (queue_limit != 0) options.queue_limit = queue_limit;
    if (max_pending_bytes != 0) options.max_pending_bytes = max_pending_bytes;
    if (max_memory != 0) options.max_memory_bytes = max_memory;
    if (!(shutdown_grace >= 0) || shutdown_grace > 600) {
      raise_error(FLUME_EINVAL, "shutdown_grace must be between 0 and 600 seconds");
    }
    // 0 means the default (2 s) in the C options; the smallest real grace is 1 ms.
    const auto grace_ms = static_cast<std::uint32_t>(shutdown_grace * 1000.0 + 0.5);
    options.shutdown_grace_ms = grace_ms == 0 ? 1 : grace_ms;

    int rc;
    std::string error;
    {
      // Binds, and makes a self-signed certificate on the first start in data_dir.
      py::gil_scoped_release nogil;
      rc = flume_broker_start(&handle_, &options);
      if (rc < 0) error = flume_last_error();
    }
    if (rc < 0) raise_error(rc, error);
    address_ = flume_broker_address(handle_);
    certificate_path_ = flume_broker_certificate_path(handle_);
    fingerprint_ = flume_broker_fingerprint(handle_);
    port_ = flume_broker_port(handle_);
    register_open(this);
  }

  ~Broker() {
    unregister_open(this);
    if (guard_.begin_close()) {
      if (finalizing()) {
        stop_handle();
      } else {
        py::gil_scoped_release nogil;
        stop_handle();
      }
    }
  }
  Broker(const Broker &) = delete;
  Broker &operator=(const Broker &) = delete;

  void stop() {
    if (!guard_.begin_close()) return;
    unregister_open(this);
    py::gil_scoped_release nogil;
    guard_.wait_idle();
    stop_handle();
  }

  flume_broker_stats stats() {
    Use use(guard_, "the broker is stopped");
    flume_broker_stats stats = FLUME_BROKER_STATS_INIT;
    int rc;
    std::string error;
    {
      py::gil_scoped_release nogil;  // one round trip to the broker's thread
      rc = flume_broker_get_stats(&stats, handle_);
      if (rc < 0) error = flume_last_error();
    }
    if (rc < 0) raise_error(rc, error);
    return stats;
  }

  bool stopped() const { return guard_.closing(); }
  std::string url() const { return "flume://" + address_; }
  const std::string &address() const { return address_; }
  std::uint16_t port() const { return port_; }
  const std::string &certificate_path() const { return certificate_path_; }
  const std::string &fingerprint() const { return fingerprint_; }

 private:
  void stop_handle() noexcept {
    flume_broker_stop(handle_);
    handle_ = nullptr;
  }

  flume_broker *handle_ = nullptr;
  HandleGuard guard_;
  std::string address_;
  std::string certificate_path_;
  std::string fingerprint_;
  std::uint16_t port_ = 0;
};

py::object owner_of(Broker *broker) {
  return py::cast(broker, py::return_value_policy::reference);
}

void close_at_exit(py::handle owner) {
  if (py::isinstance<Broker>(owner)) {
    owner.cast<Broker &>().stop();
  } else {
    owner.attr("close")();
  }
}

void init_broker(py::module_ &m) {
  py::class_<flume_broker_stats>(m, "BrokerStats", "Counters of an embedded broker.")
      .def_readonly("connections", &flume_broker_stats::connections, "Connections now.")
      .def_readonly("subscriptions", &flume_broker_stats::subscriptions, "Live subscriptions now.")
      .def_readonly("messages_in", &flume_broker_stats::messages_in, "PUBLISH routed.")
      .def_readonly("bytes_in", &flume_broker_stats::bytes_in, "Their payload bytes.")
      .def_readonly("messages_out", &flume_broker_stats::messages_out,
                    "MESSAGE frames sent to subscribers.")
      .def_readonly("bytes_out", &flume_broker_stats::bytes_out, "Their frame bytes.")
      .def_readonly("messages_unmatched", &flume_broker_stats::messages_unmatched,
                    "Published messages no subscription matched.")
      .def_readonly("publishes_invalid", &flume_broker_stats::publishes_invalid,
                    "PUBLISH refused (invalid subject).")
      .def_readonly("hellos_accepted", &flume_broker_stats::hellos_accepted, "Clients admitted.")
      .def_readonly("hellos_refused", &flume_broker_stats::hellos_refused, "Clients refused.")
      .def_readonly("dropped_oldest", &flume_broker_stats::dropped_oldest,
                    "Deliveries dropped by policy drop_oldest.")
      .def_readonly("dropped_newest", &flume_broker_stats::dropped_newest,
                    "Deliveries dropped by policy drop_newest.")
      .def_readonly("dropped_slow_consumer", &flume_broker_stats::dropped_slow_consumer,
                    "Deliveries lost when policy close ended a subscription.")
      .def_readonly("dropped_no_memory", &flume_broker_stats::dropped_no_memory,
                    "Deliveries lost to allocation failures.")
      .def_readonly("discarded_on_close", &flume_broker_stats::discarded_on_close,
                    "Still queued when a subscription or connection ended.")
      .def_readonly("queued_messages", &flume_broker_stats::queued_messages,
                    "Waiting to be sent now.")
      .def_readonly("queued_bytes", &flume_broker_stats::queued_bytes, "Their bytes now.")
      .def_readonly("dropped_memory_budget", &flume_broker_stats::dropped_memory_budget,
                    "Of the drops above, those the broker-wide memory budget made.")
      .def_readonly("memory_queued_bytes", &flume_broker_stats::memory_queued_bytes,
                    "What the memory budget counts now (a shared message once).")
      .def_readonly("memory_queued_peak_bytes", &flume_broker_stats::memory_queued_peak_bytes,
                    "The most it counted since the start.")
      .def_readonly("memory_budget_bytes", &flume_broker_stats::memory_budget_bytes,
                    "The memory budget in use (max_memory, or the machine's default).")
      .def("__repr__", [](const flume_broker_stats &s) {
        return py::str(
                   "BrokerStats(connections={}, subscriptions={}, messages_in={}, "
                   "messages_out={}, messages_unmatched={}, queued_messages={})")
            .format(s.connections, s.subscriptions, s.messages_in, s.messages_out,
                    s.messages_unmatched, s.queued_messages);
      });

  py::class_<Broker>(m, "Broker", R"(A Flume broker running inside this process, on its own thread.

The same broker as flume-broker. A context manager: leaving the block stops it. With neither
cert_file nor key_file it uses a self-signed certificate in data_dir (made on the first start;
default: $FLUME_DATA_DIR, else $XDG_DATA_HOME/flume, else ~/.local/share/flume). Clients trust
it with ca_file=broker.certificate_path, or connect through broker.connect().)")
      .def(py::init<const std::string &, py::handle, py::handle, py::handle, std::uint32_t,
                    std::uint32_t, std::uint32_t, std::uint32_t, std::uint64_t, double,
                    std::uint64_t>(),
           py::arg("listen") = "127.0.0.1:0", py::kw_only(), py::arg("data_dir") = py::none(),
           py::arg("cert_file") = py::none(), py::arg("key_file") = py::none(),
           py::arg("max_payload") = 0, py::arg("max_connections") = 0,
           py::arg("max_subscriptions") = 0, py::arg("queue_limit") = 0,
           py::arg("max_pending_bytes") = 0, py::arg("shutdown_grace") = 2.0,
           py::arg("max_memory") = 0,
           "Starts a broker listening on `listen` (\"host:port\"; port 0 picks a free one). "
           "Zero limits mean the defaults. max_memory: bytes the queues of all connections "
           "may hold together (default: a quarter of the machine's memory or cgroup limit); "
           "the largest queues take their overflow policy first. Raises InvalidArgument (bad "
           "option, unreadable "
           "certificate) or FlumeError (cannot bind).")
      .def_property_readonly("url", &Broker::url, "\"flume://\" and the address.")
      .def_property_readonly("address", &Broker::address)
      .def_property_readonly("port", &Broker::port)
      .def_property_readonly("certificate_path", &Broker::certificate_path,
                             "The PEM certificate it presents (for ca_file).")
      .def_property_readonly("fingerprint", &Broker::fingerprint,
                             "The SHA-256 fingerprint of its certificate (for pin_sha256).")
      .def_property_readonly("stopped", &Broker::stopped)
      .def("stats", &Broker::stats)
      .def(
          "connect",
          [](const Broker &b, py::kwargs options) {
            if (!options.contains("ca_file") && !options.contains("pin_sha256") &&
                !options.contains("insecure")) {
              options["ca_file"] = b.certificate_path();
            }
            return py::module_::import("flume._flume").attr("connect")(b.url(), **options);
          },
          "flume.connect() to this broker, trusting its certificate; keyword arguments as for "
          "flume.connect().")
      .def("stop", &Broker::stop,
           "Graceful stop: clients hear SHUTTING_DOWN, then it waits up to shutdown_grace "
           "for them. Idempotent.")
      .def("close", &Broker::stop, "The same as stop().")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Broker &b, py::args) { b.stop(); })
      .def("__repr__", [](const Broker &b) {
        return py::str("<flume.Broker {}{}>").format(b.url(), b.stopped() ? " stopped" : "");
      });
}

}  // namespace flume_py
