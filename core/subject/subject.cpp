#include "subject/subject.hpp"

#include <cstdint>

namespace flume {
namespace {

// Length of the UTF-8 sequence starting at `text[i]`, or 0 if it is not a valid, shortest-form
// sequence of a Unicode scalar value. Called only for bytes >= 0x80.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint8_t second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < second_min || byte(i + 1) > second_max) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

SubjectError validate(std::string_view text, bool wildcards_allowed) noexcept {
  if (text.empty()) return SubjectError::empty;
  if (text.size() > kMaxSubjectLength) return SubjectError::too_long;

  std::size_t token_start = 0;
  bool seen_full_wildcard = false;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      std::string_view token = text.substr(token_start, i - token_start);
      if (token.empty()) return SubjectError::empty_token;
      if (seen_full_wildcard) return SubjectError::full_wildcard_not_last;
      if (token == ">") seen_full_wildcard = true;
      token_start = i + 1;
      continue;
    }
    const auto c = static_cast<std::uint8_t>(text[i]);
    if (c == '*' || c == '>') {
      if (!wildcards_allowed) return SubjectError::wildcard_in_subject;
      const bool alone = (i == token_start) && (i + 1 == text.size() || text[i + 1] == '.');
      if (!alone) return SubjectError::wildcard_inside_token;
    } else if (c <= 0x20 || c == 0x7F) {
      return SubjectError::invalid_byte;
    } else if (c >= 0x80) {
      std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) return SubjectError::invalid_byte;
      i += length - 1;
    }
  }
  return SubjectError::ok;
}

}  // namespace

SubjectError validate_subject(std::string_view subject) noexcept {
  return validate(subject, false);
}

SubjectError validate_pattern(std::string_view pattern) noexcept {
  return validate(pattern, true);
}

const char *describe(SubjectError error) noexcept {
  switch (error) {
    case SubjectError::ok:
      return "valid";
    case SubjectError::empty:
      return "subject is empty";
    case SubjectError::too_long:
      return "subject is longer than 255 bytes";
    case SubjectError::empty_token:
      return "subject has an empty token (a leading, trailing or doubled '.')";
    case SubjectError::invalid_byte:
      return "subject contains a space, a control byte or invalid UTF-8";
    case SubjectError::wildcard_in_subject:
      return "wildcards '*' and '>' are allowed only in subscription patterns, not in subjects";
    case SubjectError::wildcard_inside_token:
      return "a wildcard must be a whole token ('a.*.c', not 'a.b*')";
    case SubjectError::full_wildcard_not_last:
      return "'>' must be the last token of a pattern";
  }
  return "unknown subject error";
}

bool pattern_matches(std::string_view pattern, std::string_view subject) noexcept {
  TokenCursor patterns(pattern), subjects(subject);
  std::string_view p, s;
  while (patterns.next(p)) {
    if (p == ">") return subjects.next(s);  // one or more remaining tokens
    if (!subjects.next(s)) return false;
    if (p != "*" && p != s) return false;
  }
  return !subjects.next(s);
}

}  // namespace flume
