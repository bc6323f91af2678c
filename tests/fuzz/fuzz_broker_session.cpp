// Drives the broker engine (core/broker, sans-I/O) with arbitrary client behaviour: three
// connections whose control and publish streams carry raw bytes or well-formed frames, resets,
// STOP_SENDING, streams held back by flow control, stream credit withheld, clocks that jump, and
// connections that go away. Small limits so that queues overflow, budgets run out and connections
// get refused. Invariants checked after every step (any violation traps):
//   - every message matched to a subscription is written, dropped (by cause), discarded or still
//     queued (BrokerStats' accounting identity);
//   - the live subscriptions the broker counts are the ones its sessions count;
//   - the broker writes only well-formed frames, never after FIN on a stream or after closing the
//     connection, never calls back into itself, and hits no internal error;
// and once every connection is gone: no subscription, queued byte, held byte or pattern is left.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "broker/broker.hpp"
#include "codec/frame_decoder.hpp"
#include "fuzz_script.hpp"

namespace {

using flume::FrameType;
using flume::PropertyId;
using flume::PropertyWriter;
using flume::SharedBuffer;
using flume::fuzz::Script;

// One connection's transport, in memory: decodes what the broker writes on each stream.
class Transport : public flume::broker::SessionTransport {
 public:
  std::int64_t open_uni_stream() override {
    if (credit == 0) return -1;
    --credit;
    const std::int64_t id = next_stream;
    next_stream += 4;
    opened.push_back(id);
    return id;
  }
  void send(std::int64_t stream, SharedBuffer bytes, bool fin) override {
    FUZZ_CHECK(!closed);
    FUZZ_CHECK(!fins.contains(stream));
    auto [it, added] = decoders.try_emplace(stream, flume::kHardMaxPayload);
    std::span<const std::uint8_t> input(bytes.data(), bytes.size());
    while (!input.empty()) {
      flume::Frame frame{};
      const flume::DecodeStatus status = it->second.next(input, frame);
      FUZZ_CHECK(status != flume::DecodeStatus::error);
      if (status == flume::DecodeStatus::need_more) break;
    }
    if (fin) {
      FUZZ_CHECK(it->second.finish() == flume::FrameError::ok);  // no partial frame left
      fins.insert(stream);
    }
  }
  std::size_t unsent_bytes(std::int64_t stream) const override {
    auto it = unsent.find(stream);
    return it == unsent.end() ? 0 : it->second;
  }
  void reset_stream(std::int64_t stream, std::uint64_t) override { fins.insert(stream); }
  void close(std::uint64_t, std::string_view) override {
    FUZZ_CHECK(!closed);
    closed = true;
  }

