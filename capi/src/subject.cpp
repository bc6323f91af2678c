// flume_subject_* and flume_pattern_*: subject validation through the C ABI.
#include <string_view>

#include "last_error.hpp"

using flume::SubjectError;
using flume::capi::fail;
using flume::capi::fail_subject;

namespace {
// A NULL pointer with a zero length is the empty string; with a nonzero length, a caller bug.
bool view_of(const char *text, std::size_t length, std::string_view &out) {
  if (text == nullptr && length != 0) return false;
  out = text == nullptr ? std::string_view() : std::string_view(text, length);
  return true;
}
}  // namespace

extern "C" int flume_subject_validate(const char *subject, size_t length) {
  std::string_view view;
  if (!view_of(subject, length, view)) return fail(FLUME_EINVAL, "subject is NULL");
  SubjectError error = flume::validate_subject(view);
  if (error != SubjectError::ok)
    return fail_subject(FLUME_EINVALID_SUBJECT, "subject", view, error);
  return FLUME_OK;
}

extern "C" int flume_pattern_validate(const char *pattern, size_t length) {
  std::string_view view;
  if (!view_of(pattern, length, view)) return fail(FLUME_EINVAL, "pattern is NULL");
  SubjectError error = flume::validate_pattern(view);
  if (error != SubjectError::ok)
    return fail_subject(FLUME_EINVALID_PATTERN, "pattern", view, error);
  return FLUME_OK;
}

extern "C" int flume_pattern_matches(const char *pattern, size_t pattern_length,
                                     const char *subject, size_t subject_length) {
  int rc = flume_pattern_validate(pattern, pattern_length);
  if (rc != FLUME_OK) return rc;
  rc = flume_subject_validate(subject, subject_length);
  if (rc != FLUME_OK) return rc;
  return flume::pattern_matches(std::string_view(pattern, pattern_length),
                                std::string_view(subject, subject_length))
             ? 1
             : 0;
}
