// WsSession over the real broker engine: bytes in as a browser would send them, the broker's
// WebSocket frames out, decoded with the real frame decoder.
#include "websocket/ws_session.hpp"

#include <gtest/gtest.h>

#include <map>

#include "broker/broker_test_util.hpp"
#include "websocket/ws_test_util.hpp"

namespace flume::websocket {
namespace {

using broker::test::decode_all;
using broker::test::hello_frame;
using broker::test::publish_frame;
using broker::test::subscribe_frame;
using test::parse_server_frames;
using test::stream_frame;
using test::ws_frame;

constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;

// One WebSocket client of the engine: what it was sent, per stream, and how it was closed.
struct Peer {
  explicit Peer(broker::Broker &engine, WsSessionConfig config = {}) : session(engine, config) {
    EXPECT_TRUE(session.open(now, "test"));
  }

  void input(const std::vector<std::uint8_t> &bytes) {
    session.on_input(bytes, now);
    read();
  }

  // Takes what the session wrote and sorts it by stream.
  void read() {
    session.flush();
    const auto out = session.output();
    raw.insert(raw.end(), out.begin(), out.end());
    session.consume_output(out.size());
    const auto frames = parse_server_frames(raw);
    for (std::size_t i = seen; i < frames.size(); ++i) {
      const auto &f = frames[i];
      if (f.opcode == kClose) {
        EXPECT_GE(f.payload.size(), 2u) << "a Close without a code";
        if (f.payload.size() < 2) continue;
        close_code = static_cast<std::uint16_t>((f.payload[0] << 8) | f.payload[1]);
        close_reason.assign(f.payload.begin() + 2, f.payload.end());
        continue;
      }
      if (f.opcode != kBinary) continue;
      StreamMessage m;
      const char *why = nullptr;
      ASSERT_TRUE(parse_stream_message(f.payload, m, why)) << why;
      ops[m.stream_id].push_back(m.op);
      auto &bytes = streams[m.stream_id];
      bytes.insert(bytes.end(), m.data.begin(), m.data.end());
    }
    seen = frames.size();
  }

  std::vector<broker::test::OwnedFrame> frames(std::int64_t stream) {
    return decode_all(streams[stream]);
  }

  std::uint64_t now = 1'000'000'000;
  WsSession session;
  std::vector<std::uint8_t> raw;
  std::size_t seen = 0;
  std::map<std::int64_t, std::vector<std::uint8_t>> streams;
  std::map<std::int64_t, std::vector<StreamOp>> ops;
  std::uint16_t close_code = 0;
  std::string close_reason;
};

broker::BrokerConfig small_config() {
  broker::BrokerConfig config;
  config.max_payload = 1024;
  return config;
}

TEST(WsSession, HelloIsAnsweredWithOkOnStreamZero) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  peer.input(stream_frame(0, StreamOp::data, hello_frame()));
  const auto control = peer.frames(0);
  ASSERT_EQ(control.size(), 1u);
  EXPECT_EQ(control[0].type, FrameType::ok);
  EXPECT_EQ(control[0].integer(PropertyId::max_payload), 1024u);
}

TEST(WsSession, AMessageReachesAnotherWebSocketSubscriberOnItsOwnStream) {
  broker::Broker engine(small_config());
  Peer sub(engine);
  Peer pub(engine);
  sub.input(stream_frame(0, StreamOp::data,
                         broker::test::concat({hello_frame(), subscribe_frame("a.>", 7)})));
  pub.input(stream_frame(0, StreamOp::data, hello_frame()));
  // On a publish stream of its own, ended with FIN in the same message.
  pub.input(stream_frame(2, StreamOp::data_fin, publish_frame("a.b", "hello")));
  sub.read();
  const auto frames = sub.frames(3);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::subscription);
  EXPECT_EQ(frames[0].integer(PropertyId::subscription_id), 7u);
  EXPECT_EQ(frames[1].type, FrameType::message);
  EXPECT_EQ(frames[1].subject, "a.b");
  EXPECT_EQ(frames[1].payload_text(), "hello");
}

TEST(WsSession, AFrameSplitAcrossMessagesIsReassembled) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  const auto hello = hello_frame();
  peer.input(stream_frame(0, StreamOp::data, {hello.begin(), hello.begin() + 3}));
  EXPECT_TRUE(peer.frames(0).empty());
  peer.input(stream_frame(0, StreamOp::data, {hello.begin() + 3, hello.end()}));
  ASSERT_EQ(peer.frames(0).size(), 1u);
}

TEST(WsSession, StopOnASubscriptionStreamUnsubscribesAndResetsItWithTheSameCode) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  peer.input(stream_frame(0, StreamOp::data,
                          broker::test::concat({hello_frame(), subscribe_frame("a", 1)})));
  ASSERT_EQ(peer.frames(3).size(), 1u);
  peer.input(ws_frame(kBinary, encode_stream_signal(3, StreamOp::stop, 0x42)));
  ASSERT_FALSE(peer.ops[3].empty());
  EXPECT_EQ(peer.ops[3].back(), StreamOp::reset);
  EXPECT_EQ(engine.stats().subscriptions, 0u);
}

