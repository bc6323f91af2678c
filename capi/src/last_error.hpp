// The thread-local last-error message behind flume_last_error(), and the mapping from core
// errors to FLUME_E* codes. Internal to libflume.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <system_error>

#include "codec/frame.hpp"
#include "flume/flume.h"
#include "runtime/client.hpp"
#include "subject/subject.hpp"

namespace flume::capi {

// Records `message` for flume_last_error() on this thread and returns `code`, so a failing call
// can end with `return fail(FLUME_EINVAL, "...")`.
int fail(int code, std::string_view message) noexcept;

// The FLUME_E* code for a codec error (FLUME_OK for FrameError::ok).
int error_code(FrameError error) noexcept;

// fail() with the code and message of a codec error in a frame of type `type` (an invalid subject
// is FLUME_EINVALID_PATTERN in a SUBSCRIBE, FLUME_EINVALID_SUBJECT elsewhere).
int fail(FrameError error, std::uint8_t type) noexcept;

// fail() with `code` and a message naming what was refused and why ("subject 'a..b': ...").
int fail_subject(int code, std::string_view what, std::string_view text,
                 SubjectError error) noexcept;

// The FLUME_E* code for a client status (FLUME_OK for ClientStatus::ok).
int error_code(ClientStatus status) noexcept;

// fail() with the code and message of a client result; FLUME_OK for a successful one.
int fail(const ClientResult &result) noexcept;

// Runs `body` (which returns a FLUME_E* code) and turns an exception escaping it into a code:
// nothing may unwind into C.
template <class Body>
int guarded(Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(FLUME_ENOMEM, "out of memory");
  } catch (const std::system_error &error) {
    return fail(FLUME_EIO, error.what());
  } catch (const std::exception &error) {
    return fail(FLUME_EINVAL, error.what());
  } catch (...) {
    return fail(FLUME_EINVAL, "unexpected exception");
  }
}

// True when an option or stats struct the caller passed is large enough to hold `end` bytes
// (the end of the last field this version reads or writes); otherwise records FLUME_EOPTIONS.
bool struct_size_ok(std::size_t struct_size, std::size_t end, const char *type_name) noexcept;

// The end of `Struct`'s last field as of 1.0.0, the smallest struct_size a caller may pass.
#define FLUME_STRUCT_END(Struct, last_field) \
  (offsetof(Struct, last_field) + sizeof(static_cast<Struct *>(nullptr)->last_field))

// Fills an option or stats struct the caller allocated with `struct_size` bytes: zeroes them,
// then copies the first min(struct_size, sizeof) bytes of `defaults`. FLUME_EOPTIONS below `end`.
int init_struct(void *out, std::size_t struct_size, const void *defaults, std::size_t size,
                std::size_t end, const char *type_name) noexcept;

// A timeout in milliseconds as flume.h defines it ("Timeouts"): false for an invalid value
// (a negative other than FLUME_WAIT_FOREVER and FLUME_NO_WAIT). `forever` is set for
// FLUME_WAIT_FOREVER, `ms` to the wait otherwise (0 for FLUME_NO_WAIT).
struct Timeout {
  bool forever = false;
  int ms = 0;
};
bool timeout_of(int timeout_ms, Timeout &out) noexcept;

}  // namespace flume::capi