  std::uint64_t credit = 16;
  std::int64_t next_stream = 3;
  std::vector<std::int64_t> opened;
  std::map<std::int64_t, std::size_t> unsent;
  std::map<std::int64_t, flume::FrameDecoder> decoders;
  std::set<std::int64_t> fins;
  bool closed = false;
};

struct Connection {
  std::unique_ptr<Transport> transport;
  flume::broker::Session *session = nullptr;
};

flume::broker::BrokerConfig small_limits() {
  flume::broker::BrokerConfig config;
  config.max_payload = 1024;
  config.max_connections = 2;  // three connections: one is refused
  config.max_refusing_connections = 1;
  config.max_subscriptions_per_connection = 4;
  config.default_queue_limit = 4;
  config.max_queue_limit = 8;
  config.max_pending_bytes_per_connection = 8 << 10;
  config.max_memory_bytes = 16 << 10;
  config.stream_window_bytes = 2 << 10;
  config.hello_timeout = std::chrono::seconds(1);
  return config;
}

std::int64_t publish_stream(std::uint8_t pick) {
  return 2 + 4 * (pick % 3);
}

std::vector<std::uint8_t> hello(std::uint8_t pick) {
  const std::uint16_t version = pick < 200 ? 1 : pick;  // mostly supported, sometimes not
  return flume::fuzz::frame_with(FrameType::hello, {}, [&](PropertyWriter &w) {
    if (pick & 1) w.put_u32(PropertyId::request_id, pick);
    w.put_u16(PropertyId::protocol_version, version);
  });
}

std::vector<std::uint8_t> subscribe(Script &script) {
  const std::uint8_t id = script.byte(), pattern = script.byte(), options = script.byte();
  return flume::fuzz::frame_with(
      FrameType::subscribe, flume::fuzz::pattern_of(pattern), [&](PropertyWriter &w) {
        w.put_u32(PropertyId::subscription_id, id % 6);  // 0 is invalid: refused
        if (options & 1) w.put_u8(PropertyId::overflow_policy, (options >> 1) % 4);
        if (options & 8) w.put_u32(PropertyId::queue_limit, options >> 4);
      });
}

std::vector<std::uint8_t> unsubscribe(std::uint8_t id) {
  return flume::fuzz::frame_with(FrameType::unsubscribe, {}, [&](PropertyWriter &w) {
    w.put_u32(PropertyId::subscription_id, id % 6);
  });
}

std::vector<std::uint8_t> publish(Script &script) {
  const std::string_view subject = flume::fuzz::subject_of(script.byte());
  const std::vector<std::uint8_t> payload(std::size_t{script.byte()} * 8, 0x5a);
  return flume::fuzz::raw_payload_frame(FrameType::publish, subject, payload);
}

void check_invariants(flume::broker::Broker &broker, const std::array<Connection, 3> &connections) {
  const flume::broker::BrokerStats s = broker.stats();
  FUZZ_CHECK(s.deliveries == s.messages_out + s.dropped_oldest + s.dropped_newest +
                                 s.dropped_slow_consumer + s.dropped_no_memory +
                                 s.discarded_on_close + s.queued_messages);
  std::uint64_t subscriptions = 0;
  for (const Connection &c : connections)
    subscriptions += broker.session_stats(c.session).subscriptions;
  FUZZ_CHECK(s.subscriptions == subscriptions);
  FUZZ_CHECK(s.internal_errors == 0);
  FUZZ_CHECK(s.reentrant_calls_refused == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  Script script({data, size});
  flume::broker::Broker broker(small_limits());
  std::uint64_t now = 0;
  std::array<Connection, 3> connections;
  auto open = [&](Connection &c) {
    if (c.session) broker.close_session(c.session);
    c.transport = std::make_unique<Transport>();
    c.session = broker.open_session(*c.transport, now, "fuzz");
  };
  for (Connection &c : connections)
    open(c);

  for (int step = 0; step < 512 && !script.done(); ++step) {
    const std::uint8_t op = script.byte();
    Connection &c = connections[(op >> 4) % connections.size()];
    if (c.transport->closed || c.session == nullptr) open(c);  // the glue reports the close
    flume::broker::Session *s = c.session;
    auto feed = [&](std::int64_t stream, const std::vector<std::uint8_t> &bytes, bool fin) {
      broker.on_stream_data(s, stream, bytes, fin);
    };
    switch (op % 16) {
      case 0: {
        std::span<const std::uint8_t> raw = script.slice(64);
        broker.on_stream_data(s, 0, raw, false);
        break;
      }
      case 1:
        feed(0, hello(script.byte()), false);
        break;
      case 2:
        feed(0, subscribe(script), false);
        break;
      case 3:
        feed(0, unsubscribe(script.byte()), false);
        break;
      case 4:
        feed(0, publish(script), false);
        break;
      case 5: {
        const std::uint8_t pick = script.byte();
        feed(publish_stream(pick), publish(script), (pick & 0x80) != 0);
        break;
      }
      case 6: {
        const std::uint8_t pick = script.byte();
        std::span<const std::uint8_t> raw = script.slice(64);
        broker.on_stream_data(s, publish_stream(pick), raw, (pick & 0x80) != 0);
        break;
      }
      case 7: {
        const std::uint8_t pick = script.byte();
        broker.on_stream_reset(s, pick & 1 ? publish_stream(pick >> 1) : 0, pick >> 4);
        break;
      }
      case 8:
      case 9: {
        const std::uint8_t pick = script.byte();
        const std::vector<std::int64_t> &opened = c.transport->opened;
        const std::int64_t stream = pick == 0 || opened.empty() ? 0 : opened[pick % opened.size()];
        if (op % 16 == 8)
          broker.on_stream_stopped(s, stream, pick >> 4);
        else
          broker.on_stream_closed(s, stream, pick >> 4);
        break;
      }
      case 10: {
        const std::uint8_t pick = script.byte();
        const std::vector<std::int64_t> &opened = c.transport->opened;
        if (opened.empty()) break;
        const std::int64_t stream = opened[pick % opened.size()];
        c.transport->unsent[stream] = (pick & 0x80) ? std::size_t{4} << 10 : 0;
        if (!(pick & 0x80)) broker.on_stream_writable(s, stream);
        break;
      }
      case 11:
        c.transport->credit = script.byte() % 4;
        broker.on_streams_available(s);
        break;
      case 12:
        now += std::uint64_t{script.byte()} * 20'000'000;  // up to ~5 s
        broker.on_timer(now);
        break;
      case 13:
        open(c);
        break;
      case 14:
        feed(0, flume::fuzz::raw_payload_frame(FrameType::ping, {}, script.slice(16)), false);
        break;
      case 15: {
        const std::uint8_t pick = script.byte();
        if (pick == 0xff) {
          broker.begin_shutdown();
          break;
        }
        const std::string_view subject = flume::fuzz::subject_of(pick);
        flume::SubjectError error{};
        auto checked = flume::CheckedSubject::check(subject, error);
        if (!checked) break;
        if (pick & 0x80) {
          broker.count_cluster_drops(*checked, pick & 7);
        } else {
          const std::vector<std::uint8_t> message = flume::fuzz::raw_payload_frame(
              FrameType::message, subject, std::vector<std::uint8_t>(pick & 0x3f, 0x33));
          broker.deliver_forwarded(*checked, SharedBuffer::copy_of(message));
        }
        break;
      }
    }
    check_invariants(broker, connections);
  }

  for (Connection &c : connections) {
    broker.close_session(c.session);
    c.session = nullptr;
  }
  const flume::broker::BrokerStats s = broker.stats();
  FUZZ_CHECK(s.subscriptions == 0 && s.connections == 0 && s.connections_refusing == 0);
  FUZZ_CHECK(s.queued_messages == 0 && s.queued_bytes == 0 && s.held_publish_bytes == 0);
  FUZZ_CHECK(s.memory_queued_bytes == 0 && s.router_patterns == 0);
  FUZZ_CHECK(s.internal_errors == 0);
  return 0;
}
