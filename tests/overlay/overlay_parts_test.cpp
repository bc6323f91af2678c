// The overlay's sans-I/O parts: frames, the dedupe window and the interest table.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "overlay/dedupe_window.hpp"
#include "overlay/interest_table.hpp"
#include "overlay/overlay_frames.hpp"

namespace flume::overlay {
namespace {

std::vector<std::uint8_t> bytes_of(const SharedBuffer &buffer) {
  return {buffer.data(), buffer.data() + buffer.size()};
}

std::string hex(const SharedBuffer &buffer) {
  std::string out;
  char two[4];
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    std::snprintf(two, sizeof two, i == 0 ? "%02x" : " %02x", buffer.data()[i]);
    out += two;
  }
  return out;
}

// The examples of docs/protocol.md 17.6, byte for byte.
TEST(OverlayFrames, EncodingMatchesTheProtocolDocumentExamples) {
  EXPECT_EQ(hex(encode_node_hello("a", 8, 7)),
            "21 00 00 00 00 0d 00 03 08 01 61 00 00 00 00 00 00 00 07");
  EXPECT_EQ(hex(encode_node_hello("b", 0, 9)),
            "21 00 00 00 00 0d 00 03 00 01 62 00 00 00 00 00 00 00 09");
  EXPECT_EQ(hex(encode_node_interest({"c", 7, 3, {"orders.>"}})),
            "25 00 00 00 00 1f 01 63 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 03 00 00 00 01 "
            "08 6f 72 64 65 72 73 2e 3e");
  EXPECT_EQ(hex(encode_route({node_id_of("a"), 7, 42, 8, {{node_id_of("c"), 5}}})),
            "20 00 00 00 00 2b ca 97 81 12 ca 1b bd ca 00 00 00 00 00 00 00 07 00 00 00 00 00 00 "
            "00 2a 08 00 01 2e 7d 2c 03 a9 50 7a e2 00 00 00 00 00 00 00 05");
  NodeAdvert advert{"b", 7, 1, "127.0.0.1:7502", {{"a"}, {"c", 3, 1500, 20}}};
  EXPECT_EQ(hex(encode_node_advert(advert)),
            "24 00 00 00 00 37 01 62 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 01 0e 31 32 37 "
            "2e 30 2e 30 2e 31 3a 37 35 30 32 00 02 01 61 00 01 00 00 00 00 00 00 01 63 00 03 00 "
            "00 05 dc 00 14");
}

TEST(OverlayFrames, RouteSurvivesAnySplitOfTheStream) {
  const RouteHeader route{node_id_of("a"), 7, 42, 3, {{node_id_of("b"), 0}, {node_id_of("c"), 9}}};
  std::vector<std::uint8_t> stream = bytes_of(encode_route(route));
  const auto interest = bytes_of(encode_node_interest({"c", 1, 9, {"orders.>"}}));
  stream.insert(stream.end(), interest.begin(), interest.end());
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    OverlayFrameReader reader(65536);
    std::vector<OverlayFrameType> types;
    OverlayFrame frame{};
    const std::span<const std::uint8_t> all(stream);
    for (std::span<const std::uint8_t> part : {all.first(split), all.subspan(split)}) {
      while (reader.next(part, frame) == OverlayFrameReader::Status::frame) {
        types.push_back(frame.type);
        if (frame.type == OverlayFrameType::route) {
          std::string error;
          auto parsed = parse_route(frame.payload, error);
          ASSERT_TRUE(parsed) << error;
          EXPECT_EQ(parsed->sequence, 42u);
          EXPECT_EQ(parsed->hop_limit, 3);
          EXPECT_EQ(parsed->destinations, route.destinations);
        } else {
          std::string error;
          auto parsed = parse_node_interest(frame.payload, error);
          ASSERT_TRUE(parsed) << error;
          EXPECT_EQ(parsed->sequence, 9u);
          EXPECT_EQ(parsed->patterns, std::vector<std::string>{"orders.>"});
        }
      }
    }
    EXPECT_EQ(types.size(), 2u) << "split at " << split;
  }
}

