// The C ABI through libflume.so: versions, errors, subjects, and the codec against the vectors.
#include <flume/flume.h>
#include <gtest/gtest.h>

#include <cstddef>
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
                   FLUME_EMISSING_SUBJECT,
                   FLUME_EUNEXPECTED_SUBJECT,
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
  options.max_payload = FLUME_HARD_MAX_PAYLOAD + 1;
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
                    std::vector<flume_frame> *frames_subjects = nullptr) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    size_t consumed = 0;
    flume_frame frame{};
    int rc = flume_decoder_next(&frame, &consumed, decoder, &bytes[i], 1);
    if (rc < 0) return rc;
    if (consumed != 1) return -1000;
    if (rc == 1 && frames_subjects != nullptr) frames_subjects->push_back(frame);
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

TEST(CApiCodec, ZeroMaxPayloadMeansTheDefault) {
  flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
  options.max_payload = 0;
  flume_decoder *decoder = nullptr;
  ASSERT_EQ(flume_decoder_new(&decoder, &options), FLUME_OK) << flume_last_error();
  // A PUBLISH with a payload of exactly the default limit decodes; one byte more does not.
  for (const size_t payload_length : {size_t{FLUME_DEFAULT_MAX_PAYLOAD}, size_t{1}}) {
    std::vector<uint8_t> wire(flume_frame_size(3, payload_length));
    std::vector<uint8_t> payload(payload_length, 'x');
    size_t written = 0;
    ASSERT_EQ(flume_frame_encode(wire.data(), wire.size(), &written, FLUME_FRAME_PUBLISH, "a.b", 3,
                                 payload.data(), payload.size(), 0),
              FLUME_OK);
    flume_frame frame{};
    size_t consumed = 0;
    EXPECT_EQ(flume_decoder_next(&frame, &consumed, decoder, wire.data(), wire.size()), 1);
    EXPECT_EQ(frame.payload_length, payload_length);
    EXPECT_EQ(std::string(frame.subject, frame.subject_length), "a.b");
  }
  flume_decoder_free(decoder);
  std::vector<uint8_t> over(FLUME_DEFAULT_MAX_PAYLOAD + 1);
  std::vector<uint8_t> wire(flume_frame_size(3, over.size()));
  size_t written = 0;
  EXPECT_EQ(flume_frame_encode(wire.data(), wire.size(), &written, FLUME_FRAME_PUBLISH, "a.b", 3,
                               over.data(), over.size(), 0),
            FLUME_EPAYLOAD_TOO_LARGE);
}

TEST(CApiCodec, AnInvalidSubjectIsEinvalidSubjectAndAnInvalidPatternEinvalidPattern) {
  uint8_t out[64];
  size_t written = 0;
  EXPECT_EQ(
      flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_PUBLISH, "a.*", 3, nullptr, 0, 0),
      FLUME_EINVALID_SUBJECT);
  EXPECT_EQ(flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_SUBSCRIBE, "a..b", 4, nullptr,
                               0, 0),
            FLUME_EINVALID_PATTERN);
  EXPECT_EQ(
      flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_PUBLISH, nullptr, 0, nullptr, 0, 0),
      FLUME_EMISSING_SUBJECT);
  EXPECT_EQ(flume_frame_encode(out, sizeof out, &written, FLUME_FRAME_PING, "a", 1, nullptr, 0, 0),
            FLUME_EUNEXPECTED_SUBJECT);
  EXPECT_STREQ(flume_error_name(FLUME_EMISSING_SUBJECT), "FLUME_EMISSING_SUBJECT");
}

// --- conventions: option structs, their defaults, and views that carry their size ---

// What flume.h documents for each default, written out as numbers: changing a default in the
// header without meaning to fails here. Field by field, not memcmp: the padding of a struct
// initialised by a macro is unspecified (GCC at -O3 leaves it as it was).
void expect_documented_defaults(const flume_client_options &client) {
  EXPECT_EQ(client.struct_size, sizeof client);
  EXPECT_EQ(client.client_name, nullptr);
  EXPECT_EQ(client.server_name, nullptr);
  EXPECT_EQ(client.ca_file, nullptr);
  EXPECT_EQ(client.pin_sha256, nullptr);
  EXPECT_EQ(client.insecure, 0);
  EXPECT_EQ(client.token, nullptr);
  EXPECT_EQ(client.token_length, 0u);
  EXPECT_EQ(client.connect_timeout_ms, 5000);
  EXPECT_EQ(client.reconnect, FLUME_ON);
  EXPECT_EQ(client.reconnect_min_ms, 100);
  EXPECT_EQ(client.reconnect_max_ms, 5000);
  EXPECT_EQ(client.max_pending_bytes, size_t{8} << 20);
  EXPECT_EQ(client.publish_timeout_ms, 5000);
  EXPECT_EQ(client.keep_alive_ms, 1000);
  // 1.0.0's struct ended in padding; a field read from there would be read from garbage.
  EXPECT_GT(offsetof(flume_client_options, keep_alive_ms),
            offsetof(flume_client_options, publish_timeout_ms) + sizeof(int))
      << "keep_alive_ms must not sit in 1.0.0's tail padding";
}

