// Test doubles and helpers for the broker engine: an in-memory SessionTransport that records what
// the broker writes per stream and can hold streams back or withhold stream credit, builders for
// client frames, and a Client that drives one session.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"
#include "protocol/protocol.hpp"

namespace flume::broker::test {

inline std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto &part : parts)
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A frame copied out of the decoder's views.
struct OwnedFrame {
  FrameType type;
  std::string subject;
  std::vector<std::uint8_t> payload;

  std::string payload_text() const { return {payload.begin(), payload.end()}; }
  std::optional<std::uint64_t> integer(PropertyId id) const {
    Properties properties;
    if (properties.parse(payload) != FrameError::ok || !properties.has(id)) return std::nullopt;
    return properties.integer(id);
  }
  std::optional<std::string> string(PropertyId id) const {
    Properties properties;
    if (properties.parse(payload) != FrameError::ok || !properties.has(id)) return std::nullopt;
    return std::string(properties.string(id));
  }
  std::optional<std::uint64_t> error_code() const { return integer(PropertyId::error_code); }
};

// Decodes everything written on one stream with the real decoder; fails the test on bad bytes.
inline std::vector<OwnedFrame> decode_all(const std::vector<std::uint8_t> &bytes) {
  FrameDecoder decoder(kHardMaxPayload);
  std::vector<OwnedFrame> frames;
  std::span<const std::uint8_t> input(bytes);
  while (!input.empty()) {
    Frame frame{};
    const DecodeStatus status = decoder.next(input, frame);
    if (status == DecodeStatus::need_more) break;
    EXPECT_EQ(status, DecodeStatus::frame) << describe(decoder.error());
    if (status != DecodeStatus::frame) break;
    frames.push_back(
        {frame.type, std::string(frame.subject), {frame.payload.begin(), frame.payload.end()}});
  }
  EXPECT_EQ(decoder.finish(), FrameError::ok) << "broker wrote a partial frame";
  return frames;
}

class FakeTransport : public SessionTransport {
 public:
  struct Write {
    std::int64_t stream;
    SharedBuffer bytes;
    bool fin;
  };

  std::int64_t open_uni_stream() override {
    if (throw_on_open) throw std::bad_alloc();
    if (credit == 0) return -1;
    --credit;
    const std::int64_t id = next_stream;
    next_stream += 4;
    if (record) opened.push_back(id);
    ++streams_opened;
    return id;
  }
  void send(std::int64_t stream, SharedBuffer bytes, bool fin) override {
    if (throw_on_send) throw std::bad_alloc();
    EXPECT_FALSE(closed) << "send after close";
    EXPECT_FALSE(fins.contains(stream)) << "send after FIN on stream " << stream;
    if (fin && !record) ++fin_count;
    if (fin && record) fins.insert(stream);
    if (record) writes.push_back({stream, std::move(bytes), fin});
    if (on_send) on_send();
  }
  std::size_t unsent_bytes(std::int64_t stream) const override {
    auto it = unsent.find(stream);
    return it == unsent.end() ? 0 : it->second;
  }
  void reset_stream(std::int64_t stream, std::uint64_t code) override {
    resets.emplace(stream, code);
  }
  void close(std::uint64_t code, std::string_view reason) override {
    EXPECT_FALSE(closed) << "closed twice";
    closed = true;
    close_code = code;
    close_reason = std::string(reason);
    if (on_close) on_close();
  }

  std::vector<std::uint8_t> stream_bytes(std::int64_t stream) const {
    std::vector<std::uint8_t> out;
    for (const Write &write : writes) {
      if (write.stream == stream)
        out.insert(out.end(), write.bytes.data(), write.bytes.data() + write.bytes.size());
    }
    return out;
  }
  std::vector<OwnedFrame> frames(std::int64_t stream) const {
    return decode_all(stream_bytes(stream));
  }
  // The buffers handed over on a stream, for identity checks (empty FIN buffers left out).
  std::vector<SharedBuffer> buffers(std::int64_t stream) const {
    std::vector<SharedBuffer> out;
    for (const Write &write : writes) {
      if (write.stream == stream && write.bytes.size() > 0) out.push_back(write.bytes);
    }
    return out;
  }
  bool fin_sent(std::int64_t stream) const { return fins.contains(stream); }

