// validate_subject() takes a word-at-a-time fast path for plain ASCII subjects. It must agree
// exactly with the byte-at-a-time validation on every input; any disagreement traps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "subject/subject.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  if (flume::validate_subject(text) != flume::detail::validate_bytewise(text, false)) {
    __builtin_trap();
  }
  return 0;
}
