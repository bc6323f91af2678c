#include "runtime/client_session_link.hpp"

#include "quic/connection.hpp"

namespace flume {

void SessionLink::attach(quic::Connection *connection) noexcept {
  connection_ = connection;
  control_open_ = false;
}

void SessionLink::send(std::int64_t stream_id, SharedBuffer bytes, bool fin) {
  if (connection_ == nullptr) return;
  if (stream_id == kControlStreamId && !control_open_) {
    if (connection_->open_bidi_stream() != kControlStreamId) return;
    control_open_ = true;
  }
  connection_->send(stream_id, std::move(bytes), fin);
}

void SessionLink::stop_sending(std::int64_t stream_id, std::uint64_t code) {
  if (connection_ != nullptr) connection_->stop_sending(stream_id, code);
}

void SessionLink::close(std::uint64_t code, std::string_view reason) {
  if (connection_ != nullptr) connection_->close(code, reason, quic::CloseMode::flush);
}

std::size_t SessionLink::unsent_control_bytes() const noexcept {
  return connection_ != nullptr && control_open_ ? connection_->unsent_bytes(kControlStreamId) : 0;
}

void SessionLink::consume(std::int64_t stream_id, std::size_t bytes) noexcept {
  if (connection_ != nullptr && bytes != 0) connection_->consume(stream_id, bytes);
}

}  // namespace flume
