// Numbers from text, one way for every program and configuration file: decimal digits only (no
// sign, no spaces, no suffix), inside a range, and an error text that names the setting, the range
// and what was given.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flume::text {

// A whole number from `min` to `max`; nullopt for anything else.
std::optional<unsigned long long> parse_whole(std::string_view text, unsigned long long min,
                                              unsigned long long max);
// A decimal number such as 0.5 or 10 from `min` to `max` (finite); nullopt for anything else.
std::optional<double> parse_decimal(std::string_view text, double min, double max);

// "--count must be a whole number from 1 to 10, not 'ten'"
std::string whole_number_error(std::string_view name, std::string_view text, unsigned long long min,
                               unsigned long long max);
// "--duration must be a number of seconds from 0 to 3600, not 'soon'"
std::string seconds_error(std::string_view name, std::string_view text, double min, double max);

}  // namespace flume::text
