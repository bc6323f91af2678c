#include "subject/subject.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Byte classes for the validation loop: one table lookup per byte keeps the common all-ASCII
// subject fast (validation runs on every publish, on both encode and decode).
enum ByteClass : std::uint8_t { kPlain, kDot, kStar, kGreater, kBad, kHigh };

constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    if (c <= 0x20 || c == 0x7F) {
      table[c] = kBad;
    } else if (c >= 0x80) {
      table[c] = kHigh;
    } else {
      table[c] = kPlain;
    }
  }
  table['.'] = kDot;
  table['*'] = kStar;
  table['>'] = kGreater;
  return table;
}();

}  // namespace

namespace detail {

SubjectError validate_bytewise(std::string_view text, bool wildcards_allowed) noexcept {
  if (text.empty()) return SubjectError::empty;
  if (text.size() > kMaxSubjectLength) return SubjectError::too_long;

  const auto *bytes = reinterpret_cast<const std::uint8_t *>(text.data());
  const std::size_t size = text.size();
  std::size_t token_start = 0;
  bool token_is_full_wildcard = false;
  bool full_wildcard_seen = false;  // a '>' token ended before the current one
  for (std::size_t i = 0; i < size; ++i) {
    switch (kByteClass[bytes[i]]) {
      case kPlain:
        break;
      case kDot:
        if (i == token_start) return SubjectError::empty_token;
        if (full_wildcard_seen) return SubjectError::full_wildcard_not_last;
        full_wildcard_seen = token_is_full_wildcard;
        token_is_full_wildcard = false;
        token_start = i + 1;
        break;
      case kStar:
      case kGreater:
        if (!wildcards_allowed) return SubjectError::wildcard_in_subject;
        if (i != token_start || (i + 1 != size && bytes[i + 1] != '.')) {
          return SubjectError::wildcard_inside_token;
        }
        token_is_full_wildcard = bytes[i] == '>';
        break;
      case kBad:
        return SubjectError::invalid_byte;
      case kHigh: {
        const std::size_t length = utf8_sequence_length(text, i);
        if (length == 0) return SubjectError::invalid_byte;
        i += length - 1;
        break;
      }
    }
  }
  if (token_start == size) return SubjectError::empty_token;
  if (full_wildcard_seen) return SubjectError::full_wildcard_not_last;
  return SubjectError::ok;
}

}  // namespace detail

namespace {

#if defined(__SSE2__)
// True only for a subject made of plain printable ASCII with no wildcard and no empty token,
// checked sixteen bytes at a time. False means "not sure": the caller then runs the byte-wise
// validation, which finds the exact error (or accepts UTF-8 subjects). Publishing validates every
// subject on both ends, so this is on the hot path of every message.
bool plain_ascii_subject(std::string_view text) noexcept {
  const std::size_t size = text.size();
  if (size == 0 || size > kMaxSubjectLength || text.front() == '.' || text.back() == '.') {
    return false;
  }
  // Signed compares: bytes >= 0x80 are negative, so they fail "greater than 0x20" as well.
  const __m128i above_space = _mm_set1_epi8(0x20);
  const __m128i below_del = _mm_set1_epi8(0x7F);
  const __m128i star = _mm_set1_epi8('*');
  const __m128i greater = _mm_set1_epi8('>');
  const __m128i dot = _mm_set1_epi8('.');
  auto block_ok = [&](__m128i block, unsigned carried_dot) {
    const __m128i printable =
        _mm_and_si128(_mm_cmpgt_epi8(block, above_space), _mm_cmplt_epi8(block, below_del));
    const __m128i wildcard =
        _mm_or_si128(_mm_cmpeq_epi8(block, star), _mm_cmpeq_epi8(block, greater));
    const auto dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, dot)));
    return _mm_movemask_epi8(printable) == 0xFFFF && _mm_movemask_epi8(wildcard) == 0 &&
           (dots & ((dots << 1) | carried_dot)) == 0;  // "..": an empty token
  };
  auto load = [&](std::size_t at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(text.data() + at));
  };
  if (size < 16) {
    // Padded with a plain byte rather than read past the end of the text.
    alignas(16) char padded[16];
    std::memset(padded, 'a', sizeof padded);
    std::memcpy(padded, text.data(), size);
    return block_ok(_mm_load_si128(reinterpret_cast<const __m128i *>(padded)), 0);
  }
  std::size_t at = 0;
  for (; at + 16 <= size; at += 16) {
    const unsigned carried_dot = at > 0 && text[at - 1] == '.' ? 1 : 0;
    if (!block_ok(load(at), carried_dot)) return false;
  }
  // The last partial block is read as the final 16 bytes, overlapping the block before: every
  // check is per byte or per adjacent pair, and every pair lies inside one of the blocks.
  return at == size || block_ok(load(size - 16), 0);
}
#else
// Without SSE2 every subject takes the byte-wise path.
bool plain_ascii_subject(std::string_view) noexcept {
  return false;
}
#endif

}  // namespace

SubjectError validate_subject(std::string_view subject) noexcept {
  if (plain_ascii_subject(subject)) return SubjectError::ok;
  return detail::validate_bytewise(subject, false);
}

SubjectError validate_pattern(std::string_view pattern) noexcept {
  return detail::validate_bytewise(pattern, true);
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
