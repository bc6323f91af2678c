// Drives the client engine (core/client_engine, sans-I/O) with an arbitrary broker: raw bytes or
// well-formed frames (OK, ERROR, PONG, SUBSCRIPTION, MESSAGE, DROPPED) on the control stream and
// on subscription streams, streams reset or ended, the connection lost, interleaved with the
// application's own calls (subscribe, unsubscribe, publish, ping, close). Invariants checked
// after every step against a model of what the application did (any violation traps):
//   - a subscribe() result comes once per accepted call; a message, DROPPED report or end only for
//     a subscription the application holds, and no message after unsubscribe();
//   - an id is never accepted twice while its subscription lives;
//   - a PONG only for a ping() not yet answered; on_ready and on_session_failed at most once, and
//     no event at all after on_session_failed;
//   - every delivered subject is valid; messages_received counts exactly the deliveries;
//   - the engine writes nothing after closing the connection or after FIN on its control stream.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "client_engine/session.hpp"
#include "fuzz_script.hpp"
#include "subject/subject.hpp"

namespace {

using flume::ErrorCode;
using flume::FrameType;
using flume::PropertyId;
using flume::PropertyWriter;
using flume::SharedBuffer;
using flume::fuzz::Script;

class Transport : public flume::client_engine::SessionTransport {
 public:
  void send(std::int64_t stream, SharedBuffer, bool fin) override {
    FUZZ_CHECK(!closed);
    FUZZ_CHECK(!(stream == 0 && control_fin));
    if (stream == 0 && fin) control_fin = true;
  }
  void stop_sending(std::int64_t, std::uint64_t) override {}
  void close(std::uint64_t, std::string_view) override {
    FUZZ_CHECK(!closed);
    closed = true;
  }
  bool closed = false;
  bool control_fin = false;
};

// What the application did and may expect; checks every event against it.
class Model : public flume::client_engine::SessionEvents {
 public:
  enum class Held { pending, active, unsubscribing };
  std::map<std::uint32_t, Held> held;
  std::map<std::uint32_t, std::uint64_t> generation;  // of the subscription held under each id
  // subscribe() calls accepted and not yet answered, per id, by generation, in call order: a
  // subscription the broker ended before its OK frees the id while its answer is still to come,
  // so an id may have two.
  std::map<std::uint32_t, std::deque<std::uint64_t>> awaiting_result;
  std::uint64_t next_generation = 0;
  std::set<std::uint32_t> awaiting_unsubscribe;
  std::set<std::uint64_t> pings;
  std::uint64_t messages = 0;
  bool ready = false;
  bool failed = false;