void expect_documented_defaults(const flume_subscription_options &subscription) {
  EXPECT_EQ(subscription.struct_size, sizeof subscription);
  EXPECT_EQ(subscription.overflow_policy, FLUME_OVERFLOW_DROP_OLDEST);
  EXPECT_EQ(subscription.queue_limit, 0u);  // the broker's default (1024 for the embedded one)
  EXPECT_EQ(subscription.local_queue_limit, 65536u);
}

TEST(CApiOptions, InitFunctionsAndMacrosGiveTheDocumentedDefaults) {
  flume_client_options client;
  ASSERT_EQ(flume_client_options_init(&client, sizeof client), FLUME_OK);
  expect_documented_defaults(client);
  const flume_client_options client_macro = FLUME_CLIENT_OPTIONS_INIT;
  expect_documented_defaults(client_macro);

  flume_subscription_options subscription;
  ASSERT_EQ(flume_subscription_options_init(&subscription, sizeof subscription), FLUME_OK);
  expect_documented_defaults(subscription);
  const flume_subscription_options subscription_macro = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  expect_documented_defaults(subscription_macro);

  flume_broker_options broker;
  ASSERT_EQ(flume_broker_options_init(&broker, sizeof broker), FLUME_OK);
  EXPECT_EQ(broker.struct_size, sizeof broker);
  EXPECT_STREQ(broker.listen, "127.0.0.1:0");
  EXPECT_EQ(broker.cert_file, nullptr);
  EXPECT_EQ(broker.key_file, nullptr);
  EXPECT_EQ(broker.data_dir, nullptr);
  EXPECT_EQ(broker.max_payload, 65536u);
  EXPECT_EQ(broker.max_connections, 10000u);
  EXPECT_EQ(broker.max_subscriptions, 10000u);
  EXPECT_EQ(broker.queue_limit, 1024u);
  EXPECT_EQ(broker.max_pending_bytes, uint64_t{64} << 20);
  EXPECT_EQ(broker.shutdown_grace_ms, 2000);
  EXPECT_EQ(broker.max_memory_bytes, 0u);  // worked out from the machine at start
  const flume_broker_options broker_macro = FLUME_BROKER_OPTIONS_INIT;
  EXPECT_EQ(broker_macro.max_memory_bytes, broker.max_memory_bytes);
  EXPECT_STREQ(broker_macro.listen, broker.listen);
  EXPECT_EQ(broker_macro.max_pending_bytes, broker.max_pending_bytes);
  EXPECT_EQ(broker_macro.shutdown_grace_ms, broker.shutdown_grace_ms);

  flume_decoder_options decoder;
  ASSERT_EQ(flume_decoder_options_init(&decoder, sizeof decoder), FLUME_OK);
  const flume_decoder_options decoder_macro = FLUME_DECODER_OPTIONS_INIT;
  EXPECT_EQ(decoder.struct_size, sizeof decoder);
  EXPECT_EQ(decoder.max_payload, 65536u);
  EXPECT_EQ(decoder_macro.struct_size, sizeof decoder_macro);
  EXPECT_EQ(decoder_macro.max_payload, 65536u);
}

