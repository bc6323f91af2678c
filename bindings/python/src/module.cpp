// The _flume extension: checks that libflume is the version of the header it was built with,
// then puts the parts together. The pure-Python package (bindings/python/flume) re-exports it.
#include <mutex>
#include <unordered_set>
#include <vector>

#include "binding.hpp"

namespace flume_py {

namespace {

std::mutex open_mutex;
std::unordered_set<Client *> open_clients;
std::unordered_set<Broker *> open_brokers;

// At exit, before the interpreter tears down: clients first (their goodbyes reach a broker that
// may be embedded here), then brokers, then the log handler.
void close_everything() {
  std::vector<py::object> clients;
  std::vector<py::object> brokers;
  {
    std::lock_guard lock(open_mutex);
    // References, so nothing is collected while it is being closed.
    for (Client *c : open_clients)
      clients.push_back(owner_of(c));
    for (Broker *b : open_brokers)
      brokers.push_back(owner_of(b));
  }
  for (auto &c : clients)
    close_at_exit(c);
  for (auto &b : brokers)
    close_at_exit(b);
  // Last: what closing logged has been handed to logging; nothing may call into Python after.
  remove_log_handler();
}

}  // namespace

void register_open(Client *client) {
  std::lock_guard lock(open_mutex);
  open_clients.insert(client);
}
void unregister_open(Client *client) {
  std::lock_guard lock(open_mutex);
  open_clients.erase(client);
}
void register_open(Broker *broker) {
  std::lock_guard lock(open_mutex);
  open_brokers.insert(broker);
}
void unregister_open(Broker *broker) {
  std::lock_guard lock(open_mutex);
  open_brokers.erase(broker);
}

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

}  // namespace flume_py

PYBIND11_MODULE(_flume, m) {
  namespace py = pybind11;
  using namespace flume_py;

  // A mismatch can only come from a broken build (libflume is linked in statically), but a
  // binding that checks costs nothing and names the problem if it ever happens.
  if (flume_version_number() != FLUME_VERSION_NUMBER) {
    throw py::import_error(std::string("flume: built against libflume ") + FLUME_VERSION +
                           " but loaded libflume " + flume_version());
  }

  m.doc() = "Flume's C ABI for Python (use the flume package, which re-exports this).";
  m.attr("__version__") = flume_version();
  m.attr("HEADER_VERSION") = FLUME_VERSION;
  m.attr("VERSION_NUMBER") = flume_version_number();
  m.attr("MAX_SUBJECT_LENGTH") = FLUME_MAX_SUBJECT_LENGTH;
  m.attr("FRAME_HEADER_SIZE") = FLUME_FRAME_HEADER_SIZE;
  m.attr("DEFAULT_MAX_PAYLOAD") = FLUME_DEFAULT_MAX_PAYLOAD;
  m.attr("HARD_MAX_PAYLOAD") = FLUME_HARD_MAX_PAYLOAD;
  m.attr("FRAME_HELLO") = FLUME_FRAME_HELLO;
  m.attr("FRAME_OK") = FLUME_FRAME_OK;
  m.attr("FRAME_ERROR") = FLUME_FRAME_ERROR;
  m.attr("FRAME_PING") = FLUME_FRAME_PING;
  m.attr("FRAME_PONG") = FLUME_FRAME_PONG;
  m.attr("FRAME_SUBSCRIBE") = FLUME_FRAME_SUBSCRIBE;
  m.attr("FRAME_UNSUBSCRIBE") = FLUME_FRAME_UNSUBSCRIBE;
  m.attr("FRAME_PUBLISH") = FLUME_FRAME_PUBLISH;
  m.attr("FRAME_MESSAGE") = FLUME_FRAME_MESSAGE;
  m.attr("FRAME_SUBSCRIPTION") = FLUME_FRAME_SUBSCRIPTION;
  m.attr("FRAME_DROPPED") = FLUME_FRAME_DROPPED;
  m.def(
      "error_name", [](int code) { return flume_error_name(code); }, py::arg("code"),
      "The symbolic name of a FLUME_E* code (\"FLUME_ETLS\").");

  init_errors(m);
  init_message(m);
  init_gap(m);
  init_subscription(m);
  init_client(m);
  init_broker(m);
  init_codec(m);
  init_log(m);
  // Shown as flume.Client, not flume._flume.Client: the package is the public name.
  for (const char *name : {"Client", "Subscription", "MessageIterator", "Broker", "ClientStats",
                           "SubscriptionStats", "BrokerStats", "Gap"}) {
    m.attr(name).attr("__module__") = "flume";
  }
  for (const char *name : {"Frame", "Decoder"})
    m.attr(name).attr("__module__") = "flume.codec";

  py::module_::import("atexit").attr("register")(py::cpp_function(&close_everything));
}
