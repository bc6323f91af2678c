// FLUME_E* codes to Python exceptions (the classes live in flume/errors.py), argument helpers and
// the deadline used by every waiting call.
#include <cmath>
#include <limits>

#include "binding.hpp"

namespace flume_py {

namespace {

// Kept for the life of the process: released at exit, a py::object could outlive the interpreter.
py::object *from_code = nullptr;
py::object *flume_error = nullptr;

}  // namespace

const char *exception_class_name(int code) {
  switch (code) {
#define FLUME_ERROR_CODE(name, python_class) \
  case name:                                 \
    return #python_class;
#include "error_codes.def"
#undef FLUME_ERROR_CODE
    default:
      return "FlumeError";
  }
}

void init_errors(py::module_ &m) {
  m.def("exception_class_name", &exception_class_name, py::arg("code"),
        "The name of the flume.errors class a FLUME_E* code raises (capi/error_codes.def).");
  py::module_ errors = py::module_::import("flume.errors");
  from_code = new py::object(errors.attr("from_code"));
  flume_error = new py::object(errors.attr("FlumeError"));
}

int code_of(const py::error_already_set &error) {
  if (!error.matches(*flume_error)) return 0;
  return error.value().attr("code").cast<int>();
}

py::object make_error(int code, const std::string &message) {
  PyObject *decoded =
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (decoded == nullptr) throw py::error_already_set();
  auto text = py::reinterpret_steal<py::str>(decoded);
  return (*from_code)(code, flume_error_name(code), text, exception_class_name(code));
}

void raise_error(int code, const std::string &message) {
  py::object error = make_error(code, message);
  PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

void raise_last(int code) {
  raise_error(code, flume_last_error());
}

ByteView::ByteView(py::handle object, const char *what) {
  PyObject *o = object.ptr();
  if (PyBytes_Check(o)) {
    data_ = PyBytes_AS_STRING(o);
    size_ = static_cast<std::size_t>(PyBytes_GET_SIZE(o));
    return;
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    data_ = PyUnicode_AsUTF8AndSize(o, &size);
    if (data_ == nullptr) throw py::error_already_set();
    size_ = static_cast<std::size_t>(size);
    return;
  }
  if (PyObject_GetBuffer(o, &buffer_, PyBUF_SIMPLE) != 0) {
    PyErr_Clear();
    throw py::type_error(std::string(what) + " must be bytes, str or a contiguous buffer, not " +
                         Py_TYPE(o)->tp_name);
  }
  has_buffer_ = true;
  data_ = static_cast<const char *>(buffer_.buf);
  size_ = static_cast<std::size_t>(buffer_.len);
}

ByteView::~ByteView() {
  if (has_buffer_) PyBuffer_Release(&buffer_);
}

std::string path_or_empty(py::handle object, const char *what) {
  if (object.is_none()) return {};
  PyObject *path = PyOS_FSPath(object.ptr());
  if (path == nullptr) {
    PyErr_Clear();
    throw py::type_error(std::string(what) + " must be a str or os.PathLike");
  }
  py::object owned = py::reinterpret_steal<py::object>(path);
  if (PyBytes_Check(path)) return std::string(PyBytes_AS_STRING(path), PyBytes_GET_SIZE(path));
  return owned.cast<std::string>();
}

Deadline::Deadline(py::handle timeout_seconds) {
  if (timeout_seconds.is_none()) return;
  const double seconds = PyFloat_AsDouble(timeout_seconds.ptr());
  if (seconds == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (std::isnan(seconds) || seconds < 0) {
    raise_error(FLUME_EINVAL, "timeout must be None or a number of seconds >= 0");
  }
  unlimited_ = false;
  immediate_ = seconds == 0;
  seconds_ = seconds;
  // Beyond a year is as good as no limit, and keeps the arithmetic in range.
  if (seconds > 365.0 * 24 * 3600) {
    unlimited_ = true;
    return;
  }
  end_ = std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             std::chrono::duration<double>(seconds));
}

int Deadline::slice_ms() const {
  if (unlimited_) return kSliceMs;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
  if (left.count() < 1) return 1;
  return left.count() < kSliceMs ? static_cast<int>(left.count()) : kSliceMs;
}

}  // namespace flume_py
