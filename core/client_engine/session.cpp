// The Session's calls, its life cycle and the dispatch of received bytes. Frames are handled in
// control_stream.cpp and subscription_streams.cpp.
#include "client_engine/session.hpp"

#include <algorithm>
#include <exception>
#include <new>
#include <utility>

#include "client_engine/inbound_frames.hpp"
#include "client_engine/outbound_frames.hpp"
#include "client_engine/text.hpp"
#include "subject/subject.hpp"

namespace flume::client_engine {

using text::code_text;
using text::concat;
using text::quoted;

namespace {

constexpr std::size_t kMaxClientName = 255;
constexpr std::size_t kMaxClientLibrary = 255;
constexpr std::size_t kMaxToken = 4096;

Result out_of_memory(std::string_view what) noexcept {
  return Result::failure(ClientErrc::out_of_memory, what);
}

}  // namespace

Session::Session(SessionConfig config, SessionTransport &transport, SessionEvents &events)
    : config_(std::move(config)),
      transport_(transport),
      events_(events),
      control_(kDefaultMaxPayload) {}

// ---- Calls
// ---------------------------------------------------------------------------------------

Result Session::check_can_send(std::string_view call) const {
  switch (state_) {
    case SessionState::idle:
      return Result::failure(
          ClientErrc::not_started,
          concat(call, "() before start(): the first frame on the control stream must be HELLO"));
    case SessionState::handshaking:
    case SessionState::open:
      return {};
    case SessionState::closing:
      return Result::failure(ClientErrc::session_closed,
                             concat(call, "(): the session is closing (close() was called)"));
    case SessionState::closed:
      break;
  }
  return Result::failure(ClientErrc::session_closed,
                         concat(call, "(): the session is closed: ", close_reason_));
}

void Session::send_control(SharedBuffer frame) {
  transport_.send(kControlStreamId, std::move(frame), false);
}

std::uint32_t Session::max_payload() const noexcept {
  return server_.max_payload != 0 ? server_.max_payload : kDefaultMaxPayload;
}

Result Session::start() noexcept try {
  if (state_ == SessionState::closing || state_ == SessionState::closed)
    return check_can_send("start");
  if (state_ != SessionState::idle)
    return Result::failure(ClientErrc::already_started,
                           "start() was already called; a session sends HELLO once");
  if (config_.client_name.size() > kMaxClientName)
    return Result::failure(ClientErrc::invalid_config,
                           concat("client_name is ", config_.client_name.size(),
                                  " bytes; the protocol allows at most ", kMaxClientName));
  if (config_.client_library.size() > kMaxClientLibrary)
    return Result::failure(ClientErrc::invalid_config,
                           concat("client_library is ", config_.client_library.size(),
                                  " bytes; the protocol allows at most ", kMaxClientLibrary));
  if (config_.token.size() > kMaxToken)
    return Result::failure(ClientErrc::invalid_config,
                           concat("token is ", config_.token.size(),
                                  " bytes; the protocol allows at most ", kMaxToken));

  const std::uint32_t request_id = next_request_id();
  SharedBuffer hello =
      encode_hello({request_id, config_.client_name, config_.client_library, config_.token});
  if (!hello) return out_of_memory("out of memory while encoding HELLO");
  pending_.push_back({PendingRequest::Kind::hello, request_id, 0, 0});
  state_ = SessionState::handshaking;
  send_control(std::move(hello));
  return {};
} catch (...) {
  return out_of_memory("out of memory in start()");
}

Result Session::publish(std::string_view subject, std::span<const std::uint8_t> payload) noexcept
    try {
  if (Result refused = check_can_send("publish"); !refused) return refused;
  SubjectError error = SubjectError::ok;
  const std::optional<CheckedSubject> checked = CheckedSubject::check(subject, error);
  if (!checked)
    return Result::failure(ClientErrc::invalid_subject,
                           concat("cannot publish to ", quoted(subject), ": ", describe(error)));
  if (Result refused = check_payload(payload.size(), subject); !refused) return refused;
  EncodedPublish frame = encode_publish(*checked, payload, max_payload());
  if (!frame) return out_of_memory("out of memory while encoding PUBLISH");
  return publish(std::move(frame));
} catch (...) {
  return out_of_memory("out of memory in publish()");
}

Result Session::publish(EncodedPublish frame) noexcept try {
  if (Result refused = check_can_send("publish"); !refused) return refused;
  if (!frame) return out_of_memory("publish() of an empty frame: encoding it ran out of memory");
  const std::uint32_t payload_size = frame.payload_size();
  if (Result refused = check_payload(payload_size, {}); !refused) return refused;
  send_control(frame.take_frame());
  ++stats_.messages_published;
  stats_.payload_bytes_published += payload_size;
  return {};
} catch (...) {
  return out_of_memory("out of memory in publish()");
}

Result Session::check_payload(std::size_t size, std::string_view subject) const {
  const std::uint32_t limit = max_payload();
  if (size <= limit) return {};
  return Result::failure(
      ClientErrc::payload_too_large,
      concat("cannot publish ", size, " bytes",
             subject.empty() ? std::string() : concat(" to ", quoted(subject)), ": ",
             ready() ? concat("the broker's limit (max_payload) is ", limit, " bytes")
                     : concat("until the broker's OK to HELLO announces its limit, a client "
                              "must assume ",
                              limit, " bytes")));
}

Result Session::subscribe(std::uint32_t id, std::string_view pattern, OverflowPolicy policy,
                          std::uint32_t queue_limit) noexcept try {
  if (Result refused = check_can_send("subscribe"); !refused) return refused;
  if (id == 0)
    return Result::failure(ClientErrc::invalid_subscription_id,
                           "subscription id 0 is reserved by the protocol; use a nonzero id");
  if (auto existing = subscriptions_.find(id); existing != subscriptions_.end()) {
    const Subscription &sub = existing->second;
    std::string why;
    switch (sub.phase) {
      case Subscription::Phase::pending:
        why = concat("its SUBSCRIBE to ", quoted(sub.pattern), " awaits the broker's answer");
        break;
      case Subscription::Phase::active:
        why = concat("it is subscribed to ", quoted(sub.pattern));
        break;
      case Subscription::Phase::unsubscribing:
        why =
            "it is being unsubscribed; the id is free once on_unsubscribed has come and its "
            "stream has ended";
        break;
    }
    return Result::failure(ClientErrc::subscription_id_in_use,
                           concat("subscription id ", id, " is in use: ", why));
  }
  if (SubjectError error = validate_pattern(pattern); error != SubjectError::ok)
    return Result::failure(ClientErrc::invalid_pattern,
                           concat("cannot subscribe to ", quoted(pattern), ": ", describe(error)));
  const auto policy_value = static_cast<unsigned>(policy);
  if (policy_value < 1 || policy_value > 3)
    return Result::failure(ClientErrc::invalid_overflow_policy,
                           concat("overflow policy ", policy_value,
                                  " is not defined in protocol version 1 (1 drop_oldest, 2 "
                                  "drop_newest, 3 close)"));
  if (ready()) {
    const auto held = static_cast<std::size_t>(
        std::count_if(subscriptions_.begin(), subscriptions_.end(), [](const auto &entry) {
          return entry.second.phase != Subscription::Phase::unsubscribing;
        }));
    if (held >= server_.max_subscriptions)
      return Result::failure(
          ClientErrc::too_many_subscriptions,
          concat("the broker allows ", server_.max_subscriptions,
                 " subscriptions per connection (max_subscriptions) and this session holds ",
                 held));
  }

  const std::uint32_t request_id = next_request_id();
  SharedBuffer frame = encode_subscribe({request_id, id, pattern, policy, queue_limit});
  if (!frame) return out_of_memory("out of memory while encoding SUBSCRIBE");
  Subscription sub;
  sub.serial = next_serial_++;
  sub.pattern = std::string(pattern);
  const std::uint64_t serial = sub.serial;
  auto entry = subscriptions_.emplace(id, std::move(sub)).first;
  try {
    pending_.push_back({PendingRequest::Kind::subscribe, request_id, id, serial});
  } catch (...) {
    subscriptions_.erase(entry);
    throw;
  }
  send_control(std::move(frame));
  return {};
} catch (...) {
  return out_of_memory("out of memory in subscribe()");
}

Result Session::unsubscribe(std::uint32_t id) noexcept try {
  if (Result refused = check_can_send("unsubscribe"); !refused) return refused;
  auto found = subscriptions_.find(id);
  if (found == subscriptions_.end())
    return Result::failure(ClientErrc::unknown_subscription,
                           concat("no subscription with id ", id,
                                  " (never subscribed, refused, or ended by the broker)"));
  Subscription &sub = found->second;
  if (sub.phase == Subscription::Phase::unsubscribing)
    return Result::failure(ClientErrc::unknown_subscription,
                           concat("subscription ", id, " is already being unsubscribed"));
  const std::uint32_t request_id = next_request_id();
  SharedBuffer frame = encode_unsubscribe(request_id, id);
  if (!frame) return out_of_memory("out of memory while encoding UNSUBSCRIBE");
  pending_.push_back({PendingRequest::Kind::unsubscribe, request_id, id, sub.serial});
  sub.phase = Subscription::Phase::unsubscribing;
  send_control(std::move(frame));
  return {};
} catch (...) {
  return out_of_memory("out of memory in unsubscribe()");
}

Result Session::ping(std::uint64_t &out_token) noexcept try {
  if (Result refused = check_can_send("ping"); !refused) return refused;
  const std::uint64_t token = next_ping_token_;
  std::uint8_t payload[8];
  for (int i = 0; i < 8; ++i)
    payload[i] = static_cast<std::uint8_t>(token >> (8 * (7 - i)));
  SharedBuffer frame = encode_ping(FrameType::ping, payload);
  if (!frame) return out_of_memory("out of memory while encoding PING");
  pings_.push_back(token);
  ++next_ping_token_;
  send_control(std::move(frame));
  out_token = token;
  return {};
} catch (...) {
  return out_of_memory("out of memory in ping()");
}

Result Session::close() noexcept try {
  switch (state_) {
    case SessionState::idle:
      state_ = SessionState::closed;
      close_reason_ = "closed by the application before start()";
      transport_.close(static_cast<std::uint64_t>(ErrorCode::no_error), "client closed");
      break;
    case SessionState::handshaking:
    case SessionState::open:
      state_ = SessionState::closing;
      close_reason_ = "closed by the application";
      pending_.clear();
      pings_.clear();
      transport_.send(kControlStreamId, SharedBuffer(), true);
      break;
    case SessionState::closing:
    case SessionState::closed:
      break;  // closing twice is not an error
  }
  return {};
} catch (...) {
  return out_of_memory("out of memory in close()");
}

// ---- Receiving
// -----------------------------------------------------------------------------------

template <typename Body>
void Session::guarded(Body &&body) noexcept {
  if (dispatching_) {
    fail(ErrorCode::internal_error,
         "on_stream_data, on_stream_closed or on_connection_closed was called from inside a "
         "SessionEvents handler; the glue must defer it");
    return;
  }
  dispatching_ = true;
  try {
    body();
  } catch (const std::bad_alloc &) {
    fail(ErrorCode::internal_error, "out of memory while handling data from the broker");
  } catch (const std::exception &error) {
    std::string message;
    try {
      message = concat("a SessionEvents handler threw: ", error.what());
    } catch (...) {
    }
    fail(ErrorCode::internal_error,
         message.empty() ? std::string_view("a SessionEvents handler threw") : message);
  } catch (...) {
    fail(ErrorCode::internal_error, "a SessionEvents handler threw a non-standard exception");
  }
  dispatching_ = false;
}

bool Session::accepting_input() const noexcept {
  return state_ == SessionState::handshaking || state_ == SessionState::open;
}

std::uint32_t Session::receive_limit(bool control) const noexcept {
  if (server_.max_payload != 0) return server_.max_payload;
  // Before the OK to HELLO the control stream carries only that answer (or a refusal), which is
  // small; a subscription stream may overtake the OK with messages up to the unknown limit.
  return control ? kDefaultMaxPayload : kHardMaxPayload;
}

void Session::on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> bytes,
                             bool fin) noexcept {
  guarded([&] {
    if (state_ == SessionState::idle) {
      protocol_error(concat("broker sent data on stream ", stream_id, " before HELLO"));
      return;
    }
    if (!accepting_input()) return;
    if (stream_id == kControlStreamId) {
      decode(stream_id, control_, bytes, fin);
      return;
    }
    if (stream_id < 0 || (stream_id & 3) != 3) {
      protocol_error(concat("broker sent data on stream ", stream_id,
                            ", which is not the control stream (0) nor a broker-initiated "
                            "unidirectional stream (3, 7, 11, ...)"));
      return;
    }
    auto found = streams_.find(stream_id);
    if (found == streams_.end())
      found = streams_.try_emplace(stream_id, receive_limit(false)).first;
    if (found->second.phase != InboundStream::Phase::discarding)
      decode(stream_id, found->second, bytes, fin);
    if (fin) streams_.erase(stream_id);
  });
}

