// An in-memory world for client_engine::Session: a transport that records what the Session sends,
// events that record what it reports, and builders for the frames a broker sends, made with the
// real encoder.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "client_engine/session.hpp"
#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"
#include "subject/subject.hpp"

namespace flume::client_engine::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

inline Bytes concat_bytes(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &part : parts)
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

inline Bytes encode(FrameType type, std::string_view subject, const Bytes &payload) {
  Bytes out(frame_size(subject.size(), payload.size()));
  std::size_t written = 0;
  FrameError error = encode_frame(type, subject, payload, out, written, kHardMaxPayload);
  if (error != FrameError::ok) throw std::runtime_error(describe(error));
  out.resize(written);
  return out;
}

// Properties built one call at a time: Props().u32(PropertyId::request_id, 1).bytes()
class Props {
 public:
  Props &u8(PropertyId id, std::uint8_t v) {
    return put([&](PropertyWriter &w) { w.put_u8(id, v); });
  }
  Props &u16(PropertyId id, std::uint16_t v) {
    return put([&](PropertyWriter &w) { w.put_u16(id, v); });
  }
  Props &u32(PropertyId id, std::uint32_t v) {
    return put([&](PropertyWriter &w) { w.put_u32(id, v); });
  }
  Props &u64(PropertyId id, std::uint64_t v) {
    return put([&](PropertyWriter &w) { w.put_u64(id, v); });
  }
  Props &str(PropertyId id, std::string_view v) {
    return put([&](PropertyWriter &w) { w.put_string(id, v); });
  }
  Props &raw(const Bytes &bytes) {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  const Bytes &bytes() const { return bytes_; }

 private:
  template <typename Put>
  Props &put(Put put_one) {
    Bytes buffer(8192);
    PropertyWriter writer(buffer);
    put_one(writer);
    if (!writer.ok()) throw std::runtime_error("property does not fit");
    bytes_.insert(bytes_.end(), writer.bytes().begin(), writer.bytes().end());
    return *this;
  }
  Bytes bytes_;
};

// ---- Broker frames
// -------------------------------------------------------------------------------

inline Bytes ok_to_hello(std::uint32_t request_id = 1, std::uint32_t max_payload = 65536,
                         std::uint32_t max_subscriptions = 10000,
                         std::string_view server_name = "flume-broker/0.1.0") {
  return encode(FrameType::ok, "",
                Props()
                    .u32(PropertyId::request_id, request_id)
                    .u16(PropertyId::protocol_version, 1)
                    .str(PropertyId::server_name, server_name)
                    .u32(PropertyId::max_payload, max_payload)
                    .u32(PropertyId::max_subscriptions, max_subscriptions)
                    .bytes());
}

inline Bytes ok_to(std::optional<std::uint32_t> request_id, std::uint32_t subscription_id,
                   std::optional<std::uint32_t> queue_limit = std::nullopt) {
  Props props;
  if (request_id) props.u32(PropertyId::request_id, *request_id);
  props.u32(PropertyId::subscription_id, subscription_id);
  if (queue_limit) props.u32(PropertyId::queue_limit, *queue_limit);
  return encode(FrameType::ok, "", props.bytes());
}

inline Bytes error_frame(std::optional<std::uint32_t> request_id,
                         std::optional<std::uint32_t> subscription_id, ErrorCode code,
                         std::string_view message = {}) {
  Props props;
  if (request_id) props.u32(PropertyId::request_id, *request_id);
  if (subscription_id) props.u32(PropertyId::subscription_id, *subscription_id);
  props.u16(PropertyId::error_code, static_cast<std::uint16_t>(code));
  if (!message.empty()) props.str(PropertyId::error_message, message);
  return encode(FrameType::error, "", props.bytes());
}

inline Bytes subscription_frame(std::uint32_t id) {
  return encode(FrameType::subscription, "", Props().u32(PropertyId::subscription_id, id).bytes());
}

inline Bytes message_frame(std::string_view subject, std::string_view payload) {
  return encode(FrameType::message, subject, bytes_of(payload));
}

inline Bytes dropped_frame(std::uint64_t count) {
  return encode(FrameType::dropped, "", Props().u64(PropertyId::dropped_count, count).bytes());
}

inline Bytes pong_frame(std::uint64_t token) {
  Bytes payload(8);
  for (int i = 0; i < 8; ++i)
    payload[i] = static_cast<std::uint8_t>(token >> (8 * (7 - i)));
  return encode(FrameType::pong, "", payload);
}

// ---- What the Session sends
// ------------------------------------------------------------------------

struct SentFrame {
  FrameType type;
  std::string subject;
  Bytes payload;
  Properties props() const {
    Properties parsed;
    if (parsed.parse(payload) != FrameError::ok) throw std::runtime_error("bad properties");
    return parsed;
  }
  std::uint64_t prop(PropertyId id) const { return props().integer(id); }
  bool has(PropertyId id) const { return props().has(id); }
  std::string prop_string(PropertyId id) const { return std::string(props().string(id)); }
};

class FakeTransport : public SessionTransport {
 public:
  struct Send {
    std::int64_t stream_id;
    Bytes bytes;
    bool fin;
  };
  struct Close {
    std::uint64_t code;
    std::string reason;
  };

