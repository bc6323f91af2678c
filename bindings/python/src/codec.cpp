// The wire codec and subject rules through the C ABI: flume_frame_encode, flume_decoder_*,
// flume_subject_validate, flume_pattern_validate, flume_pattern_matches (flume.codec).
#include <vector>

#include "binding.hpp"

namespace flume_py {

namespace {

struct Frame {
  int type = 0;
  py::bytes subject;
  py::bytes payload;
};

Frame frame_of(const flume_frame &f) {
  return Frame{f.type, py::bytes(f.subject, f.subject_length),
               py::bytes(static_cast<const char *>(f.payload), f.payload_length)};
}

class Decoder {
 public:
  explicit Decoder(std::uint32_t max_payload) {
    flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
    if (max_payload != 0) options.max_payload = max_payload;
    check(flume_decoder_new(&decoder_, &options));
  }
  ~Decoder() { flume_decoder_free(decoder_); }
  Decoder(const Decoder &) = delete;
  Decoder &operator=(const Decoder &) = delete;

  // Every frame completed by `data`. On an error, FrameError carries the frames before it, the
  // bytes consumed, the bad frame when readable, and whether decoding may go on.
  py::list feed(py::handle data) {
    const ByteView bytes(data, "data");
    py::list frames;
    std::size_t offset = 0;
    for (;;) {
      std::size_t consumed = 0;
      flume_frame frame{};
      const int rc = flume_decoder_next(&frame, &consumed, decoder_, bytes.bytes() + offset,
                                        bytes.size() - offset);
      offset += consumed;
      if (rc == 1) {
        frames.append(py::cast(frame_of(frame)));
        if (offset == bytes.size()) return frames;
        continue;
      }
      if (rc == 0) return frames;
      py::object error = make_error(rc, flume_last_error());
      error.attr("frames") = frames;
      error.attr("consumed") = offset;
      // A frame whose subject breaks its type's rule was read whole: decoding may go on.
      const bool recoverable = rc == FLUME_EINVALID_SUBJECT || rc == FLUME_EINVALID_PATTERN;
      error.attr("recoverable") = recoverable;
      if (recoverable) error.attr("frame") = py::cast(frame_of(frame));
      PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.ptr())), error.ptr());
      throw py::error_already_set();
    }
  }

  void finish() { check(flume_decoder_finish(decoder_)); }

 private:
  flume_decoder *decoder_ = nullptr;
};

py::bytes encode(int type, py::handle subject, py::handle payload, std::uint32_t max_payload) {
  if (type < 0 || type > 255) raise_error(FLUME_EINVAL, "type must be 0..255");
  const ByteView subject_bytes(subject, "subject");
  const ByteView payload_bytes(payload, "payload");
  const std::size_t size = flume_frame_size(subject_bytes.size(), payload_bytes.size());
  py::bytes out(nullptr, 0);
  PyObject *raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (raw == nullptr) throw py::error_already_set();
  out = py::reinterpret_steal<py::bytes>(raw);
  std::size_t written = 0;
  check(flume_frame_encode(PyBytes_AS_STRING(raw), size, &written, static_cast<std::uint8_t>(type),
                           subject_bytes.data(), subject_bytes.size(), payload_bytes.bytes(),
                           payload_bytes.size(), max_payload));
  if (written != size) raise_error(FLUME_EBUFSIZE, "encoded size differs from flume_frame_size");
  return out;
}

}  // namespace

void init_codec(py::module_ &m) {
  py::class_<Frame>(m, "Frame", "One decoded frame: type (int), subject (bytes), payload (bytes).")
      .def(py::init([](int type, py::bytes subject, py::bytes payload) {
             return Frame{type, std::move(subject), std::move(payload)};
           }),
           py::arg("type"), py::arg("subject"), py::arg("payload"))
      .def_readonly("type", &Frame::type)
      .def_readonly("subject", &Frame::subject)
      .def_readonly("payload", &Frame::payload)
      .def_property_readonly(
          "type_name",
          [](const Frame &f) { return flume_frame_type_name(static_cast<std::uint8_t>(f.type)); },
          "The wire name of the type (\"publish\"), or \"unknown\".")
      .def("__eq__",
           [](const Frame &a, const Frame &b) {
             return a.type == b.type && a.subject.equal(b.subject) && a.payload.equal(b.payload);
           })
      .def("__repr__", [](const Frame &f) {
        return py::str("Frame(type={}, subject={!r}, payload={!r})")
            .format(f.type, f.subject, f.payload);
      });

  py::class_<Decoder>(m, "Decoder", R"(Incremental decoder for one stream of frames.

feed() takes bytes in any split (one byte at a time works) and returns the frames they
complete; finish() at the end of the stream raises FrameError if it ended inside a frame.)")
      .def(py::init<std::uint32_t>(), py::arg("max_payload") = 0)
      .def("feed", &Decoder::feed, py::arg("data"))
      .def("finish", &Decoder::finish);

  m.def("encode_frame", &encode, py::arg("type"), py::arg("subject"), py::arg("payload"),
        py::arg("max_payload") = 0,
        "The wire bytes of one frame. The subject is checked against the type and the payload "
        "against max_payload (0: 64 KiB). FrameError, InvalidSubject, InvalidPattern, "
        "PayloadTooLarge.");
  m.def(
      "frame_size",
      [](std::size_t subject_length, std::size_t payload_length) {
        return flume_frame_size(subject_length, payload_length);
      },
      py::arg("subject_length"), py::arg("payload_length"));
  m.def(
      "frame_type_name",
      [](int type) {
        return flume_frame_type_name(static_cast<std::uint8_t>(type < 0 || type > 255 ? 0 : type));
      },
      py::arg("type"));
  m.def(
      "validate_subject",
      [](py::handle subject) {
        const ByteView bytes(subject, "subject");
        check(flume_subject_validate(bytes.data(), bytes.size()));
      },
      py::arg("subject"), "Raises InvalidSubject (saying why) unless `subject` is valid.");
  m.def(
      "validate_pattern",
      [](py::handle pattern) {
        const ByteView bytes(pattern, "pattern");
        check(flume_pattern_validate(bytes.data(), bytes.size()));
      },
      py::arg("pattern"), "Raises InvalidPattern (saying why) unless `pattern` is valid.");
  m.def(
      "pattern_matches",
      [](py::handle pattern, py::handle subject) {
        const ByteView p(pattern, "pattern");
        const ByteView s(subject, "subject");
        const int rc = flume_pattern_matches(p.data(), p.size(), s.data(), s.size());
        check(rc);
        return rc == 1;
      },
      py::arg("pattern"), py::arg("subject"),
      "True if the subject matches the pattern; InvalidPattern/InvalidSubject if either is "
      "invalid.");
}

}  // namespace flume_py
