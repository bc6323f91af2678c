#include "text/parse_number.hpp"

#include <charconv>
#include <cmath>

namespace flume::text {

std::optional<unsigned long long> parse_whole(std::string_view text, unsigned long long min,
                                              unsigned long long max) {
  unsigned long long value = 0;
  const char *end = text.data() + text.size();
  // from_chars takes no '+' and no spaces; it would take a '-' for a signed type only.
  const auto [stop, error] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || error != std::errc() || stop != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_decimal(std::string_view text, double min, double max) {
  double value = 0;
  const char *end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (text.empty() || error != std::errc() || stop != end || !std::isfinite(value) || value < min ||
      value > max) {
    return std::nullopt;
  }
  return value;
}

std::string whole_number_error(std::string_view name, std::string_view text, unsigned long long min,
                               unsigned long long max) {
  return std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
         std::to_string(max) + ", not '" + std::string(text) + "'";
}

std::string seconds_error(std::string_view name, std::string_view text, double min, double max) {
  auto shown = [](double value) {
    std::string out = std::to_string(value);
    out.erase(out.find_last_not_of('0') + 1);  // 0.100000 -> 0.1, 3600.000000 -> 3600.
    if (out.back() == '.') out.pop_back();
    return out;
  };
  return std::string(name) + " must be a number of seconds from " + shown(min) + " to " +
         shown(max) + ", not '" + std::string(text) + "'";
}

}  // namespace flume::text