TEST(CApiOptions, StatsInitFunctionsZeroTheCountersAndSetTheSize) {
  flume_client_stats client;
  std::memset(&client, 0xAB, sizeof client);
  ASSERT_EQ(flume_client_stats_init(&client, sizeof client), FLUME_OK);
  const flume_client_stats client_macro = FLUME_CLIENT_STATS_INIT;
  // Field by field: 4 bytes of padding follow `connected`, unspecified in the macro's struct.
  // (The other stats structs have no padding, so their bytes may be compared.)
  const flume_client_stats *const both[] = {&client, &client_macro};
  for (const flume_client_stats *stats : both) {
    EXPECT_EQ(stats->struct_size, sizeof client);
    EXPECT_EQ(stats->messages_out | stats->bytes_out | stats->messages_in | stats->bytes_in |
                  stats->dropped_by_broker | stats->reconnects | stats->publish_errors |
                  stats->publishes_unsent,
              0u);
    EXPECT_EQ(stats->connected, 0);
  }
  flume_subscription_stats subscription;
  std::memset(&subscription, 0xAB, sizeof subscription);
  ASSERT_EQ(flume_subscription_stats_init(&subscription, sizeof subscription), FLUME_OK);
  const flume_subscription_stats subscription_macro = FLUME_SUBSCRIPTION_STATS_INIT;
  EXPECT_EQ(std::memcmp(&subscription, &subscription_macro, sizeof subscription), 0);
  EXPECT_EQ(subscription.state, FLUME_SUBSCRIPTION_PENDING);
  flume_broker_stats broker;
  std::memset(&broker, 0xAB, sizeof broker);
  ASSERT_EQ(flume_broker_stats_init(&broker, sizeof broker), FLUME_OK);
  const flume_broker_stats broker_macro = FLUME_BROKER_STATS_INIT;
  EXPECT_EQ(std::memcmp(&broker, &broker_macro, sizeof broker), 0);
}

TEST(CApiOptions, InitRefusesASmallerStructAndZeroesTheTailOfABiggerOne) {
  flume_client_options client;
  EXPECT_EQ(flume_client_options_init(&client, offsetof(flume_client_options, publish_timeout_ms)),
            FLUME_EOPTIONS);
  EXPECT_EQ(flume_client_options_init(nullptr, sizeof client), FLUME_EINVAL);
  // A caller built against a newer header: the fields this library does not know stay 0, which
  // means "default".
  struct Newer {
    flume_client_options known;
    uint64_t added_later;
  } newer;
  std::memset(&newer, 0xAB, sizeof newer);
  ASSERT_EQ(flume_client_options_init(&newer.known, sizeof newer), FLUME_OK);
  EXPECT_EQ(newer.known.struct_size, sizeof newer);
  EXPECT_EQ(newer.known.connect_timeout_ms, 5000);
  EXPECT_EQ(newer.added_later, 0u);
}

TEST(CApiMessages, ViewsCarryTheirSizeAndStepByTheCallersViewSize) {
  flume_message_view view{};
  view.struct_size = sizeof view;
  view.subject = "a.b";
  view.subject_length = 3;
  view.payload = "hi";
  view.payload_length = 2;
  view.subscription_id = 7;
  flume_message *messages[2] = {nullptr, nullptr};
  ASSERT_EQ(flume_message_copy(&messages[0], &view), FLUME_OK) << flume_last_error();
  view.subject = "c";
  view.subject_length = 1;
  ASSERT_EQ(flume_message_copy(&messages[1], &view), FLUME_OK);
  EXPECT_EQ(flume_message_subject_length(messages[0]), 3u);
  EXPECT_EQ(std::memcmp(flume_message_payload(messages[0]), "hi", 2), 0);
  EXPECT_EQ(flume_message_payload_length(messages[0]), 2u);
  EXPECT_EQ(flume_message_subscription_id(messages[1]), 7u);

  // A caller whose views are bigger (built against a newer header) gets each one filled with
  // what this library knows, struct_size saying how much, at its own stride.
  struct Wider {
    flume_message_view view;
    uint64_t added_later;
  } wide[2];
  std::memset(wide, 0xAB, sizeof wide);
  ASSERT_EQ(flume_message_views(&wide[0].view, sizeof(Wider), messages, 2), FLUME_OK);
  EXPECT_EQ(wide[0].view.struct_size, sizeof(flume_message_view));
  EXPECT_EQ(std::string(wide[0].view.subject, wide[0].view.subject_length), "a.b");
  EXPECT_EQ(std::string(wide[1].view.subject, wide[1].view.subject_length), "c");
  EXPECT_EQ(wide[1].added_later, 0xABABABABABABABABu);  // not written: unknown to the library

  flume_message_view small[2];
  EXPECT_EQ(flume_message_views(small, offsetof(flume_message_view, subscription_id), messages, 2),
            FLUME_EOPTIONS);
  view.struct_size = 0;
  flume_message *copy = nullptr;
  EXPECT_EQ(flume_message_copy(&copy, &view), FLUME_EOPTIONS);
  EXPECT_EQ(flume_message_subject(nullptr), nullptr);
  EXPECT_EQ(flume_message_payload_length(nullptr), 0u);
  flume_message_free_batch(messages, 2);
}

}  // namespace