TEST(WsSession, AProtocolErrorFromTheEngineClosesWith4000PlusTheCodeAfterTheError) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  // A first frame other than HELLO: PROTOCOL_ERROR (6).
  peer.input(stream_frame(0, StreamOp::data, publish_frame("a", "x")));
  const auto control = peer.frames(0);
  EXPECT_EQ(peer.close_code, 4001) << peer.close_reason;
  ASSERT_EQ(control.size(), 1u);
  EXPECT_EQ(control[0].type, FrameType::error);
  EXPECT_TRUE(peer.session.done());
}

TEST(WsSession, AMessageOnAStreamTheClientMayNotUseClosesWith4001) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  peer.input(stream_frame(0, StreamOp::data, hello_frame()));
  peer.input(stream_frame(3, StreamOp::data, publish_frame("a", "x")));
  EXPECT_EQ(peer.close_code, 4001);
  EXPECT_NE(peer.close_reason.find("stream id"), std::string::npos);
}

TEST(WsSession, TooManyPublishStreamsAtOnceCloseWith4001) {
  broker::Broker engine(small_config());
  WsSessionConfig config;
  config.max_publish_streams = 2;
  Peer peer(engine, config);
  peer.input(stream_frame(0, StreamOp::data, hello_frame()));
  peer.input(stream_frame(2, StreamOp::data, {}));
  peer.input(stream_frame(6, StreamOp::data, {}));
  EXPECT_EQ(peer.close_code, 0);
  peer.input(stream_frame(10, StreamOp::data, {}));
  EXPECT_EQ(peer.close_code, 4001);
}

TEST(WsSession, WebSocketProtocolErrorsCloseWithRfc6455Codes) {
  struct Case {
    const char *what;
    std::vector<std::uint8_t> bytes;
    std::uint16_t code;
  };
  const std::vector<std::uint8_t> hello = stream_frame(0, StreamOp::data, hello_frame());
  std::vector<std::uint8_t> bad_utf8_close = {0x03, 0xe8, 0xc3, 0x28};  // 1000, invalid UTF-8
  const std::vector<Case> cases = {
      {"unmasked client frame", ws_frame(kBinary, {0x00, 0x00}, true, false), 1002},
      {"reserved opcode", ws_frame(0x3, {0x00}), 1002},
      {"fragmented control frame", ws_frame(0x9, {0x01}, false), 1002},
      {"text message", ws_frame(0x1, {'h', 'i'}), 1003},
      {"oversized message", ws_frame(kBinary, std::vector<std::uint8_t>(70000, 0)), 1009},
      {"invalid UTF-8 in a close reason", ws_frame(kClose, bad_utf8_close), 1007},
  };
  for (const auto &c : cases) {
    broker::Broker engine(small_config());
    WsSessionConfig config;
    config.max_message_bytes = 65536 + 1024;
    Peer peer(engine, config);
    peer.input(hello);
    peer.input(c.bytes);
    EXPECT_EQ(peer.close_code, c.code) << c.what;
    EXPECT_TRUE(peer.session.done()) << c.what;
  }
}

TEST(WsSession, APeerCloseIsAnsweredAndEndsTheSession) {
  broker::Broker engine(small_config());
  Peer peer(engine);
  peer.input(stream_frame(0, StreamOp::data, hello_frame()));
  EXPECT_EQ(engine.stats().connections, 1u);
  peer.input(ws_frame(kClose, {0x03, 0xe8}));
  EXPECT_EQ(peer.close_code, 1000);
  EXPECT_TRUE(peer.session.done());
  peer.session.on_transport_gone();
  EXPECT_EQ(engine.stats().connections, 0u);
}

// A subscriber that never reads: what the session holds stays bounded, and the engine's own
// queue with its overflow policy takes the rest, as for a blocked QUIC stream.
TEST(WsSession, ASlowReaderHoldsABoundedAmountAndTheEngineDropsTheRest) {
  broker::BrokerConfig config = small_config();
  config.default_queue_limit = 16;
  broker::Broker engine(config);
  WsSessionConfig ws;
  ws.output_high_water = 16 * 1024;
  WsSession slow(engine, ws);
  ASSERT_TRUE(slow.open(1, "slow"));
  slow.on_input(stream_frame(0, StreamOp::data,
                             broker::test::concat({hello_frame(), subscribe_frame("a", 1)})),
                1);
  Peer pub(engine);
  pub.input(stream_frame(0, StreamOp::data, hello_frame()));
  const std::string payload(1000, 'x');
  for (int i = 0; i < 2000; ++i) {
    pub.input(stream_frame(0, StreamOp::data, publish_frame("a", payload)));
    slow.flush();  // frames what fits; nobody writes output() to a socket
  }
  // The output buffer and wslay's queue each stop at the high-water mark (plus one message),
  // the per-stream queue at the engine's stream window.
  EXPECT_LE(slow.output().size(), ws.output_high_water + 2048);
  EXPECT_LE(slow.unsent_bytes(3), config.stream_window_bytes + 2048);
  const auto stats = engine.stats();
  EXPECT_GT(stats.dropped_oldest, 0u);
  EXPECT_LE(engine.memory_queued_bytes(), 16u * 2048);
}

}  // namespace
}  // namespace flume::websocket
