// The protocol's stream rules against the real flume-broker process over real QUIC, as an
// independent client would exercise them (docs/protocol.md 3.3, 6.1, 6.2, 6.3): a raw QUIC
// connection pipelines, resets and stops streams; a normal client checks what got through.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "broker_process.hpp"
#include "raw_connection.hpp"

namespace flume::e2e {
namespace {

std::vector<std::uint8_t> publish(std::string_view subject, std::uint64_t sequence) {
  return RawConnection::frame(static_cast<std::uint8_t>(FrameType::publish), subject,
                              make_payload(sequence));
}

class E2eProtocol : public BrokerTest {
 protected:
  // A normal client subscribed to `pattern`, with the subscription known to the broker.
  std::shared_ptr<Subscription> subscribe(std::unique_ptr<Client> &client,
                                          std::string_view pattern) {
    client = connect();
    if (!client) return nullptr;
    ClientResult result;
    auto subscription = client->subscribe(std::string(pattern), {}, nullptr, result);
    EXPECT_TRUE(subscription) << result.message;
    EXPECT_TRUE(client->flush(5s).ok());
    return subscription;
  }

  // A raw connection that said HELLO and got its OK.
  void open_raw(RawConnection &raw) {
    std::string error;
    ASSERT_TRUE(raw.connect(broker.port(), broker.certificate(), error)) << error;
    raw.send_control(RawConnection::hello());
    ASSERT_TRUE(raw.wait_frame(FrameType::ok, 0, 5s)) << "no OK to HELLO";
  }

