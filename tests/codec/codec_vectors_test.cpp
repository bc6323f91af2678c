// Checks the C++ codec against tests/vectors/frames.json, the vectors every binding shares.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "codec/properties.hpp"
#include "codec_test_util.hpp"

namespace flume {
namespace {

using nlohmann::json;

const json &vectors() {
  static const json document = [] {
    std::ifstream file(FLUME_TEST_VECTORS_DIR "/frames.json");
    if (!file) throw std::runtime_error("cannot open " FLUME_TEST_VECTORS_DIR "/frames.json");
    return json::parse(file);
  }();
  return document;
}

FrameError error_named(const std::string &name) {
  for (int e = 0; e <= static_cast<int>(FrameError::property_bad_length); ++e) {
    auto error = static_cast<FrameError>(e);
    static const char *const kNames[] = {"ok",
                                         "unknown_type",
                                         "missing_subject",
                                         "unexpected_subject",
                                         "invalid_subject",
                                         "payload_too_large",
                                         "truncated",
                                         "buffer_too_small",
                                         "invalid_limit",
                                         "property_truncated",
                                         "property_duplicate",
                                         "property_bad_length"};
    if (name == kNames[e]) return error;
  }
  throw std::runtime_error("vector names unknown error " + name);
}

TEST(CodecVectors, EveryValidFrameDecodesToItsFieldsAtEverySplit) {
  ASSERT_FALSE(vectors()["frames"].empty());
  for (const json &entry : vectors()["frames"]) {
    const std::string name = entry["name"];
    const auto bytes = test::from_hex(entry["hex"].get<std::string>());
    const test::OwnedFrame expected{static_cast<FrameType>(entry["type"].get<int>()),
                                    entry["subject"].get<std::string>(),
                                    test::from_hex(entry["payload_hex"].get<std::string>())};
    for (std::size_t chunk : {bytes.size(), std::size_t{1}, std::size_t{5}}) {
      auto result = test::decode_in_chunks(bytes, chunk, entry["max_payload"].get<std::uint32_t>());
      EXPECT_EQ(result.error, FrameError::ok) << name << ": " << describe(result.error);
      ASSERT_EQ(result.frames.size(), 1u) << name;
      EXPECT_EQ(result.frames[0], expected) << name;
    }
    EXPECT_EQ(test::encode(expected.type, expected.subject, expected.payload,
                           entry["max_payload"].get<std::uint32_t>()),
              bytes)
        << name << " re-encodes to the same bytes";

    if (entry.contains("properties")) {
      Properties properties;
      ASSERT_EQ(properties.parse(expected.payload), FrameError::ok) << name;
      for (const json &property : entry["properties"]) {
        auto id = static_cast<PropertyId>(property["id"].get<int>());
        auto value = properties.bytes(id);
        EXPECT_EQ(std::vector<std::uint8_t>(value.begin(), value.end()),
                  test::from_hex(property["value_hex"].get<std::string>()))
            << name << " property " << property["name"];
      }
    }
  }
}

TEST(CodecVectors, EveryMalformedInputFailsWithItsError) {
  ASSERT_FALSE(vectors()["malformed"].empty());
  for (const json &entry : vectors()["malformed"]) {
    const std::string name = entry["name"];
    const auto bytes = test::from_hex(entry["hex"].get<std::string>());
    const FrameError expected = error_named(entry["error"]);
    for (std::size_t chunk : {bytes.size(), std::size_t{1}}) {
      auto result = test::decode_in_chunks(bytes, chunk, entry["max_payload"].get<std::uint32_t>());
      EXPECT_EQ(result.error, expected)
          << name << " chunk " << chunk << ": got " << describe(result.error);
    }
  }
}

TEST(CodecVectors, EveryMalformedPropertyPayloadFailsWithItsError) {
  for (const json &entry : vectors()["malformed_properties"]) {
    Properties properties;
    EXPECT_EQ(properties.parse(test::from_hex(entry["hex"].get<std::string>())),
              error_named(entry["error"]))
        << entry["name"];
  }
}

}  // namespace
}  // namespace flume