void Session::decode(std::int64_t stream_id, InboundStream &stream,
                     std::span<const std::uint8_t> bytes, bool fin) {
  const bool control = stream_id == kControlStreamId;
  while (accepting_input()) {
    // Between frames the decoder holds nothing, so it can take a new limit (the OK to HELLO has
    // announced max_payload since this stream's decoder was made).
    const std::uint32_t limit = receive_limit(control);
    if (stream.decoder_limit != limit && stream.decoder.buffered() == 0) {
      stream.decoder = FrameDecoder(limit);
      stream.decoder_limit = limit;
    }
    Frame frame{};
    const DecodeStatus status = stream.decoder.next(bytes, frame);
    if (status == DecodeStatus::need_more) break;
    const bool subject_valid = status == DecodeStatus::frame;
    if (!subject_valid && stream.decoder.error() != FrameError::invalid_subject) {
      const FrameError error = stream.decoder.error();
      fail(error_code_for(error), concat("broker sent a malformed frame on ",
                                         text::stream_name(stream_id), ": ", describe(error),
                                         error == FrameError::payload_too_large
                                             ? concat(" (", stream.decoder_limit, " bytes)")
                                             : std::string()));
      return;
    }
    if (control) {
      on_control_frame(frame);
    } else {
      on_subscription_frame(stream_id, stream, frame, subject_valid);
    }
    if (stream.phase == InboundStream::Phase::discarding) return;
  }
  if (!fin || !accepting_input()) return;
  if (stream.decoder.finish() != FrameError::ok) {
    fail(ErrorCode::truncated_frame,
         concat("broker ended ", text::stream_name(stream_id), " in the middle of a frame (",
                stream.decoder.buffered(), " bytes of it received)"));
    return;
  }
  if (control) {
    protocol_error(
        "broker ended its side of the control stream (FIN) while the session was open; no "
        "answer could follow");
    return;
  }
  on_subscription_fin(stream_id, stream);
}

