// Reads a fuzzer input as a script of operations for the engine fuzzers: each step takes a few
// bytes (an operation code, small numbers, a slice of raw bytes), so libFuzzer's mutations change
// one step at a time. Also builds well-formed frames from a few bytes, so the fuzzer reaches the
// states behind a successful HELLO and SUBSCRIBE without having to guess whole frames.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"

namespace flume::fuzz {

// A violated invariant: names it, then stops the fuzzer with a crash report and the input that
// caused it. (A bare __builtin_trap() would do, but the optimiser merges traps, so the report
// could point at the wrong check.)
[[noreturn]] inline void invariant_violated(const char *what, const char *file, int line) {
  std::fprintf(stderr, "invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define FUZZ_CHECK(condition) \
  ((condition) ? void(0) : ::flume::fuzz::invariant_violated(#condition, __FILE__, __LINE__))

class Script {
 public:
  explicit Script(std::span<const std::uint8_t> input) noexcept : input_(input) {}

  bool done() const noexcept { return at_ >= input_.size(); }
  std::uint8_t byte() noexcept { return done() ? 0 : input_[at_++]; }
  std::uint16_t u16() noexcept {
    const std::uint16_t high = byte();
    return static_cast<std::uint16_t>(high << 8 | byte());
  }
  // Up to `max` bytes, as many as the next byte says (fewer at the end of the input).
  std::span<const std::uint8_t> slice(std::size_t max) noexcept {
    const std::size_t wanted = std::min<std::size_t>(byte(), max);
    const std::size_t length = std::min(wanted, input_.size() - std::min(at_, input_.size()));
    std::span<const std::uint8_t> out = input_.subspan(std::min(at_, input_.size()), length);
    at_ += length;
    return out;
  }

 private:
  std::span<const std::uint8_t> input_;
  std::size_t at_ = 0;
};

// A small set of subjects and patterns that overlap, so publishes match subscriptions.
inline constexpr std::string_view kSubjects[] = {"a", "a.b", "a.b.c", "b.c", "x.y.z", "a.c"};
inline constexpr std::string_view kPatterns[] = {"a",   "a.*", "a.>",   ">",
                                                 "*.c", "b.c", "a.b.c", "x.>"};

inline std::string_view subject_of(std::uint8_t pick) noexcept {
  return kSubjects[pick % std::size(kSubjects)];
}
inline std::string_view pattern_of(std::uint8_t pick) noexcept {
  return kPatterns[pick % std::size(kPatterns)];
}

// A frame with the given properties (built by `write`) and no checks beyond the encoder's own.
template <typename Write>
std::vector<std::uint8_t> frame_with(FrameType type, std::string_view subject, Write write) {
  std::uint8_t properties[512];
  PropertyWriter writer(properties);
  write(writer);
  std::vector<std::uint8_t> out(frame_size(subject.size(), writer.size()));
  std::size_t written = 0;
  if (encode_frame(type, subject, writer.bytes(), out, written, kHardMaxPayload) != FrameError::ok)
    return {};
  out.resize(written);
  return out;
}

inline std::vector<std::uint8_t> raw_payload_frame(FrameType type, std::string_view subject,
                                                   std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(frame_size(subject.size(), payload.size()));
  std::size_t written = 0;
  if (encode_frame(type, subject, payload, out, written, kHardMaxPayload) != FrameError::ok)
    return {};
  out.resize(written);
  return out;
}

}  // namespace flume::fuzz