TEST(OverlayFrames, VersionOnesInterestFramesAreUnknownNow) {
  for (std::uint8_t type : {0x22, 0x23}) {
    const std::uint8_t interest[] = {type, 0x01, 0, 0, 0, 8, 'a'};
    std::span<const std::uint8_t> input(interest);
    OverlayFrameReader reader(65536);
    OverlayFrame frame{};
    EXPECT_EQ(reader.next(input, frame), OverlayFrameReader::Status::error);
  }
}

TEST(OverlayFrames, NodeInterestRefusesBadPatternsCountsAndLengths) {
  std::string error;
  const auto good = bytes_of(encode_node_interest({"c", 1, 2, {"a.*", "b.>"}}));
  const std::span<const std::uint8_t> payload = std::span(good).subspan(6);
  ASSERT_TRUE(parse_node_interest(payload, error)) << error;
  for (std::size_t size = 0; size < payload.size(); ++size)
    EXPECT_FALSE(parse_node_interest(payload.first(size), error)) << size;
  auto invalid = std::vector<std::uint8_t>(payload.begin(), payload.end());
  invalid[invalid.size() - 1] = '.';  // "b.>" becomes "b.."
  EXPECT_FALSE(parse_node_interest(invalid, error));
  EXPECT_NE(error.find("invalid pattern"), std::string::npos) << error;
  auto huge = std::vector<std::uint8_t>(payload.begin(), payload.end());
  huge[18] = 0xff;  // pattern count 0xff000002: refused before anything is reserved
  EXPECT_FALSE(parse_node_interest(huge, error));
  EXPECT_NE(error.find("more patterns"), std::string::npos) << error;
  EXPECT_FALSE(encode_node_interest({"c", 1, 2, {"a b"}}));
  // More than a control frame holds: the encoder refuses, so the node advertises '>'.
  std::vector<std::string> many;
  for (int i = 0; i < 10000; ++i)
    many.push_back(std::string("pattern.").append(std::to_string(i)));
  EXPECT_FALSE(encode_node_interest({"c", 1, 2, many}));
}

TEST(OverlayFrames, LinkDroppedCarriesItsSubjectCountAndHopLimit) {
  const auto encoded = bytes_of(encode_link_dropped("orders.eu", LinkDropped{70000, 8}));
  // Protocol 17.3: type 0x26, the subject, then count u32 and hop_limit u8.
  const std::vector<std::uint8_t> expected = {0x26, 9,   0,   0,   0,   5,    'o',  'r',  'd',  'e',
                                              'r',  's', '.', 'e', 'u', 0x00, 0x01, 0x11, 0x70, 8};
  EXPECT_EQ(encoded, expected);
  OverlayFrameReader reader(65536);
  OverlayFrame frame{};
  std::span<const std::uint8_t> input(encoded);
  ASSERT_EQ(reader.next(input, frame), OverlayFrameReader::Status::frame);
  EXPECT_EQ(frame.type, OverlayFrameType::link_dropped);
  EXPECT_EQ(frame.subject, "orders.eu");
  const auto parsed = parse_link_dropped(frame.payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->count, 70000u);
  EXPECT_EQ(parsed->hop_limit, 8);
  // Counting nothing, or another length, is malformed.
  const std::uint8_t zero[] = {0, 0, 0, 0, 8};
  EXPECT_FALSE(parse_link_dropped(zero));
  const std::uint8_t short_payload[] = {0, 0, 1};
  EXPECT_FALSE(parse_link_dropped(short_payload));
}

TEST(OverlayFrames, ClientOnlyFrameTypeIsRefusedAtTheHeader) {
  const std::uint8_t publish[] = {0x08, 0x01, 0, 0, 0, 0, 'a'};
  std::span<const std::uint8_t> input(publish);
  OverlayFrameReader reader(65536);
  OverlayFrame frame{};
  EXPECT_EQ(reader.next(input, frame), OverlayFrameReader::Status::error);
  EXPECT_NE(reader.error().find("unknown"), std::string::npos);
}

