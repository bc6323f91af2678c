// parse_host_port: the one "host:port" parser, for --listen and for client URLs alike.
#include "net/host_port.hpp"

#include <gtest/gtest.h>

namespace flume {
namespace {

HostPort parsed(std::string_view text, std::uint16_t min_port = 0) {
  HostPort out;
  std::string error;
  EXPECT_TRUE(parse_host_port(text, min_port, out, error)) << text << ": " << error;
  return out;
}

std::string refused(std::string_view text, std::uint16_t min_port = 0) {
  HostPort out;
  std::string error;
  EXPECT_FALSE(parse_host_port(text, min_port, out, error)) << text;
  return error;
}

TEST(HostPort, HostAndPortAreSplitAtTheColon) {
  const HostPort v4 = parsed("127.0.0.1:7400");
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.port, 7400);
  const HostPort name = parsed("broker.example:1");
  EXPECT_EQ(name.host, "broker.example");
  EXPECT_EQ(name.port, 1);
}

TEST(HostPort, BracketsHoldAnIpv6Address) {
  const HostPort v6 = parsed("[::1]:7337");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 7337);
  const HostPort no_port = parsed("[fe80::1%eth0]");
  EXPECT_EQ(no_port.host, "fe80::1%eth0");
  EXPECT_FALSE(no_port.port);
}

TEST(HostPort, TextWithoutAPortHasNone) {
  EXPECT_FALSE(parsed("localhost").port);
  EXPECT_FALSE(parsed("host:").port);  // an empty port is no port
  const HostPort bare_v6 = parsed("::1");
  EXPECT_EQ(bare_v6.host, "::1");  // several colons: an address, not host:port
  EXPECT_FALSE(bare_v6.port);
}

TEST(HostPort, EmptyHostIsLeftToTheCaller) {
  const HostPort any = parsed(":7400");
  EXPECT_EQ(any.host, "");
  EXPECT_EQ(any.port, 7400);
}

TEST(HostPort, BadPortsAndBracketsSayWhatIsWrong) {
  EXPECT_NE(refused("[::1").find("missing ']'"), std::string::npos);
  EXPECT_NE(refused("[::1]7337").find("expected ':port'"), std::string::npos);
  EXPECT_NE(refused("host:http").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(refused("host:65536").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(refused("host:-1").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(refused("host:0", 1).find("from 1 to 65535"), std::string::npos);
  EXPECT_EQ(parsed("host:0").port, 0);  // a listener's "any free port"
}

}  // namespace
}  // namespace flume
