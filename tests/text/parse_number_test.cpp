#include "text/parse_number.hpp"

#include <gtest/gtest.h>

namespace flume::text {
namespace {

TEST(ParseNumber, WholeNumbersInsideTheRangeAreAccepted) {
  EXPECT_EQ(parse_whole("0", 0, 10), 0u);
  EXPECT_EQ(parse_whole("10", 0, 10), 10u);
  EXPECT_EQ(parse_whole("18446744073709551615", 0, ~0ULL), ~0ULL);
}

TEST(ParseNumber, AnythingButDigitsInsideTheRangeIsRefused) {
  for (const char *text :
       {"", " 1", "1 ", "+1", "-1", "1x", "0x10", "1.0", "ten", "18446744073709551616"}) {
    EXPECT_FALSE(parse_whole(text, 0, ~0ULL)) << text;
  }
  EXPECT_FALSE(parse_whole("0", 1, 10));
  EXPECT_FALSE(parse_whole("11", 1, 10));
}

TEST(ParseNumber, DecimalsInsideTheRangeAreAccepted) {
  EXPECT_EQ(parse_decimal("0.5", 0, 1), 0.5);
  EXPECT_EQ(parse_decimal("3", 0, 10), 3.0);
  for (const char *text : {"", "-1", "1e3", "nan", "inf", "0.5s", " 1"}) {
    EXPECT_FALSE(parse_decimal(text, 0, 1e9)) << text;
  }
  EXPECT_FALSE(parse_decimal("0.05", 0.1, 10));
}

TEST(ParseNumber, ErrorsNameTheSettingTheRangeAndTheText) {
  EXPECT_EQ(whole_number_error("--count", "ten", 1, 10),
            "--count must be a whole number from 1 to 10, not 'ten'");
  EXPECT_EQ(seconds_error("--duration", "soon", 0.1, 86400),
            "--duration must be a number of seconds from 0.1 to 86400, not 'soon'");
}

}  // namespace
}  // namespace flume::text
