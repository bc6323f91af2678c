// flume.Gap: where a subscription made with gaps=True missed messages, in their place among the
// messages it receives. Gaps are rare, so a plain pybind11 class is fast enough.
#include <pybind11/pybind11.h>

#include "message.hpp"

namespace flume_py {

namespace {

struct Gap {
  py::object subscription;  // flume.Subscription or None
  unsigned int subscription_id = 0;
  unsigned long long sequence = 0;
  bool resubscribed = false;
  unsigned long long dropped_by_broker = 0;
  unsigned long long dropped_locally = 0;
  double disconnected = 0.0;  // seconds
};

}  // namespace

PyObject *new_gap(const flume_message_view &view, PyObject *subscription) {
  try {
    Gap gap;
    gap.subscription = py::reinterpret_borrow<py::object>(subscription ? subscription : Py_None);
    gap.subscription_id = view.subscription_id;
    gap.sequence = view.sequence;
    gap.resubscribed = view.gap_resubscribed != 0;
    gap.dropped_by_broker = view.gap_dropped_by_broker;
    gap.dropped_locally = view.gap_dropped_locally;
    gap.disconnected = static_cast<double>(view.gap_disconnected_ms) / 1000.0;
    return py::cast(std::move(gap)).release().ptr();
  } catch (py::error_already_set &error) {
    error.restore();
    return nullptr;
  }
}

void init_gap(py::module_ &m) {
  py::class_<Gap>(m, "Gap", R"(Where messages are missing, in their place in the order.

Only a subscription made with gaps=True receives these (from recv, recv_batch and iteration),
between the message before the gap and the one after it. Gaps waiting together are merged;
one already received can be followed by another: add up their counts.)")
      .def_readonly("subscription", &Gap::subscription, "The Subscription it came through.")
      .def_readonly("subscription_id", &Gap::subscription_id, "The id of that subscription.")
      .def_readonly("sequence", &Gap::sequence,
                    "The sequence of the last message before the gap (0: none).")
      .def_readonly("resubscribed", &Gap::resubscribed,
                    "True when the connection was lost and the subscription made again on a new "
                    "one: what was published meanwhile was missed, and nobody counted it.")
      .def_readonly("dropped_by_broker", &Gap::dropped_by_broker,
                    "Messages the broker dropped here (its queue for the subscription was full).")
      .def_readonly("dropped_locally", &Gap::dropped_locally,
                    "Messages dropped in this process (the local queue was full).")
      .def_readonly("disconnected", &Gap::disconnected,
                    "Seconds from noticing the lost connection to subscribing again (0.0 "
                    "unless resubscribed).")
      .def_property_readonly(
          "dropped", [](const Gap &gap) { return gap.dropped_by_broker + gap.dropped_locally; },
          "dropped_by_broker + dropped_locally: the messages missing that were counted.")
      .def("__repr__", [](const Gap &gap) {
        return py::str(
                   "Gap(sequence={}, dropped_by_broker={}, dropped_locally={}, resubscribed={}, "
                   "disconnected={})")
            .format(gap.sequence, gap.dropped_by_broker, gap.dropped_locally, gap.resubscribed,
                    gap.disconnected);
      });
}

}  // namespace flume_py