  void on_ready(const flume::client_engine::ServerInfo &) override {
    FUZZ_CHECK(!failed && !ready);
    ready = true;
  }
  void on_message(const flume::client_engine::Delivery &d) override {
    FUZZ_CHECK(!failed);
    auto it = held.find(d.subscription_id);
    FUZZ_CHECK(it != held.end() && it->second != Held::unsubscribing);
    FUZZ_CHECK(flume::validate_subject(d.subject) == flume::SubjectError::ok);
    FUZZ_CHECK(d.payload.size() <= flume::kHardMaxPayload);
    ++messages;
  }
  void on_dropped(std::uint32_t id, std::uint64_t) override {
    FUZZ_CHECK(!failed);
    FUZZ_CHECK(held.contains(id));
  }
  void on_subscribe_result(std::uint32_t id, ErrorCode code, std::string_view,
                           std::uint32_t) override {
    FUZZ_CHECK(!failed);
    std::deque<std::uint64_t> &waiting = awaiting_result[id];
    FUZZ_CHECK(!waiting.empty());
    const std::uint64_t answered = waiting.front();
    waiting.pop_front();
    auto it = held.find(id);
    if (it == held.end() || generation[id] != answered) return;  // ended before its answer
    if (code != ErrorCode::no_error)
      held.erase(it);
    else if (it->second == Held::pending)
      it->second = Held::active;
  }
  void on_unsubscribed(std::uint32_t id, ErrorCode, std::string_view) override {
    FUZZ_CHECK(!failed);
    FUZZ_CHECK(awaiting_unsubscribe.erase(id) == 1);
  }
  void on_subscription_ended(std::uint32_t id, ErrorCode, std::string_view) override {
    FUZZ_CHECK(!failed);
    auto it = held.find(id);
    FUZZ_CHECK(it != held.end() && it->second != Held::unsubscribing);
    held.erase(it);  // free for reuse; a subscribe() result may still be due
  }
  void on_pong(std::uint64_t token) override {
    FUZZ_CHECK(!failed);
    FUZZ_CHECK(pings.erase(token) == 1);
  }
  void on_error(ErrorCode, std::string_view) override { FUZZ_CHECK(!failed); }
  void on_session_failed(ErrorCode, std::string_view) override {
    FUZZ_CHECK(!failed);
    failed = true;
  }
};

std::int64_t subscription_stream(std::uint8_t pick) {
  return 3 + 4 * (pick % 4);
}

std::vector<std::uint8_t> ok_frame(Script &script) {
  const std::uint8_t pick = script.byte(), limits = script.byte();
  return flume::fuzz::frame_with(FrameType::ok, {}, [&](PropertyWriter &w) {
    if (pick & 0x80) w.put_u32(PropertyId::request_id, pick & 7);
    if (pick & 0x40) w.put_u16(PropertyId::protocol_version, 1);
    if (pick & 0x20) w.put_u32(PropertyId::max_payload, std::uint32_t{limits} * 16);
    if (pick & 0x10) w.put_u32(PropertyId::max_subscriptions, limits % 8);
    if (pick & 0x08) w.put_u32(PropertyId::queue_limit, limits);
  });
}

std::vector<std::uint8_t> error_frame(Script &script) {
  const std::uint8_t pick = script.byte(), code = script.byte();
  return flume::fuzz::frame_with(FrameType::error, {}, [&](PropertyWriter &w) {
    if (pick & 0x80) w.put_u32(PropertyId::request_id, pick & 7);
    w.put_u16(PropertyId::error_code, code % 0x14);
    if (pick & 0x40) w.put_string(PropertyId::error_message, "fuzz");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  Script script({data, size});
  Transport transport;
  Model model;
  flume::client_engine::Session session({}, transport, model);
  (void)session.start();

  for (int step = 0; step < 512 && !script.done(); ++step) {
    const std::uint8_t op = script.byte();
    const std::int64_t stream = subscription_stream(op >> 4);
    auto feed = [&](std::int64_t id, const std::vector<std::uint8_t> &bytes, bool fin) {
      session.on_stream_data(id, bytes, fin);
    };
    switch (op % 16) {
      case 0:
        session.on_stream_data(0, script.slice(64), (op & 0xf0) == 0xf0);
        break;
      case 1:
        feed(0, ok_frame(script), false);
        break;
      case 2:
        feed(0, error_frame(script), false);
        break;
      case 3: {
        std::span<const std::uint8_t> token = script.slice(8);
        feed(0, flume::fuzz::raw_payload_frame(FrameType::pong, {}, token), false);
        break;
      }
      case 4: {
        const std::uint8_t id = script.byte();
        feed(stream,
             flume::fuzz::frame_with(
                 FrameType::subscription, {},
                 [&](PropertyWriter &w) { w.put_u32(PropertyId::subscription_id, id % 6); }),
             false);
        break;
      }
      case 5: {
        const std::string_view subject = flume::fuzz::subject_of(script.byte());
        const std::vector<std::uint8_t> payload(std::size_t{script.byte()} * 4, 0x77);
        feed(stream, flume::fuzz::raw_payload_frame(FrameType::message, subject, payload), false);
        break;
      }
      case 6: {
        const std::uint8_t count = script.byte();
        feed(stream,
             flume::fuzz::frame_with(
                 FrameType::dropped, {},
                 [&](PropertyWriter &w) { w.put_u64(PropertyId::dropped_count, count); }),
             false);
        break;
      }
      case 7:
        feed(stream, error_frame(script), (op & 0x10) != 0);
        break;
      case 8:
        session.on_stream_data(stream, script.slice(64), (op & 0x10) != 0);
        break;
      case 9:
        session.on_stream_data(stream, {}, true);
        break;
      case 10:
        session.on_stream_closed((op & 0x10) ? stream : 0, script.byte() % 0x14);
        break;
      case 11: {
        const std::uint32_t id = script.byte() % 6;
        const std::string_view pattern = flume::fuzz::pattern_of(script.byte());
        const std::uint8_t options = script.byte();
        const bool held_live =
            model.held.contains(id) && model.held[id] != Model::Held::unsubscribing;
        const flume::client_engine::Result result = session.subscribe(
            id, pattern, static_cast<flume::OverflowPolicy>(options % 3), options >> 2);
        if (result) {
          FUZZ_CHECK(!held_live);  // an id is not reusable while its subscription lives
          model.held[id] = Model::Held::pending;
          model.generation[id] = ++model.next_generation;
          model.awaiting_result[id].push_back(model.next_generation);
        }
        break;
      }
      case 12: {
        const std::uint32_t id = script.byte() % 6;
        if (session.unsubscribe(id)) {
          FUZZ_CHECK(model.held.contains(id));
          model.held[id] = Model::Held::unsubscribing;
          model.awaiting_unsubscribe.insert(id);
        }
        break;
      }
      case 13: {
        const std::uint8_t pick = script.byte();
        const std::string_view subject =
            pick == 0xff ? "bad..subject" : flume::fuzz::subject_of(pick);
        const std::vector<std::uint8_t> payload(std::size_t{script.byte()} * 64, 0x11);
        (void)session.publish(subject, payload);
        break;
      }
      case 14: {
        std::uint64_t token = 0;
        if (session.ping(token)) model.pings.insert(token);
        break;
      }
      case 15:
        if (op & 0x10)
          session.on_connection_closed(script.byte() % 0x14, "fuzz");
        else
          (void)session.close();
        break;
    }
    FUZZ_CHECK(session.stats().messages_received == model.messages);
  }
  return 0;
}