  // The stream whose first frame is SUBSCRIPTION {subscription_id}, or -1.
  std::int64_t stream_of(std::uint32_t subscription_id) const {
    for (std::int64_t stream : opened) {
      std::vector<OwnedFrame> got = frames(stream);
      if (!got.empty() && got[0].type == FrameType::subscription &&
          got[0].integer(PropertyId::subscription_id) == subscription_id) {
        return stream;
      }
    }
    return -1;
  }

  // Settings.
  std::uint64_t credit = std::numeric_limits<std::uint64_t>::max();
  bool record = true;
  bool throw_on_open = false;
  bool throw_on_send = false;
  std::map<std::int64_t, std::size_t> unsent;
  std::function<void()> on_close;
  std::function<void()> on_send;

  // What happened.
  std::int64_t next_stream = 3;
  std::uint64_t streams_opened = 0;
  std::uint64_t fin_count = 0;
  std::vector<std::int64_t> opened;
  std::vector<Write> writes;
  std::set<std::int64_t> fins;
  std::multimap<std::int64_t, std::uint64_t> resets;
  bool closed = false;
  std::uint64_t close_code = 0;
  std::string close_reason;
};

// Client frames.
inline std::vector<std::uint8_t> frame(FrameType type, std::string_view subject,
                                       std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(frame_size(subject.size(), payload.size()));
  std::size_t written = 0;
  const FrameError error = encode_frame(type, subject, payload, out, written, kHardMaxPayload);
  EXPECT_EQ(error, FrameError::ok) << describe(error);
  out.resize(written);
  return out;
}

// A frame exactly as given, without any check: for malformed input.
// Sized once and filled with memcpy: GCC 12 at -O3 reports false -Warray-bounds and
// -Wstringop-overflow warnings for insert() at the end of a header-sized vector.
inline std::vector<std::uint8_t> raw_frame(std::uint8_t type, std::string_view subject,
                                           std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(kFrameHeaderSize + subject.size() + payload.size());
  write_header(out.data(), static_cast<FrameType>(type), static_cast<std::uint8_t>(subject.size()),
               static_cast<std::uint32_t>(payload.size()));
  if (!subject.empty()) std::memcpy(out.data() + kFrameHeaderSize, subject.data(), subject.size());
  if (!payload.empty()) {
    std::memcpy(out.data() + kFrameHeaderSize + subject.size(), payload.data(), payload.size());
  }
  return out;
}

class Props {
 public:
  Props &u8(PropertyId id, std::uint8_t v) { return put(id, {v}); }
  Props &u16(PropertyId id, std::uint16_t v) { return put(id, be(v, 2)); }
  Props &u32(PropertyId id, std::uint32_t v) { return put(id, be(v, 4)); }
  Props &str(PropertyId id, std::string_view v) { return put(id, bytes_of(v)); }
  Props &raw(std::uint8_t id, std::vector<std::uint8_t> value) {
    bytes_.push_back(id);
    bytes_.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return *this;
  }
  Props &put(PropertyId id, std::vector<std::uint8_t> value) {
    return raw(static_cast<std::uint8_t>(id), std::move(value));
  }
  const std::vector<std::uint8_t> &bytes() const { return bytes_; }

 private:
  static std::vector<std::uint8_t> be(std::uint64_t v, int width) {
    std::vector<std::uint8_t> out;
    for (int i = width - 1; i >= 0; --i)
      out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return out;
  }
  std::vector<std::uint8_t> bytes_;
};

inline std::vector<std::uint8_t> hello_frame(std::uint16_t version = 1,
                                             std::optional<std::uint32_t> request_id = {},
                                             std::string_view client_name = {},
                                             std::string_view token = {}) {
  Props p;
  if (request_id) p.u32(PropertyId::request_id, *request_id);
  p.u16(PropertyId::protocol_version, version);
  if (!client_name.empty()) p.str(PropertyId::client_name, client_name);
  if (!token.empty()) p.str(PropertyId::token, token);
  return frame(FrameType::hello, {}, p.bytes());
}

struct SubscribeOptions {
  std::optional<std::uint32_t> request_id = {};
  std::optional<OverflowPolicy> policy = {};
  std::optional<std::uint32_t> queue_limit = {};
};

