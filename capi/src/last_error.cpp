#include "last_error.hpp"

#include <cstring>
#include <string>

namespace flume::capi {
namespace {
// A std::string per thread; reused, so steady-state failures do not allocate.
thread_local std::string last_error;
}  // namespace

int fail(int code, std::string_view message) noexcept {
  try {
    last_error.assign(message);
  } catch (...) {
    last_error.clear();  // out of memory while reporting: the code still tells what failed
  }
  return code;
}

int error_code(FrameError error) noexcept {
  switch (error) {
    case FrameError::ok:
      return FLUME_OK;
    case FrameError::unknown_type:
      return FLUME_EUNKNOWN_TYPE;
    case FrameError::missing_subject:
      return FLUME_EMISSING_SUBJECT;
    case FrameError::unexpected_subject:
      return FLUME_EUNEXPECTED_SUBJECT;
    case FrameError::invalid_subject:
      return FLUME_EINVALID_SUBJECT;  // FLUME_EINVALID_PATTERN for SUBSCRIBE: see fail() below
    case FrameError::payload_too_large:
      return FLUME_EPAYLOAD_TOO_LARGE;
    case FrameError::truncated:
      return FLUME_ETRUNCATED;
    case FrameError::buffer_too_small:
      return FLUME_EBUFSIZE;
    case FrameError::invalid_limit:
      return FLUME_EINVAL;
    case FrameError::property_truncated:
    case FrameError::property_duplicate:
    case FrameError::property_bad_length:
      return FLUME_EPROPERTY;
  }
  return FLUME_EINVAL;
}

int fail(FrameError error, std::uint8_t type) noexcept {
  // SUBSCRIBE carries a pattern, not a subject: its invalid field gets the pattern's code and
  // words.
  switch (error) {
    case FrameError::missing_subject:
      return fail(FLUME_EMISSING_SUBJECT,
                  "frame type requires a subject but the subject length is 0");
    case FrameError::unexpected_subject:
      return fail(FLUME_EUNEXPECTED_SUBJECT,
                  "frame type takes no subject but the subject length is not 0");
    case FrameError::invalid_subject:
      if (type == FLUME_FRAME_SUBSCRIBE) {
        return fail(FLUME_EINVALID_PATTERN, "the frame's pattern is not a valid pattern");
      }
      return fail(FLUME_EINVALID_SUBJECT, "the frame's subject is not a valid subject");
    default:
      return fail(error_code(error), describe(error));
  }
}

int fail_subject(int code, std::string_view what, std::string_view text,
                 SubjectError error) noexcept {
  try {
    std::string message(what);
    message += " '";
    // Quote at most a screenful of the refused text; it may be long or contain anything.
    message.append(text.substr(0, 64));
    if (text.size() > 64) message += "...";
    message += "': ";
    message += describe(error);
    return fail(code, message);
  } catch (...) {
    return fail(code, describe(error));
  }
}

int error_code(ClientStatus status) noexcept {
  switch (status) {
    case ClientStatus::ok:
      return FLUME_OK;
    case ClientStatus::invalid_argument:
      return FLUME_EINVAL;
    case ClientStatus::invalid_subject:
      return FLUME_EINVALID_SUBJECT;
    case ClientStatus::invalid_pattern:
      return FLUME_EINVALID_PATTERN;
    case ClientStatus::payload_too_large:
      return FLUME_EPAYLOAD_TOO_LARGE;
    case ClientStatus::timeout:
      return FLUME_ETIMEDOUT;
    case ClientStatus::unreachable:
      return FLUME_EUNREACHABLE;
    case ClientStatus::tls:
      return FLUME_ETLS;
    case ClientStatus::alpn:
      return FLUME_EALPN;
    case ClientStatus::rejected:
      return FLUME_EREJECTED;
    case ClientStatus::not_connected:
      return FLUME_ENOTCONN;
    case ClientStatus::closed:
      return FLUME_ECLOSED;
    case ClientStatus::protocol:
      return FLUME_EPROTOCOL;
    case ClientStatus::no_memory:
      return FLUME_ENOMEM;
    case ClientStatus::os_error:
      return FLUME_EIO;
  }
  return FLUME_EINVAL;
}

int fail(const ClientResult &result) noexcept {
  if (result.ok()) return FLUME_OK;
  return fail(error_code(result.status), result.message);
}

bool struct_size_ok(std::size_t struct_size, std::size_t end, const char *type_name) noexcept {
  if (struct_size >= end) return true;
  // Callers built against an older header pass less; 1.0.0 is the first stable layout, so less
  // is a bug.
  try {
    std::string message(type_name);
    message += ".struct_size is ";
    message += std::to_string(struct_size);
    message += ", below the ";
    message += std::to_string(end);
    message += " bytes this library needs; initialise it with its _INIT macro or _init()";
    fail(FLUME_EOPTIONS, message);
  } catch (...) {
    fail(FLUME_EOPTIONS,
         "struct_size is too small; initialise the struct with its _INIT macro or _init()");
  }
  return false;
}

int init_struct(void *out, std::size_t struct_size, const void *defaults, std::size_t size,
                std::size_t end, const char *type_name) noexcept {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  if (!struct_size_ok(struct_size, end, type_name)) return FLUME_EOPTIONS;
  // A caller built against a newer header passes more: the fields this library does not know
  // stay 0, which means "default" in an option struct.
  std::memset(out, 0, struct_size);
  std::memcpy(out, defaults, struct_size < size ? struct_size : size);
  std::memcpy(out, &struct_size, sizeof struct_size);  // struct_size is every struct's first field
  return FLUME_OK;
}

bool timeout_of(int timeout_ms, Timeout &out) noexcept {
  out = Timeout{};
  if (timeout_ms == FLUME_WAIT_FOREVER) {
    out.forever = true;
  } else if (timeout_ms == FLUME_NO_WAIT) {
    out.ms = 0;
  } else if (timeout_ms < 0) {
    fail(FLUME_EINVAL, "a timeout must be >= 0, FLUME_WAIT_FOREVER (-1) or FLUME_NO_WAIT (-2)");
    return false;
  } else {
    out.ms = timeout_ms;
  }
  return true;
}

}  // namespace flume::capi

extern "C" const char *flume_last_error(void) {
  return flume::capi::last_error.c_str();
}

extern "C" const char *flume_error_name(int code) {
  switch (code) {
#define FLUME_ERROR_CODE(name, python_class) \
  case name:                                 \
    return #name;
#include "../error_codes.def"
#undef FLUME_ERROR_CODE
    default:
      return "FLUME_E?";
  }
}
