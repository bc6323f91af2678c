// libflume's log handler, forwarding into Python: flume._log owns the policy (logger names,
// levels); this file only crosses threads. The handler runs on libflume's loop threads, so it
// takes the GIL; it is removed at exit (remove_log_handler(), from the atexit hook) before the
// interpreter finalizes, and does nothing if called while it does.
#include "binding.hpp"

namespace flume_py {

namespace {

// flume._log._emit(level, component, message). Read and replaced with the GIL held; never
// destroyed (a loop thread may log while the interpreter exits).
py::object *emit_function = new py::object();

void forward(void *, int level, const char *component, const char *message) {
  if (!Py_IsInitialized() || finalizing()) return;
  py::gil_scoped_acquire gil;
  if (!*emit_function) return;
  try {
    (*emit_function)(level, component, message);
  } catch (py::error_already_set &error) {
    error.discard_as_unraisable("flume log handler");
  } catch (...) {
  }
}

// Installs the handler for `level` (a FLUME_LOG_* value) and up; FLUME_LOG_OFF removes it.
void set_handler(int level, py::object emit) {
  *emit_function = std::move(emit);
  int rc;
  {
    // Without the GIL: replacing the handler waits for its running calls, which need the GIL.
    py::gil_scoped_release nogil;
    rc = flume_set_log_handler(level, level == FLUME_LOG_OFF ? nullptr : &forward, nullptr);
  }
  check(rc);
}

}  // namespace

void remove_log_handler() {
  py::gil_scoped_release nogil;
  flume_set_log_handler(FLUME_LOG_OFF, nullptr, nullptr);
}

void init_log(py::module_ &m) {
  m.attr("LOG_TRACE") = static_cast<int>(FLUME_LOG_TRACE);
  m.attr("LOG_DEBUG") = static_cast<int>(FLUME_LOG_DEBUG);
  m.attr("LOG_INFO") = static_cast<int>(FLUME_LOG_INFO);
  m.attr("LOG_WARN") = static_cast<int>(FLUME_LOG_WARN);
  m.attr("LOG_ERROR") = static_cast<int>(FLUME_LOG_ERROR);
  m.attr("LOG_OFF") = static_cast<int>(FLUME_LOG_OFF);
  m.def("_set_log_handler", &set_handler, py::arg("level"), py::arg("emit"),
        "Installs emit(level, component, message) for libflume's messages at `level` (LOG_*) "
        "and above; LOG_OFF removes it. Use flume.set_log_level().");
}

}  // namespace flume_py