void Session::on_stream_closed(std::int64_t stream_id, std::uint64_t app_error) noexcept {
  guarded([&] {
    if (!accepting_input()) return;
    if (stream_id == kControlStreamId) {
      protocol_error(concat("broker reset the control stream with ", code_text(app_error),
                            "; a reset of the control stream is a connection error (6.1)"));
      return;
    }
    auto found = streams_.find(stream_id);
    if (found == streams_.end()) return;  // nothing read yet: no subscription to tell
    if (found->second.phase == InboundStream::Phase::delivering) {
      const std::uint32_t id = found->second.subscription_id;
      end_stream(
          stream_id, id, known_error_code(app_error),
          concat("broker reset the stream of subscription ", id, " with ", code_text(app_error)));
    }
    streams_.erase(stream_id);
  });
}

void Session::on_connection_closed(std::uint64_t app_error, std::string_view reason) noexcept {
  guarded([&] {
    if (state_ == SessionState::closed) return;
    if (state_ == SessionState::closing && app_error == 0) {
      state_ = SessionState::closed;
      return;
    }
    fail(known_error_code(app_error),
         concat("the connection closed with ", code_text(app_error), reason.empty() ? "" : ": ",
                reason),
         false);
  });
}

void Session::fail(ErrorCode code, std::string_view message, bool close_connection) noexcept {
  if (state_ == SessionState::closed) return;
  state_ = SessionState::closed;
  pending_.clear();
  pings_.clear();
  try {
    close_reason_ = concat(code, ": ", message);
  } catch (...) {
    close_reason_.clear();
  }
  try {
    if (close_connection) transport_.close(static_cast<std::uint64_t>(code), message);
  } catch (...) {
  }
  try {
    events_.on_session_failed(code, message);
  } catch (...) {
  }
}

}  // namespace flume::client_engine