  // The broker closed `raw` with PROTOCOL_ERROR.
  static void expect_protocol_error_close(RawConnection &raw) {
    const auto info = raw.wait_closed(5s);
    ASSERT_TRUE(info.has_value()) << "the connection stayed open";
    EXPECT_EQ(info->reason, quic::CloseReason::application) << info->message;
    EXPECT_TRUE(info->by_peer) << info->message;
    EXPECT_EQ(info->error_code, static_cast<std::uint64_t>(ErrorCode::protocol_error))
        << info->message;
  }
};

TEST_F(E2eProtocol, PublishStreamPipelinedAndEndedBeforeHelloIsAcceptedIsDeliveredInFull) {
  std::unique_ptr<Client> subscriber;
  auto subscription = subscribe(subscriber, "pipe.>");
  ASSERT_TRUE(subscription);

  constexpr int kConnections = 4;
  constexpr std::uint64_t kPerConnection = 25;
  std::vector<std::unique_ptr<RawConnection>> raws;
  for (int c = 0; c < kConnections; ++c) {
    auto raw = std::make_unique<RawConnection>();
    std::string error;
    ASSERT_TRUE(raw->connect(broker.port(), broker.certificate(), error)) << error;
    const std::string subject = "pipe." + std::to_string(c);
    const bool hello_late = c % 2 == 1;
    // One loop task: HELLO, a publish stream with every PUBLISH and its FIN, all in one write
    // pass, as a pipelining client sends them. Every other connection holds its HELLO back a
    // little, so the whole publish stream (FIN included) certainly arrives before it.
    raw->run_on_loop([&] {
      if (!hello_late) raw->send_control(RawConnection::hello());
    });
    const std::int64_t stream = raw->open_publish_stream();
    ASSERT_GE(stream, 0);
    std::vector<std::uint8_t> all;
    for (std::uint64_t i = 0; i < kPerConnection; ++i) {
      const auto frame = publish(subject, c * kPerConnection + i);
      all.insert(all.end(), frame.begin(), frame.end());
    }
    raw->send_on(stream, std::move(all), true);
    if (hello_late) {
      std::this_thread::sleep_for(100ms);
      raw->send_control(RawConnection::hello());
    }
    raws.push_back(std::move(raw));
  }

  const std::size_t expected = kConnections * kPerConnection;
  const std::vector<Message> got = receive(*subscription, expected, 10s);
  std::set<std::uint64_t> sequences;
  for (const Message &message : got)
    sequences.insert(payload_sequence(message.payload()));
  EXPECT_EQ(got.size(), expected);
  EXPECT_EQ(sequences.size(), expected) << "duplicates or losses";
  for (auto &raw : raws) {
    EXPECT_TRUE(raw->wait_frame(FrameType::ok, 0, 5s));
    EXPECT_FALSE(raw->closed());
  }
}

TEST_F(E2eProtocol, ControlStreamResetAtAFrameBoundaryClosesWithProtocolError) {
  RawConnection raw;
  open_raw(raw);
  raw.reset(kControlStreamId, 0x42);
  expect_protocol_error_close(raw);
  // Only our half was reset: the broker's ERROR explaining the close can still arrive.
  const auto error = raw.wait_frame(FrameType::error, 0, 1s);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(raw.frames()[*error].error_code(),
            static_cast<std::uint16_t>(ErrorCode::protocol_error));
}

TEST_F(E2eProtocol, ControlStreamResetInsideAFrameClosesWithProtocolError) {
  RawConnection raw;
  open_raw(raw);
  std::vector<std::uint8_t> partial = RawConnection::ping("never finished");
  partial.resize(partial.size() - 3);
  raw.send_control(partial);
  raw.reset(kControlStreamId, 0);
  expect_protocol_error_close(raw);
}

TEST_F(E2eProtocol, ControlStreamStopSendingClosesWithProtocolErrorInsteadOfGoingSilent) {
  RawConnection raw;
  open_raw(raw);
  raw.stop_sending(kControlStreamId, 0x42);
  // The broker cannot answer this PING any more; it must close instead of ignoring it.
  raw.send_control(RawConnection::ping("anyone?"));
  expect_protocol_error_close(raw);
  EXPECT_FALSE(raw.wait_frame(FrameType::pong, 0, 0ms).has_value());
}

TEST_F(E2eProtocol, StopSendingOnASubscriptionStreamIsAnsweredWithTheClientsCode) {
  RawConnection raw;
  open_raw(raw);
  raw.send_control(RawConnection::subscribe("stop.me", 1));
  ASSERT_TRUE(raw.wait_frame(FrameType::ok, 1, 5s));
  constexpr std::int64_t kFirstSubscriptionStream = 3;
  ASSERT_TRUE(raw.wait_stream_frames(kFirstSubscriptionStream, 1, 5s));
  EXPECT_EQ(raw.stream_frames(kFirstSubscriptionStream)[0].type, FrameType::subscription);

  raw.stop_sending(kFirstSubscriptionStream, 0x4242);
  const auto code = raw.wait_reset(kFirstSubscriptionStream, 5s);
  ASSERT_TRUE(code.has_value()) << "no RESET_STREAM";
  EXPECT_EQ(*code, 0x4242u);
  // The subscription is gone and the connection is fine.
  raw.send_control(RawConnection::ping("still here"));
  EXPECT_TRUE(raw.wait_frame(FrameType::pong, 0, 5s));
  EXPECT_FALSE(raw.closed());
}

class E2eSmallPayloadLimit : public ::testing::Test {
 protected:
  BrokerProcess broker{{"--max-payload", "1024"}};
};

TEST_F(E2eSmallPayloadLimit, HelloLargerThanTheConfiguredLimitIsAcceptedAndAnnouncesIt) {
  std::string error;
  ASSERT_TRUE(broker.start(error)) << error;
  RawConnection raw;
  ASSERT_TRUE(raw.connect(broker.port(), broker.certificate(), error)) << error;
  raw.send_control(RawConnection::hello(std::string(4096, 't')));  // 4122-byte payload
  const auto ok = raw.wait_frame(FrameType::ok, 0, 5s);
  ASSERT_TRUE(ok.has_value()) << "HELLO refused";
  const std::vector<ReceivedFrame> frames = raw.frames();  // the properties are views into it
  Properties properties;
  ASSERT_EQ(properties.parse(frames[*ok].payload), FrameError::ok);
  EXPECT_EQ(properties.integer(PropertyId::max_payload), 1024u);
  EXPECT_FALSE(raw.closed());
}

}  // namespace
}  // namespace flume::e2e
