// Subscription streams (docs/protocol.md 6.3): SUBSCRIPTION first, then MESSAGE and DROPPED, and
// an ERROR as the last frame if the broker ends the subscription.
#include <string>

#include "client_engine/inbound_frames.hpp"
#include "client_engine/session.hpp"
#include "client_engine/text.hpp"
#include "subject/subject.hpp"

namespace flume::client_engine {

using text::code_text;
using text::concat;

void Session::on_subscription_frame(std::int64_t stream_id, InboundStream &stream,
                                    const Frame &frame, bool subject_valid) {
  switch (stream.phase) {
    case InboundStream::Phase::awaiting_subscription:
      if (frame.type != FrameType::subscription) {
        protocol_error(concat(text::stream_name(stream_id), " began with ",
                              text::frame_name(frame.type),
                              "; the first frame of a subscription stream must be SUBSCRIPTION"));
        return;
      }
      attach_stream(stream_id, stream, frame);
      return;
    case InboundStream::Phase::ended_by_error:
      protocol_error(concat("broker sent ", text::frame_name(frame.type), " on ",
                            text::stream_name(stream_id),
                            " after the ERROR that ended it; ERROR must be the last frame"));
      return;
    case InboundStream::Phase::discarding:
      return;
    case InboundStream::Phase::delivering:
      break;
  }

  const std::uint32_t id = stream.subscription_id;
  switch (frame.type) {
    case FrameType::message: {
      if (!subject_valid) {
        fail(ErrorCode::invalid_subject,
             concat("broker delivered a MESSAGE with the invalid subject ",
                    text::quoted(frame.subject), " on ", text::stream_name(stream_id), ": ",
                    describe(validate_subject(frame.subject))));
        return;
      }
      const Subscription *sub = subscription_on(stream_id, id);
      if (sub == nullptr || sub->phase == Subscription::Phase::unsubscribing) {
        ++stats_.messages_discarded;
        return;
      }
      ++stats_.messages_received;
      stats_.payload_bytes_received += frame.payload.size();
      events_.on_message(Delivery{id, frame.subject, frame.payload});
      return;
    }
    case FrameType::dropped: {
      std::uint64_t count = 0;
      if (const char *problem = parse_dropped(frame.payload, count)) {
        protocol_error(
            concat("malformed DROPPED on ", text::stream_name(stream_id), ": ", problem));
        return;
      }
      stats_.messages_dropped += count;
      const Subscription *sub = subscription_on(stream_id, id);
      if (sub != nullptr && sub->phase != Subscription::Phase::unsubscribing)
        events_.on_dropped(id, count);
      return;
    }
    case FrameType::error: {
      ErrorReport report;
      if (const char *problem = parse_error(frame.payload, report)) {
        protocol_error(concat("malformed ERROR on ", text::stream_name(stream_id), ": ", problem));
        return;
      }
      if (report.subscription_id && *report.subscription_id != id) {
        protocol_error(concat("ERROR on ", text::stream_name(stream_id), " names subscription_id ",
                              *report.subscription_id, ", but the stream belongs to subscription ",
                              id));
        return;
      }
      stream.phase = InboundStream::Phase::ended_by_error;
      end_stream(stream_id, id, report.code,
                 concat("broker ended subscription ", id, " with ", code_text(report.wire_code),
                        ": ", report.message.empty() ? "(no error_message)" : report.message));
      return;
    }
    default:
      protocol_error(concat("broker sent ", text::frame_name(frame.type), " on ",
                            text::stream_name(stream_id),
                            ", where only MESSAGE, DROPPED and a final ERROR may follow "
                            "SUBSCRIPTION"));
      return;
  }
}

void Session::attach_stream(std::int64_t stream_id, InboundStream &stream, const Frame &frame) {
  std::uint32_t id = 0;
  if (const char *problem = parse_subscription(frame.payload, id)) {
    protocol_error(
        concat("malformed SUBSCRIPTION on ", text::stream_name(stream_id), ": ", problem));
    return;
  }
  auto found = subscriptions_.find(id);
  // Not ours (already unsubscribed and answered, refused...) or a second stream for one
  // subscription: 6.3 says discard it, STOP_SENDING with NO_ERROR, and do not treat it as an error.
  if (found == subscriptions_.end() || found->second.stream_id >= 0) {
    discard_stream(stream_id, stream);
    return;
  }
  found->second.stream_id = stream_id;
  stream.subscription_id = id;
  stream.phase = InboundStream::Phase::delivering;
}

void Session::discard_stream(std::int64_t stream_id, InboundStream &stream) {
  stream.phase = InboundStream::Phase::discarding;
  ++stats_.streams_discarded;
  transport_.stop_sending(stream_id, static_cast<std::uint64_t>(ErrorCode::no_error));
}

void Session::on_subscription_fin(std::int64_t stream_id, const InboundStream &stream) {
  if (stream.phase != InboundStream::Phase::delivering) return;
  end_stream(stream_id, stream.subscription_id, ErrorCode::no_error,
             concat("broker ended the stream of subscription ", stream.subscription_id,
                    " (FIN) without an ERROR"));
}

void Session::end_stream(std::int64_t stream_id, std::uint32_t subscription_id, ErrorCode code,
                         std::string_view message) {
  auto found = subscriptions_.find(subscription_id);
  if (found == subscriptions_.end() || found->second.stream_id != stream_id) return;
  Subscription &sub = found->second;
  if (sub.phase == Subscription::Phase::unsubscribing) {
    // The application asked for this end; on_unsubscribed reports it.
    sub.stream_ended = true;
    if (sub.unsubscribe_answered) subscriptions_.erase(found);
    return;
  }
  // Erased first, so the handler may subscribe again with the same id.
  subscriptions_.erase(found);
  events_.on_subscription_ended(subscription_id, code, message);
}

Session::Subscription *Session::subscription_on(std::int64_t stream_id,
                                                std::uint32_t subscription_id) noexcept {
  auto found = subscriptions_.find(subscription_id);
  if (found == subscriptions_.end() || found->second.stream_id != stream_id) return nullptr;
  return &found->second;
}

}  // namespace flume::client_engine