TEST(OverlayFrames, OversizedPayloadIsRefusedBeforeItIsBuffered) {
  const std::uint8_t header[] = {0x09, 0x01, 0x7f, 0xff, 0xff, 0xff};
  std::span<const std::uint8_t> input(header);
  OverlayFrameReader reader(65536);
  OverlayFrame frame{};
  EXPECT_EQ(reader.next(input, frame), OverlayFrameReader::Status::error);
}

TEST(OverlayFrames, NodeHelloNamesTheNodeItsLanesAndItsEpoch) {
  const auto hello = bytes_of(encode_node_hello("node-1", 8, 0x0102030405060708));
  std::string error;
  auto parsed = parse_node_hello(std::span(hello).subspan(6), error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->node_name, "node-1");
  EXPECT_EQ(parsed->lanes, 8);
  EXPECT_EQ(parsed->epoch, 0x0102030405060708u);
  auto bad = hello;
  bad[6 + 2] = 65;  // more lanes than allowed
  EXPECT_FALSE(parse_node_hello(std::span(bad).subspan(6), error));
  EXPECT_EQ(error, "malformed NODE_HELLO");
  auto old = hello;
  old[6 + 1] = 2;  // a version-2 node: refused with the reason, not misread
  EXPECT_FALSE(parse_node_hello(std::span(old).subspan(6), error));
  EXPECT_EQ(error, "NODE_HELLO of overlay version 2, this node speaks 3 only");
  old[6 + 1] = 1;
  EXPECT_FALSE(parse_node_hello(std::span(old).subspan(6), error));
  EXPECT_EQ(error, "NODE_HELLO of overlay version 1, this node speaks 3 only");
  EXPECT_FALSE(parse_node_hello(std::span(hello).subspan(6).first(hello.size() - 7), error));
}

TEST(OverlayFrames, RouteRefusesEveryTruncationAndBadCount) {
  RouteHeader route{node_id_of("a"), 7, 42, 8, {}};
  for (const char *name : {"n0", "n1", "n2"})
    route.destinations.push_back({node_id_of(name), 100 + route.destinations.size()});
  const auto whole = bytes_of(encode_route(route));
  const std::span<const std::uint8_t> payload = std::span(whole).subspan(6);
  std::string error;
  ASSERT_TRUE(parse_route(payload, error)) << error;
  for (std::size_t length = 0; length < payload.size(); ++length) {
    EXPECT_FALSE(parse_route(payload.first(length), error)) << "truncated to " << length;
    EXPECT_FALSE(error.empty());
  }
  auto longer = std::vector<std::uint8_t>(payload.begin(), payload.end());
  longer.push_back(0);
  EXPECT_FALSE(parse_route(longer, error));
  EXPECT_EQ(error, "ROUTE length 76 does not match its 3 destinations");

  auto count = std::vector<std::uint8_t>(payload.begin(), payload.end());
  count[25] = 0;
  count[26] = 0;  // no destination
  EXPECT_FALSE(parse_route(count, error));
  EXPECT_EQ(error, "ROUTE with 0 destinations (1 to 1024)");
  count[25] = 0x04;
  count[26] = 0x01;  // 1025: over the bound, whatever follows
  EXPECT_FALSE(parse_route(count, error));
  EXPECT_EQ(error, "ROUTE with 1025 destinations (1 to 1024)");
  count[25] = 0;
  count[26] = 4;  // more than the payload holds
  EXPECT_FALSE(parse_route(count, error));

  auto twice = std::vector<std::uint8_t>(payload.begin(), payload.end());
  std::copy(twice.begin() + 27, twice.begin() + 35, twice.begin() + 43);  // entry 1 = entry 0
  EXPECT_FALSE(parse_route(twice, error));
  EXPECT_EQ(error, "ROUTE lists a destination twice");

  EXPECT_FALSE(encode_route({node_id_of("a"), 7, 42, 8, {}})) << "a ROUTE for no one";
  RouteHeader too_many{node_id_of("a"), 7, 42, 8, {}};
  too_many.destinations.resize(kMaxRouteDestinations + 1);
  EXPECT_FALSE(encode_route(too_many));
  too_many.destinations.resize(kMaxRouteDestinations);
  for (std::size_t i = 0; i < too_many.destinations.size(); ++i)
    too_many.destinations[i].node = i + 1;
  const auto largest = bytes_of(encode_route(too_many));
  ASSERT_EQ(largest.size(), 6 + kMaxRoutePayload);
  // A node whose max_payload is small still reads the largest ROUTE, and no larger one.
  OverlayFrameReader reader(1024);
  OverlayFrame frame{};
  std::span<const std::uint8_t> input(largest);
  ASSERT_EQ(reader.next(input, frame), OverlayFrameReader::Status::frame) << reader.error();
  EXPECT_TRUE(parse_route(frame.payload, error)) << error;
  auto over = largest;
  over[5] += 1;  // the length field one more than kMaxRoutePayload
  OverlayFrameReader strict(1024);
  std::span<const std::uint8_t> header(over.data(), 6);
  EXPECT_EQ(strict.next(header, frame), OverlayFrameReader::Status::error);
}

