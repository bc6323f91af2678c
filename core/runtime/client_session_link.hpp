// SessionLink: the client session's transport over the current QUIC connection, the client's
// counterpart of BrokerServer::Link. It opens the control stream on the session's first send,
// and tells the rest of the client how many published bytes QUIC has not sent yet and where to
// give stream credit back. Between connections it is detached and drops what it is given (the
// session it served is gone too). Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "client_engine/session_io.hpp"

namespace flume {
namespace quic {
class Connection;
}

class SessionLink final : public client_engine::SessionTransport {
 public:
  // A new connection (its control stream not open yet), or nullptr once it is gone.
  void attach(quic::Connection *connection) noexcept;
  quic::Connection *connection() const noexcept { return connection_; }

  void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) override;
  void stop_sending(std::int64_t stream_id, std::uint64_t code) override;
  void close(std::uint64_t code, std::string_view reason) override;

  // Bytes queued on the control stream that QUIC has not sent yet (every client frame goes there).
  std::size_t unsent_control_bytes() const noexcept;
  // Gives `bytes` of a broker stream's flow-control credit back.
  void consume(std::int64_t stream_id, std::size_t bytes) noexcept;

 private:
  quic::Connection *connection_ = nullptr;
  bool control_open_ = false;
};

}  // namespace flume
