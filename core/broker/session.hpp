// The broker's state for one connection. Owned by the Broker; the glue holds a Session* only as
// a name for the connection and never looks inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/grants.hpp"
#include "broker/broker_stats.hpp"
#include "broker/session_transport.hpp"
#include "broker/subscription.hpp"
#include "codec/frame_decoder.hpp"

namespace flume::broker {

// A client unidirectional stream carrying PUBLISH frames.
struct PublishStream {
  explicit PublishStream(std::uint32_t max_payload) noexcept : decoder(max_payload) {}

  FrameDecoder decoder;
  // Bytes that arrived before HELLO was accepted, replayed once it is (section 6.2).
  std::vector<std::uint8_t> held;
  // The client finished the stream before HELLO was accepted: with FIN (the held bytes are all
  // there will be; a partial frame at their end is TRUNCATED_FRAME) or with RESET_STREAM (a
  // partial frame at their end is dropped without error). Either way the stream stays here until
  // the replay, whatever QUIC does with its own state meanwhile.
  bool held_fin = false;
  bool held_reset = false;
  // What this stream counts against the connection's pending bytes: the held bytes, plus a fixed
  // cost once it ended before HELLO. QUIC returns the stream credit of an ended stream, so
  // without that cost a client could end stream after stream before HELLO and make the broker
  // keep an unbounded number of them.
  std::size_t charged = 0;
};

// What one publish stream that ended before HELLO costs besides its bytes.
inline constexpr std::size_t kEndedPublishStreamCost = sizeof(PublishStream) + 64;

class Session {
 public:
  Session(SessionTransport &session_transport, std::string peer_name, std::uint32_t max_payload,
          std::uint32_t first_frame_max_payload) noexcept
      : transport(session_transport),
        peer(std::move(peer_name)),
        control(first_frame_max_payload),
        max_payload_after_first(max_payload) {}
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  SessionTransport &transport;
  std::string peer;
  std::string client_name;
  SessionState state = SessionState::awaiting_hello;
  bool over_limit = false;       // refused with TOO_MANY_CONNECTIONS when HELLO comes
  bool control_opened = false;   // the client has sent on stream 0, so we can answer on it
  bool control_writable = true;  // false once the control stream was reset or stopped

  FrameDecoder control;
  std::uint32_t max_payload_after_first;  // the control decoder's limit once a frame was read
  bool first_control_frame_read = false;
  std::unordered_map<std::int64_t, PublishStream> publish_streams;
  std::size_t held_bytes = 0;  // sum of PublishStream::held

  // Every subscription object of this session, in any state but done.
  std::list<Subscription> subscriptions;
  std::unordered_map<std::uint32_t, Subscription *> by_id;     // live ones
  std::unordered_map<std::int64_t, Subscription *> by_stream;  // with a stream not yet ended
  std::deque<Subscription *> waiting_for_stream;               // in subscribe order
  std::size_t ending_without_stream = 0;  // unsubscribed / slow before their stream opened

  std::size_t queued_messages = 0;
  std::size_t queued_bytes = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t dropped = 0;

  bool has_deadline = false;
  std::multimap<std::uint64_t, Session *>::iterator deadline;

  // When open_session ran, on the broker's clock and on the Unix clock, read together: a token's
  // expiry (Unix time) becomes a deadline on the broker's clock from this pair.
  std::uint64_t opened_ns = 0;
  std::uint64_t opened_unix_ms = 0;
  std::uint16_t protocol_version = 0;  // negotiated in HELLO

  // Access token in force (only when the broker has auth keys; otherwise nothing is checked).
  bool token_checked = false;
  std::string tenant;  // "" is the default tenant, that of connections without tokens
  auth::Grants grants;
  bool has_expiry = false;
  std::multimap<std::uint64_t, Session *>::iterator expiry;
};

}  // namespace flume::broker