  void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) override {
    sends.push_back({stream_id, Bytes(bytes.data(), bytes.data() + bytes.size()), fin});
  }
  void stop_sending(std::int64_t stream_id, std::uint64_t code) override {
    stop_sendings.push_back({stream_id, code});
  }
  void close(std::uint64_t code, std::string_view reason) override {
    closes.push_back({code, std::string(reason)});
  }

  // Every frame sent on the control stream so far, decoded (fails the test on bad framing).
  std::vector<SentFrame> control_frames() const {
    Bytes stream;
    for (const Send &send : sends) {
      EXPECT_EQ(send.stream_id, 0) << "the client sends only on the control stream";
      stream.insert(stream.end(), send.bytes.begin(), send.bytes.end());
    }
    FrameDecoder decoder(kHardMaxPayload);
    std::span<const std::uint8_t> input(stream);
    std::vector<SentFrame> frames;
    Frame frame{};
    while (decoder.next(input, frame) == DecodeStatus::frame) {
      frames.push_back({frame.type, std::string(frame.subject),
                        Bytes(frame.payload.begin(), frame.payload.end())});
    }
    EXPECT_TRUE(input.empty()) << "client sent a malformed frame: " << describe(decoder.error());
    EXPECT_EQ(decoder.buffered(), 0u) << "client sent a partial frame";
    return frames;
  }
  SentFrame last_control_frame() const {
    auto frames = control_frames();
    if (frames.empty()) throw std::runtime_error("nothing sent");
    return frames.back();
  }
  Bytes last_send_bytes() const { return sends.empty() ? Bytes{} : sends.back().bytes; }

  std::vector<Send> sends;
  std::vector<std::pair<std::int64_t, std::uint64_t>> stop_sendings;
  std::vector<Close> closes;
};

// ---- What the Session reports -------------------------------------------------------------------

enum class Ev {
  ready,
  message,
  dropped,
  subscribe_result,
  unsubscribed,
  subscription_ended,
  pong,
  error,
  session_failed
};

struct Event {
  Ev kind;
  std::uint32_t id = 0;
  ErrorCode code = ErrorCode::no_error;
  std::string message;  // or the subject of a MESSAGE
  std::string payload;
  std::uint64_t number = 0;  // dropped count, pong token, effective queue limit
  const std::uint8_t *payload_address = nullptr;
};

inline Event make_event(Ev kind, std::uint32_t id = 0, ErrorCode code = ErrorCode::no_error,
                        std::string_view message = {}, std::string_view payload = {},
                        std::uint64_t number = 0) {
  Event event;
  event.kind = kind;
  event.id = id;
  event.code = code;
  event.message = std::string(message);
  event.payload = std::string(payload);
  event.number = number;
  return event;
}