TEST(DedupeWindow, SecondCopyIsADuplicateAndARestartStartsAfresh) {
  DedupeWindow window;
  EXPECT_EQ(window.check(1, 100, 5), DedupeWindow::Verdict::fresh);
  EXPECT_EQ(window.check(1, 100, 3), DedupeWindow::Verdict::fresh);  // reordered, not seen
  EXPECT_EQ(window.check(1, 100, 5), DedupeWindow::Verdict::duplicate);
  EXPECT_EQ(window.check(1, 100, 3), DedupeWindow::Verdict::duplicate);
  EXPECT_EQ(window.check(1, 100, 5 + DedupeWindow::kWindow), DedupeWindow::Verdict::fresh);
  EXPECT_EQ(window.check(1, 100, 4), DedupeWindow::Verdict::too_old);
  EXPECT_EQ(window.check(1, 101, 1), DedupeWindow::Verdict::fresh);  // new epoch
  EXPECT_EQ(window.check(2, 100, 5), DedupeWindow::Verdict::fresh);  // another origin
}

TEST(InterestTable, EachMatchingLinkOnceAndNothingAfterWithdrawal) {
  InterestTable table;
  EXPECT_EQ(table.add(1, "orders.>"), InterestTable::Result::added);
  EXPECT_EQ(table.add(1, "orders.*"), InterestTable::Result::added);
  EXPECT_EQ(table.add(2, "orders.eu"), InterestTable::Result::added);
  EXPECT_EQ(table.add(2, "orders.eu"), InterestTable::Result::duplicate);
  EXPECT_EQ(table.add(3, "a..b"), InterestTable::Result::invalid);
  std::vector<LinkId> links;
  table.match("orders.eu", links);
  EXPECT_EQ(links, (std::vector<LinkId>{1, 2}));
  EXPECT_EQ(table.remove(2, "orders.eu"), InterestTable::Result::removed);
  EXPECT_EQ(table.remove(2, "orders.eu"), InterestTable::Result::unknown);
  table.remove_link(1);
  table.match("orders.eu", links);
  EXPECT_TRUE(links.empty());
}

TEST(InterestTable, OnePeerCannotHoldMoreThanItsLimit) {
  InterestTable table(2);
  EXPECT_EQ(table.add(1, "a"), InterestTable::Result::added);
  EXPECT_EQ(table.add(1, "b"), InterestTable::Result::added);
  EXPECT_EQ(table.add(1, "c"), InterestTable::Result::over_limit);
  EXPECT_EQ(table.add(2, "c"), InterestTable::Result::added);
}

}  // namespace
}  // namespace flume::overlay