inline std::vector<std::uint8_t> subscribe_frame(std::string_view pattern, std::uint32_t id,
                                                 SubscribeOptions options = {}) {
  Props p;
  if (options.request_id) p.u32(PropertyId::request_id, *options.request_id);
  p.u32(PropertyId::subscription_id, id);
  if (options.policy) p.u8(PropertyId::overflow_policy, static_cast<std::uint8_t>(*options.policy));
  if (options.queue_limit) p.u32(PropertyId::queue_limit, *options.queue_limit);
  return raw_frame(0x06, pattern, p.bytes());  // unchecked, so tests can send bad patterns
}

inline std::vector<std::uint8_t> unsubscribe_frame(std::uint32_t id,
                                                   std::optional<std::uint32_t> request_id = {}) {
  Props p;
  if (request_id) p.u32(PropertyId::request_id, *request_id);
  p.u32(PropertyId::subscription_id, id);
  return frame(FrameType::unsubscribe, {}, p.bytes());
}

inline std::vector<std::uint8_t> publish_frame(std::string_view subject, std::string_view payload) {
  return raw_frame(0x08, subject, bytes_of(payload));  // unchecked: bad subjects allowed
}

inline std::vector<std::uint8_t> ping_frame(std::string_view payload) {
  return frame(FrameType::ping, {}, bytes_of(payload));
}

// Every message accepted and matched is written, dropped, discarded or still queued.
inline void expect_all_accounted(const BrokerStats &s) {
  EXPECT_EQ(s.deliveries, s.messages_out + s.dropped_oldest + s.dropped_newest +
                              s.dropped_slow_consumer + s.dropped_no_memory + s.discarded_on_close +
                              s.queued_messages);
}

inline std::size_t code(ErrorCode c) {
  return static_cast<std::size_t>(c);
}

// One client connection driven by hand.
class Client {
 public:
  explicit Client(Broker &broker, std::uint64_t now_ns = 0, std::string peer = "client")
      : broker_(broker) {
    session = broker_.open_session(transport, now_ns, std::move(peer));
  }
  ~Client() {
    if (session != nullptr) broker_.close_session(session);
  }
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  void control(const std::vector<std::uint8_t> &bytes, bool fin = false) {
    broker_.on_stream_data(session, kControlStreamId, bytes, fin);
  }
  void on_stream(std::int64_t stream, const std::vector<std::uint8_t> &bytes, bool fin = false) {
    broker_.on_stream_data(session, stream, bytes, fin);
  }
  // HELLO, expecting the OK.
  void hello() {
    control(hello_frame());
    auto frames = control_frames();
    ASSERT_FALSE(frames.empty());
    ASSERT_EQ(frames.back().type, FrameType::ok);
  }
  void subscribe(std::string_view pattern, std::uint32_t id, SubscribeOptions options = {}) {
    control(subscribe_frame(pattern, id, options));
  }
  void unsubscribe(std::uint32_t id) { control(unsubscribe_frame(id)); }
  void publish(std::string_view subject, std::string_view payload) {
    control(publish_frame(subject, payload));
  }

  std::vector<OwnedFrame> control_frames() const { return transport.frames(kControlStreamId); }
  OwnedFrame last_control() const {
    auto frames = control_frames();
    EXPECT_FALSE(frames.empty());
    return frames.empty() ? OwnedFrame{FrameType::ok, {}, {}} : frames.back();
  }
  std::int64_t stream(std::uint32_t id) const { return transport.stream_of(id); }
  std::vector<OwnedFrame> frames(std::uint32_t id) const {
    const std::int64_t s = stream(id);
    return s < 0 ? std::vector<OwnedFrame>{} : transport.frames(s);
  }
  // Payloads of the MESSAGE frames on a subscription's stream, in order.
  std::vector<std::string> messages(std::uint32_t id) const {
    std::vector<std::string> out;
    for (const OwnedFrame &f : frames(id)) {
      if (f.type == FrameType::message) out.push_back(f.payload_text());
    }
    return out;
  }
  // The stream takes nothing more / takes everything again.
  void stall(std::uint32_t id) { transport.unsent[stream(id)] = std::size_t{1} << 40; }
  void unstall(std::uint32_t id) {
    const std::int64_t s = stream(id);
    transport.unsent[s] = 0;
    broker_.on_stream_writable(session, s);
  }

  FakeTransport transport;
  Session *session = nullptr;

 private:
  Broker &broker_;
};

inline std::vector<std::string> numbered(std::string_view prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i)
    out.push_back(std::string(prefix) + std::to_string(i));
  return out;
}

}  // namespace flume::broker::test
