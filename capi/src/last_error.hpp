// The thread-local last-error message behind flume_last_error(), and the mapping from core
// errors to FLUME_E* codes. Internal to libflume.
#pragma once

#include <string_view>

#include "codec/frame.hpp"
#include "flume/flume.h"
#include "subject/subject.hpp"

namespace flume::capi {

// Records `message` for flume_last_error() on this thread and returns `code`, so a failing call
// can end with `return fail(FLUME_EINVAL, "...")`.
int fail(int code, std::string_view message) noexcept;

// The FLUME_E* code for a codec error (FLUME_OK for FrameError::ok).
int error_code(FrameError error) noexcept;

// fail() with the code and message of a codec error.
int fail(FrameError error) noexcept;

// fail() with `code` and a message naming what was refused and why ("subject 'a..b': ...").
int fail_subject(int code, std::string_view what, std::string_view text,
                 SubjectError error) noexcept;

}  // namespace flume::capi
