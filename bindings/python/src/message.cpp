// flume.Message as a CPython heap type: three read-only fields, the id and the sequence, equality
// by content; flume.Gap, where a subscription that asked for them (gaps=True) missed messages.
#include "message.hpp"

#include <structmember.h>

#include <cstddef>
#include <cstring>

namespace flume_py {

namespace {

struct MessageObject {
  PyObject_HEAD PyObject *subject;  // str
  PyObject *data;                   // bytes
  PyObject *subscription;           // flume.Subscription or None
  unsigned int subscription_id;
  unsigned long long sequence;  // in its subscription, from 1; 0 for one made by hand
};

PyTypeObject *message_type = nullptr;

void message_dealloc(PyObject *self) {
  auto *m = reinterpret_cast<MessageObject *>(self);
  PyTypeObject *type = Py_TYPE(self);
  Py_XDECREF(m->subject);
  Py_XDECREF(m->data);
  Py_XDECREF(m->subscription);
  type->tp_free(self);
  Py_DECREF(type);  // instances of heap types own a reference to their type
}

PyObject *message_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  static const char *keywords[] = {"subject", "data", "subscription", "sequence", nullptr};
  PyObject *subject = nullptr;
  PyObject *data = nullptr;
  PyObject *subscription = Py_None;
  unsigned long long sequence = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UO|OK:Message", const_cast<char **>(keywords),
                                   &subject, &data, &subscription, &sequence)) {
    return nullptr;
  }
  PyObject *bytes = nullptr;
  if (PyUnicode_Check(data)) {
    bytes = PyUnicode_AsUTF8String(data);
  } else {
    bytes = PyBytes_FromObject(data);
  }
  if (bytes == nullptr) return nullptr;
  auto *m = reinterpret_cast<MessageObject *>(type->tp_alloc(type, 0));
  if (m == nullptr) {
    Py_DECREF(bytes);
    return nullptr;
  }
  Py_INCREF(subject);
  m->subject = subject;
  m->data = bytes;
  Py_INCREF(subscription);
  m->subscription = subscription;
  m->subscription_id = 0;
  m->sequence = sequence;
  if (subscription != Py_None) {
    PyObject *id = PyObject_GetAttrString(subscription, "id");
    if (id == nullptr) {
      PyErr_Clear();
    } else {
      m->subscription_id = static_cast<unsigned int>(PyLong_AsUnsignedLongMask(id));
      Py_DECREF(id);
    }
  }
  return reinterpret_cast<PyObject *>(m);
}

PyObject *message_repr(PyObject *self) {
  auto *m = reinterpret_cast<MessageObject *>(self);
  return PyUnicode_FromFormat("Message(subject=%R, data=%R, subscription_id=%u, sequence=%llu)",
                              m->subject, m->data, m->subscription_id, m->sequence);
}

PyObject *message_richcompare(PyObject *self, PyObject *other, int op) {
  if ((op != Py_EQ && op != Py_NE) || Py_TYPE(other) != Py_TYPE(self)) Py_RETURN_NOTIMPLEMENTED;
  auto *a = reinterpret_cast<MessageObject *>(self);
  auto *b = reinterpret_cast<MessageObject *>(other);
  int equal = PyObject_RichCompareBool(a->subject, b->subject, Py_EQ);
  if (equal == 1) equal = PyObject_RichCompareBool(a->data, b->data, Py_EQ);
  if (equal < 0) return nullptr;
  return PyBool_FromLong((equal == 1) == (op == Py_EQ));
}

PyMemberDef message_members[] = {
    {"subject", T_OBJECT_EX, offsetof(MessageObject, subject), READONLY,
     "The subject the message was published to (str)."},
    {"data", T_OBJECT_EX, offsetof(MessageObject, data), READONLY, "The payload (bytes)."},
    {"subscription", T_OBJECT_EX, offsetof(MessageObject, subscription), READONLY,
     "The Subscription it came through (None for a Message made by hand)."},
    {"subscription_id", T_UINT, offsetof(MessageObject, subscription_id), READONLY,
     "The id of that subscription."},
    {"sequence", T_ULONGLONG, offsetof(MessageObject, sequence), READONLY,
     "Its number in the subscription: 1, 2, 3, ... counting every message the broker routed to "
     "it, dropped ones too, so a jump of n + 1 means n were dropped (0 for a Message made by "
     "hand)."},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot message_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void *>(&message_dealloc)},
    {Py_tp_new, reinterpret_cast<void *>(&message_new)},
    {Py_tp_repr, reinterpret_cast<void *>(&message_repr)},
    {Py_tp_richcompare, reinterpret_cast<void *>(&message_richcompare)},
    {Py_tp_members, message_members},
    {Py_tp_doc,
     const_cast<char *>("A received message: subject (str), data (bytes), subscription.")},
    {0, nullptr}};

PyType_Spec message_spec = {"flume.Message", sizeof(MessageObject), 0, Py_TPFLAGS_DEFAULT,
                            message_slots};

}  // namespace

PyObject *SubjectCache::get(const char *subject, std::size_t length) {
  if (text_ != nullptr && length == subject_.size() &&
      std::memcmp(subject, subject_.data(), length) == 0) {
    Py_INCREF(text_);
    return text_;
  }
  // The broker only delivers valid UTF-8 subjects; surrogateescape keeps any other bytes.
  PyObject *text =
      PyUnicode_DecodeUTF8(subject, static_cast<Py_ssize_t>(length), "surrogateescape");
  if (text == nullptr) return nullptr;
  Py_XDECREF(text_);
  Py_INCREF(text);
  text_ = text;
  subject_.assign(subject, length);
  return text;
}

PyObject *new_message(const flume_message_view &view, PyObject *subscription, SubjectCache &cache) {
  PyObject *subject = cache.get(view.subject, view.subject_length);
  if (subject == nullptr) return nullptr;
  PyObject *data = PyBytes_FromStringAndSize(static_cast<const char *>(view.payload),
                                             static_cast<Py_ssize_t>(view.payload_length));
  if (data == nullptr) {
    Py_DECREF(subject);
    return nullptr;
  }
  auto *m = PyObject_New(MessageObject, message_type);
  if (m == nullptr) {
    Py_DECREF(subject);
    Py_DECREF(data);
    return nullptr;
  }
  m->subject = subject;
  m->data = data;
  if (subscription == nullptr) subscription = Py_None;
  Py_INCREF(subscription);
  m->subscription = subscription;
  m->subscription_id = view.subscription_id;
  m->sequence = view.sequence;
  return reinterpret_cast<PyObject *>(m);
}

PyObject *new_item(const flume_message_view &view, PyObject *subscription, SubjectCache &cache) {
  return view.kind == FLUME_MESSAGE_GAP ? new_gap(view, subscription)
                                        : new_message(view, subscription, cache);
}

void init_message(py::module_ &m) {
  PyObject *type = PyType_FromSpec(&message_spec);
  if (type == nullptr) throw py::error_already_set();
  message_type = reinterpret_cast<PyTypeObject *>(type);
  // The module keeps one reference; message_type borrows it for the life of the process.
  Py_INCREF(type);
  m.add_object("Message", py::reinterpret_steal<py::object>(type));
}

}  // namespace flume_py
