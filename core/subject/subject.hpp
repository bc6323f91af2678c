// Subjects and subscription patterns: NATS-style dotted tokens.
//
// A subject names where a message goes ("orders.eu.created"); a pattern is what a subscription
// listens to and may use two wildcards: `*` stands for exactly one token, `>` (last token only)
// for one or more trailing tokens. Both the wire codec and the router validate through here, so a
// subject accepted on the wire is always one the router can store.
#pragma once

#include <cassert>
#include <cstddef>
#include <optional>
#include <string_view>

namespace flume {

// Why a subject or pattern was refused. Each value has a distinct message (see describe()).
enum class SubjectError {
  ok = 0,
  empty,                  // zero bytes
  too_long,               // over kMaxSubjectLength bytes
  empty_token,            // leading, trailing or doubled '.'
  invalid_byte,           // a control byte, space, DEL, or a byte that is not valid UTF-8
  wildcard_in_subject,    // '*' or '>' inside a subject (publishing to a pattern)
  wildcard_inside_token,  // '*' or '>' mixed with other bytes in one token ("a*")
  full_wildcard_not_last  // '>' followed by more tokens ("a.>.b")
};

// Subjects travel with a one-byte length on the wire, so 255 bytes is the limit by construction.
inline constexpr std::size_t kMaxSubjectLength = 255;

// Checks a concrete subject (no wildcards), as given to publish.
SubjectError validate_subject(std::string_view subject) noexcept;

// A subject that passed validate_subject(). Only check() makes one, so a function that takes it
// knows the check was made: a publish is validated once on the client (where the application
// calls it) and the session and the encoder it then passes through do not check it again.
// A view: the caller keeps the bytes alive.
class CheckedSubject {
 public:
  // The subject, or nothing with the reason in `error`.
  static std::optional<CheckedSubject> check(std::string_view subject,
                                             SubjectError &error) noexcept {
    error = validate_subject(subject);
    if (error != SubjectError::ok) return std::nullopt;
    return CheckedSubject(subject);
  }
  // A subject a decoded frame carries: FrameDecoder accepts a PUBLISH or MESSAGE only after
  // check_subject() validated it, so checking it again (on the broker's per-message path, for
  // the MESSAGE it becomes) would only repeat that. Anything else goes through check().
  static CheckedSubject from_decoded_frame(std::string_view subject) noexcept {
    assert(validate_subject(subject) == SubjectError::ok);
    return CheckedSubject(subject);
  }
  std::string_view view() const noexcept { return subject_; }

 private:
  explicit CheckedSubject(std::string_view subject) noexcept : subject_(subject) {}
  std::string_view subject_;
};

// Checks a subscription pattern: a subject that may also use `*` tokens and a final `>` token.
SubjectError validate_pattern(std::string_view pattern) noexcept;

// A short, human-readable sentence for each error ("subject has an empty token ...").
const char *describe(SubjectError error) noexcept;

// Whether a valid `pattern` matches a valid `subject`, token by token. The router does the same for
// many patterns at once; this one-off form is the reference its tests compare against.
bool pattern_matches(std::string_view pattern, std::string_view subject) noexcept;

namespace detail {
// The byte-at-a-time validation validate_subject() falls back to; exposed so a fuzzer can check
// that the word-at-a-time fast path never accepts what this refuses.
SubjectError validate_bytewise(std::string_view text, bool wildcards_allowed) noexcept;
}  // namespace detail

// Iterates the '.'-separated tokens of a string without allocating.
class TokenCursor {
 public:
  explicit TokenCursor(std::string_view text) noexcept : rest_(text), done_(false) {}

  // Stores the next token in `token`; false once every token has been read.
  bool next(std::string_view &token) noexcept {
    if (done_) return false;
    std::size_t dot = rest_.find('.');
    if (dot == std::string_view::npos) {
      token = rest_;
      done_ = true;
    } else {
      token = rest_.substr(0, dot);
      rest_.remove_prefix(dot + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_;
};

}  // namespace flume
