#include "text/encoding.hpp"

#include <gtest/gtest.h>

namespace flume::text {
namespace {

std::vector<std::uint8_t> bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

TEST(Encoding, HexRoundTrips) {
  const std::vector<std::uint8_t> data = {0x00, 0x0a, 0xff, 0x41};
  EXPECT_EQ(to_hex(data), "000aff41");
  EXPECT_EQ(from_hex("000AFF41"), data);
  EXPECT_EQ(to_hex({}), "");
  EXPECT_EQ(from_hex(""), std::vector<std::uint8_t>{});
}

TEST(Encoding, MalformedHexIsRefused) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("ab cd"));
}

TEST(Encoding, Base64FollowsRfc4648) {
  EXPECT_EQ(to_base64({}), "");
  EXPECT_EQ(to_base64(bytes("f")), "Zg==");
  EXPECT_EQ(to_base64(bytes("fo")), "Zm8=");
  EXPECT_EQ(to_base64(bytes("foo")), "Zm9v");
  EXPECT_EQ(to_base64(bytes("A\xff"
                            "B")),
            "Qf9C");
  // Long input stays on one line.
  EXPECT_EQ(to_base64(std::vector<std::uint8_t>(300, 0)).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace flume::text
