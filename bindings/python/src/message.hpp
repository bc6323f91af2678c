// flume.Message: a received message as a small native object (subject, data, subscription). Made
// once per message on the receive path, so it is a plain CPython type, not a pybind11 class.
#pragma once

#include "binding.hpp"

namespace flume_py {

// The str of the last subject seen on a subscription: most subscriptions see few subjects, so
// decoding the same bytes again is skipped. Used with the GIL held.
class SubjectCache {
 public:
  SubjectCache() = default;
  ~SubjectCache() { Py_XDECREF(text_); }
  SubjectCache(const SubjectCache &) = delete;
  SubjectCache &operator=(const SubjectCache &) = delete;

  // A new reference to the str for `subject`, or nullptr with a Python error set.
  PyObject *get(const char *subject, std::size_t length);

 private:
  std::string subject_;
  PyObject *text_ = nullptr;
};

// A new flume.Message for `view` (copied), or nullptr with a Python error set. `subscription`
// may be nullptr (None).
PyObject *new_message(const flume_message_view &view, PyObject *subscription, SubjectCache &cache);
// A new flume.Gap for a gap view (kind FLUME_MESSAGE_GAP), or nullptr with a Python error set.
PyObject *new_gap(const flume_message_view &view, PyObject *subscription);
// new_gap() or new_message(), by the view's kind.
PyObject *new_item(const flume_message_view &view, PyObject *subscription, SubjectCache &cache);

}  // namespace flume_py