class RecordingEvents : public SessionEvents {
 public:
  void on_ready(const ServerInfo &server) override {
    events.push_back(make_event(Ev::ready, 0, ErrorCode::no_error, server.server_name));
    if (after_ready) after_ready();
  }
  void on_message(const Delivery &d) override {
    Event event = make_event(
        Ev::message, d.subscription_id, ErrorCode::no_error, d.subject,
        std::string_view(reinterpret_cast<const char *>(d.payload.data()), d.payload.size()));
    event.payload_address = d.payload.data();
    events.push_back(event);
    if (after_message) after_message(d);
  }
  void on_dropped(std::uint32_t id, std::uint64_t count) override {
    events.push_back(make_event(Ev::dropped, id, ErrorCode::no_error, {}, {}, count));
  }
  void on_subscribe_result(std::uint32_t id, ErrorCode code, std::string_view message,
                           std::uint32_t limit) override {
    events.push_back(make_event(Ev::subscribe_result, id, code, message, {}, limit));
  }
  void on_unsubscribed(std::uint32_t id, ErrorCode code, std::string_view message) override {
    events.push_back(make_event(Ev::unsubscribed, id, code, message));
  }
  void on_subscription_ended(std::uint32_t id, ErrorCode code, std::string_view message) override {
    events.push_back(make_event(Ev::subscription_ended, id, code, message));
    if (after_ended) after_ended(id);
  }
  void on_pong(std::uint64_t token) override {
    events.push_back(make_event(Ev::pong, 0, ErrorCode::no_error, {}, {}, token));
  }
  void on_error(ErrorCode code, std::string_view message) override {
    events.push_back(make_event(Ev::error, 0, code, message));
  }
  void on_session_failed(ErrorCode code, std::string_view message) override {
    events.push_back(make_event(Ev::session_failed, 0, code, message));
  }

  std::vector<Event> of(Ev kind) const {
    std::vector<Event> out;
    for (const Event &event : events) {
      if (event.kind == kind) out.push_back(event);
    }
    return out;
  }
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (const Event &event : of(Ev::message))
      out.push_back(event.payload);
    return out;
  }

  std::vector<Event> events;
  std::function<void()> after_ready;
  std::function<void(const Delivery &)> after_message;
  std::function<void(std::uint32_t)> after_ended;
};

// ---- Fixture
// --------------------------------------------------------------------------------------

class SessionTest : public ::testing::Test {
 protected:
  SessionConfig config() {
    SessionConfig c;
    c.client_name = "orders-service";
    c.client_library = "flume-c/0.1.0";
    c.token = bytes_of("secret");
    return c;
  }

  void feed(std::int64_t stream_id, const Bytes &bytes, bool fin = false) {
    session.on_stream_data(stream_id, bytes, fin);
  }
  void feed_in_chunks(std::int64_t stream_id, const Bytes &bytes, std::size_t chunk) {
    for (std::size_t at = 0; at < bytes.size(); at += chunk) {
      std::span<const std::uint8_t> piece(bytes.data() + at, std::min(chunk, bytes.size() - at));
      session.on_stream_data(stream_id, piece, false);
    }
  }

  // start() and the broker's OK to HELLO.
  void open(std::uint32_t max_payload = 65536, std::uint32_t max_subscriptions = 10000) {
    ASSERT_TRUE(session.start());
    feed(0, ok_to_hello(1, max_payload, max_subscriptions));
    ASSERT_TRUE(session.ready());
  }

  // subscribe() and return the request_id the SUBSCRIBE carried.
  std::uint32_t subscribe(std::uint32_t id, std::string_view pattern,
                          OverflowPolicy policy = OverflowPolicy::drop_oldest,
                          std::uint32_t queue_limit = 0) {
    Result result = session.subscribe(id, pattern, policy, queue_limit);
    EXPECT_TRUE(result) << result.message();
    return static_cast<std::uint32_t>(transport.last_control_frame().prop(PropertyId::request_id));
  }
  std::uint32_t unsubscribe(std::uint32_t id) {
    Result result = session.unsubscribe(id);
    EXPECT_TRUE(result) << result.message();
    return static_cast<std::uint32_t>(transport.last_control_frame().prop(PropertyId::request_id));
  }

  // An open session with subscription `id` confirmed and its stream `stream_id` attached.
  void open_with_subscription(std::uint32_t id = 7, std::int64_t stream_id = 3) {
    open();
    std::uint32_t request_id = subscribe(id, "orders.>");
    feed(0, ok_to(request_id, id, 1024));
    feed(stream_id, subscription_frame(id));
  }

  std::optional<std::uint64_t> closed_with() const {
    if (transport.closes.empty()) return std::nullopt;
    return transport.closes.back().code;
  }

  FakeTransport transport;
  RecordingEvents events;
  Session session{config(), transport, events};
};

inline std::uint64_t code(ErrorCode c) {
  return static_cast<std::uint64_t>(c);
}

}  // namespace flume::client_engine::test
