// Drives WebSocket sessions over the real broker engine with arbitrary bytes and traps on any
// broken invariant: whatever a client sends, a session's output stays bounded, a finished
// session writes nothing more, and when every session has gone the engine holds no connection,
// subscription or queued byte.
//
// The input is a script: each step's first byte picks a session (of three) and an action: bytes
// (a length byte, then that many bytes for its socket, as masked WebSocket frames if the action
// says so, so the fuzzer reaches the stream layer without discovering masking), a read of its
// output, a clock tick, or its socket going away.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "broker/broker.hpp"
#include "websocket/ws_session.hpp"

namespace {

using flume::websocket::WsSession;
using flume::websocket::WsSessionConfig;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

// One masked binary frame around `payload` (mask 0: the bytes go through unchanged).
std::vector<std::uint8_t> masked_frame(std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out = {0x82};
  if (payload.size() < 126) {
    out.push_back(static_cast<std::uint8_t>(0x80 | payload.size()));
  } else {
    out.push_back(0x80 | 126);
    out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payload.size()));
  }
  out.insert(out.end(), {0, 0, 0, 0});
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  flume::broker::BrokerConfig config;
  config.max_payload = 512;
  config.default_queue_limit = 8;
  flume::broker::Broker engine(config);
  WsSessionConfig ws;
  ws.max_message_bytes = 65536 + 1024;
  ws.output_high_water = 4096;
  ws.max_publish_streams = 4;
  std::array<std::unique_ptr<WsSession>, 3> sessions;
  std::uint64_t now = 1'000'000'000;
  for (auto &s : sessions) {
    s = std::make_unique<WsSession>(engine, ws);
    s->open(now, "fuzz");
  }
  std::span<const std::uint8_t> in(data, size);
  for (int step = 0; step < 256 && !in.empty(); ++step) {
    const std::uint8_t op = in[0];
    in = in.subspan(1);
    auto &s = sessions[op % 3];
    if (!s) continue;
    switch ((op / 3) % 5) {
      case 0:
      case 1: {
        const std::size_t n = in.empty() ? 0 : std::min<std::size_t>(in[0], in.size() - 1);
        const auto bytes = in.subspan(in.empty() ? 0 : 1, n);
        in = in.subspan(in.empty() ? 0 : 1 + n);
        const bool frame = (op / 3) % 5 == 1;
        const auto wrapped = frame ? masked_frame(bytes) : std::vector<std::uint8_t>();
        s->on_input(frame ? std::span<const std::uint8_t>(wrapped) : bytes, now);
        break;
      }
      case 2: {
        const auto out = s->output();
        s->consume_output(out.size());
        break;
      }
      case 3:
        now += 2'000'000'000;
        s->on_tick(now);
        break;
      case 4:
        s->on_transport_gone();
        break;
    }
    for (auto &other : sessions) {
      if (!other) continue;
      other->flush();
      // The bound of ws_session.hpp: twice the mark plus one message and the Close.
      check(other->output().size() <= 2 * ws.output_high_water + 2 * (512 + 1024) + 256);
      if (other->done()) {
        other->on_transport_gone();
        other.reset();
      }
    }
  }
  for (auto &s : sessions)
    s.reset();
  const auto stats = engine.stats();
  check(stats.connections == 0);
  check(stats.subscriptions == 0);
  check(engine.memory_queued_bytes() == 0);
  return 0;
}
