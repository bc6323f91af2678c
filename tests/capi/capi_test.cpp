// The C ABI through libflume.so: versions, errors, subjects, and the codec against the vectors.
#include <flume/flume.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

std::vector<uint8_t> from_hex(const std::string &hex) {
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

nlohmann::json load_vectors() {
  std::ifstream file(FLUME_TEST_VECTORS_DIR "/frames.json");
  return nlohmann::json::parse(file);
}

TEST(CApiVersion, RuntimeMatchesHeader) {
  EXPECT_EQ(flume_version_number(), FLUME_VERSION_NUMBER);
  EXPECT_STREQ(flume_version(), FLUME_VERSION);
}

TEST(CApiErrors, EveryCodeHasAName) {
  for (int code : {FLUME_OK,
                   FLUME_EINVAL,
                   FLUME_ENOMEM,
                   FLUME_EBUFSIZE,
                   FLUME_EOPTIONS,
                   FLUME_EUNKNOWN_TYPE,
                   FLUME_EMISSING_TOPIC,
                   FLUME_EUNEXPECTED_TOPIC,
                   FLUME_EINVALID_TOPIC,
                   FLUME_EPAYLOAD_TOO_LARGE,
                   FLUME_ETRUNCATED,
                   FLUME_EPROPERTY,
                   FLUME_EINVALID_SUBJECT,
                   FLUME_EINVALID_PATTERN,
                   FLUME_ETIMEDOUT,
                   FLUME_EUNREACHABLE,
                   FLUME_ETLS,
                   FLUME_EALPN,
                   FLUME_EREJECTED,
                   FLUME_ENOTCONN,
                   FLUME_ECLOSED,
                   FLUME_EPROTOCOL,
                   FLUME_EAGAIN,
                   FLUME_EIO}) {
    EXPECT_STRNE(flume_error_name(code), "FLUME_E?") << code;
  }
  EXPECT_STREQ(flume_error_name(12345), "FLUME_E?");
}

TEST(CApiErrors, LastErrorIsPerThread) {
  ASSERT_EQ(flume_subject_validate("a..b", 4), FLUME_EINVALID_SUBJECT);
  std::string other_thread_message = "unset";
  std::thread([&] {
    flume_pattern_validate("a.>.b", 5);
    other_thread_message = flume_last_error();
  }).join();
  EXPECT_NE(std::string(flume_last_error()).find("empty token"), std::string::npos)
      << flume_last_error();
  EXPECT_NE(other_thread_message.find("'>' must be the last token"), std::string::npos)
      << other_thread_message;
}

TEST(CApiSubjects, ValidationNamesTheReason) {
  EXPECT_EQ(flume_subject_validate("orders.eu", 9), FLUME_OK);
  EXPECT_EQ(flume_subject_validate("orders.*", 8), FLUME_EINVALID_SUBJECT);
  EXPECT_NE(std::strstr(flume_last_error(), "only in subscription patterns"), nullptr);
  EXPECT_EQ(flume_pattern_validate("orders.*", 8), FLUME_OK);
  EXPECT_EQ(flume_pattern_validate("", 0), FLUME_EINVALID_PATTERN);
  EXPECT_EQ(flume_pattern_validate(nullptr, 3), FLUME_EINVAL);
}

TEST(CApiSubjects, PatternMatching) {
  EXPECT_EQ(flume_pattern_matches("a.*.c", 5, "a.b.c", 5), 1);
  EXPECT_EQ(flume_pattern_matches("a.>", 3, "a", 1), 0);
  EXPECT_EQ(flume_pattern_matches("a.>", 3, "a.b.c", 5), 1);
  EXPECT_EQ(flume_pattern_matches("a.>", 3, "a.*", 3), FLUME_EINVALID_SUBJECT);
}

TEST(CApiCodec, EncodeRefusesSmallBufferAndBadArguments) {
  uint8_t out[8];
  size_t written = 123;
  EXPECT_EQ(flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_PUBLISH, "a.b", 3,
                               reinterpret_cast<const uint8_t *>("hi"), 2, 0),
            FLUME_EBUFSIZE);
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(
      flume_frame_encode(out, sizeof out, nullptr, FLUME_FRAME_PING, nullptr, 0, nullptr, 0, 0),
      FLUME_EINVAL);
  EXPECT_EQ(flume_frame_encode(out, sizeof out, &written, 0x77, nullptr, 0, nullptr, 0, 0),
            FLUME_EUNKNOWN_TYPE);
  EXPECT_EQ(flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_PING, nullptr, 0, nullptr, 0,
                               FLUME_HARD_MAX_PAYLOAD + 1),
            FLUME_EINVAL);
  EXPECT_EQ(flume_frame_size(3, 2), 11u);
}

TEST(CApiCodec, DecoderOptionsAreChecked) {
  flume_decoder *decoder = reinterpret_cast<flume_decoder *>(0x1);
  flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
  options.max_payload = 0;
  EXPECT_EQ(flume_decoder_new(&decoder, &options), FLUME_EINVAL);
  EXPECT_EQ(decoder, nullptr);
  options = FLUME_DECODER_OPTIONS_INIT;
  options.struct_size = 1;
  EXPECT_EQ(flume_decoder_new(&decoder, &options), FLUME_EOPTIONS);
  EXPECT_EQ(flume_decoder_new(nullptr, nullptr), FLUME_EINVAL);
  flume_decoder_free(nullptr);
}

// Feeds `bytes` one byte at a time; returns the first negative code, or what finish() says.
int decode_bytewise(flume_decoder *decoder, const std::vector<uint8_t> &bytes,
                    std::vector<flume_frame> *frames_topics = nullptr) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    size_t consumed = 0;
    flume_frame frame{};
    int rc = flume_decoder_next(decoder, &bytes[i], 1, &consumed, &frame);
    if (rc < 0) return rc;
    if (consumed != 1) return -1000;
    if (rc == 1 && frames_topics != nullptr) frames_topics->push_back(frame);
  }
  return flume_decoder_finish(decoder);
}

TEST(CApiCodec, DecodesEveryVectorByteByByte) {
  const auto vectors = load_vectors();
  for (const auto &entry : vectors["frames"]) {
    flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
    options.max_payload = entry["max_payload"];
    flume_decoder *decoder = nullptr;
    ASSERT_EQ(flume_decoder_new(&decoder, &options), FLUME_OK);
    std::vector<flume_frame> frames;
    EXPECT_EQ(decode_bytewise(decoder, from_hex(entry["hex"]), &frames), FLUME_OK)
        << entry["name"] << ": " << flume_last_error();
    ASSERT_EQ(frames.size(), 1u) << entry["name"];
    EXPECT_EQ(frames[0].type, entry["type"].get<int>());
    EXPECT_STREQ(flume_frame_type_name(frames[0].type),
                 entry["type_name"].get<std::string>().c_str());
    flume_decoder_free(decoder);
  }
}

TEST(CApiCodec, EveryMalformedVectorGivesItsCode) {
  const auto vectors = load_vectors();
  for (const auto &entry : vectors["malformed"]) {
    flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
    options.max_payload = entry["max_payload"];
    flume_decoder *decoder = nullptr;
    ASSERT_EQ(flume_decoder_new(&decoder, &options), FLUME_OK);
    int rc = decode_bytewise(decoder, from_hex(entry["hex"]));
    EXPECT_STREQ(flume_error_name(rc), entry["code"].get<std::string>().c_str()) << entry["name"];
    EXPECT_STRNE(flume_last_error(), "") << entry["name"];
    flume_decoder_free(decoder);
  }
}

}  // namespace
