// A bare QUIC connection to a broker (quic::Endpoint, client role, ALPN flume/1) on its own loop
// thread, with no Flume client engine on top: the test writes whatever bytes it likes on the
// control stream, malformed ones included, and sees the frames and the close the broker answers
// with.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/frame_decoder.hpp"
#include "codec/properties.hpp"
#include "loop/event_loop.hpp"
#include "protocol/protocol.hpp"
#include "quic/connection_handler.hpp"
#include "quic/endpoint.hpp"

namespace flume::e2e {

// One frame the broker sent on the control stream, copied out of the decoder.
struct ReceivedFrame {
  FrameType type{};
  std::string subject;
  std::vector<std::uint8_t> payload;
  // ERROR frames: the error_code property (0 if absent or not an ERROR).
  std::uint16_t error_code() const;
  std::string error_message() const;
};

class RawConnection final : public quic::ConnectionHandler {
 public:
  RawConnection();
  ~RawConnection() override;
  RawConnection(const RawConnection &) = delete;
  RawConnection &operator=(const RawConnection &) = delete;

  // Handshake with the broker at 127.0.0.1:`port`, trusting `ca_file`; waits for on_connected.
  bool connect(std::uint16_t port, const std::string &ca_file, std::string &error,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000));
  // Writes raw bytes on the control stream (opened with the first write); `fin` ends it.
  void send_control(std::vector<std::uint8_t> bytes, bool fin = false);
  // Opens a client unidirectional (publish) stream and returns its id, -1 without credit.
  std::int64_t open_publish_stream();
  // Writes raw bytes on a stream this side opened; `fin` ends it.
  void send_on(std::int64_t stream_id, std::vector<std::uint8_t> bytes, bool fin = false);
  // RESET_STREAM (our sending half) and STOP_SENDING (asks the broker to stop) with `code`.
  void reset(std::int64_t stream_id, std::uint64_t code);
  void stop_sending(std::int64_t stream_id, std::uint64_t code);
  // Runs `task` on the loop thread and waits for it: several sends in one task leave in one
  // write pass, as a pipelining client's would.
  void run_on_loop(const std::function<void()> &task);

  // Frames the broker sent on a stream other than the control stream (subscription streams).
  std::vector<ReceivedFrame> stream_frames(std::int64_t stream_id) const;
  // Waits until the broker reset `stream_id`; its code, or nullopt after `limit`.
  std::optional<std::uint64_t> wait_reset(std::int64_t stream_id, std::chrono::milliseconds limit);
  // Waits until at least `count` frames arrived on `stream_id`.
  bool wait_stream_frames(std::int64_t stream_id, std::size_t count,
                          std::chrono::milliseconds limit);

  // Waits until a control frame of `type` arrived (counting from frame `from`); returns its
  // index.
  std::optional<std::size_t> wait_frame(FrameType type, std::size_t from,
                                        std::chrono::milliseconds limit);
  std::vector<ReceivedFrame> frames() const;
  // Waits for the connection to end; nullopt if it is still open after `limit`.
  std::optional<quic::CloseInfo> wait_closed(std::chrono::milliseconds limit);
  bool closed() const;

  // Frame builders (bytes exactly as on the wire).
  static std::vector<std::uint8_t> hello(std::string_view token = {});
  static std::vector<std::uint8_t> subscribe(std::string_view pattern, std::uint32_t id);
  static std::vector<std::uint8_t> ping(std::string_view token);
  static std::vector<std::uint8_t> frame(std::uint8_t type, std::string_view subject,
                                         std::span<const std::uint8_t> payload);
  // A header whose payload length is announced but whose payload is not sent.
  static std::vector<std::uint8_t> header_only(std::uint8_t type, std::string_view subject,
                                               std::uint32_t payload_length);

 private:
  void on_connected(quic::Connection &connection) override;
  void on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_reset(quic::Connection &connection, std::int64_t stream_id,
                       std::uint64_t app_error_code) override;
  void on_stream_closed(quic::Connection &, std::int64_t, std::uint64_t) override {}
  void on_closed(quic::Connection &connection, const quic::CloseInfo &info) override;

  LoopThread thread_{"e2e-raw"};
  std::unique_ptr<quic::Endpoint> endpoint_;              // loop thread only, once started
  quic::Connection *connection_ = nullptr;                // loop thread only
  bool control_open_ = false;                             // loop thread only
  FrameDecoder decoder_{kHardMaxPayload};                 // loop thread only
  std::map<std::int64_t, FrameDecoder> stream_decoders_;  // loop thread only

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool connected_ = false;
  std::optional<quic::CloseInfo> closed_;
  std::vector<ReceivedFrame> frames_;
  std::map<std::int64_t, std::vector<ReceivedFrame>> stream_frames_;
  std::map<std::int64_t, std::uint64_t> resets_;
};

}  // namespace flume::e2e
