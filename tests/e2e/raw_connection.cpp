#include "raw_connection.hpp"

#include <array>

#include "codec/frame_encoder.hpp"
#include "quic/connection.hpp"
#include "tls/client_trust.hpp"

namespace flume::e2e {

std::uint16_t ReceivedFrame::error_code() const {
  Properties properties;
  if (type != FrameType::error || properties.parse(payload) != FrameError::ok) return 0;
  return static_cast<std::uint16_t>(properties.integer(PropertyId::error_code));
}

std::string ReceivedFrame::error_message() const {
  Properties properties;
  if (properties.parse(payload) != FrameError::ok) return "";
  return std::string(properties.string(PropertyId::error_message));
}

RawConnection::RawConnection() = default;

RawConnection::~RawConnection() {
  if (thread_.running()) {
    // A clean goodbye, so the broker does not keep the connection until its idle timeout.
    thread_.loop().post([this] {
      if (connection_ != nullptr) {
        connection_->close(static_cast<std::uint64_t>(ErrorCode::no_error), "test done",
                           quic::CloseMode::immediate);
      }
    });
    (void)wait_closed(std::chrono::milliseconds(500));
    thread_.stop();
  }
  // The loop no longer runs: its objects may be torn down from this thread.
  endpoint_.reset();
}

bool RawConnection::connect(std::uint16_t port, const std::string &ca_file, std::string &error,
                            std::chrono::milliseconds limit) {
  auto trust = tls::ClientTrust::from_ca_file(ca_file, error);
  if (!trust) return false;
  auto config = quic::EndpointConfig::client(trust);
  config.handshake_timeout = limit;
  // Made before the thread runs, while this thread still counts as the loop's.
  endpoint_ = std::make_unique<quic::Endpoint>(thread_.loop(), config, *this);
  if (endpoint_->open(&error)) return false;
  auto server = parse_address("127.0.0.1", port);
  if (!server) {
    error = "bad address";
    return false;
  }
  thread_.start();
  std::string connect_error;
  bool started = true;
  {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    thread_.loop().post([&] {
      connection_ = endpoint_->connect(*server, "", &connect_error);
      std::lock_guard lock(m);
      started = connection_ != nullptr;
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
  }
  if (!started) {
    error = connect_error;
    return false;
  }
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, limit + std::chrono::milliseconds(1000),
                    [&] { return connected_ || closed_.has_value(); });
  if (connected_) return true;
  error = closed_ ? closed_->message : "no handshake in time";
  return false;
}

namespace {

SharedBuffer buffer_of(const std::vector<std::uint8_t> &data) {
  SharedBuffer buffer = SharedBuffer::allocate(data.size());
  if (buffer) std::copy(data.begin(), data.end(), buffer.mutable_data());
  return buffer;
}

}  // namespace

void RawConnection::send_control(std::vector<std::uint8_t> bytes, bool fin) {
  thread_.loop().post([this, data = std::move(bytes), fin] {
    if (connection_ == nullptr) return;
    if (!control_open_) {
      if (connection_->open_bidi_stream() != kControlStreamId) return;
      control_open_ = true;
    }
    connection_->send(kControlStreamId, buffer_of(data), fin);
  });
}

void RawConnection::run_on_loop(const std::function<void()> &task) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  thread_.loop().post([&] {
    task();
    std::lock_guard lock(m);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
}

std::int64_t RawConnection::open_publish_stream() {
  std::int64_t id = -1;
  run_on_loop([&] {
    if (connection_ != nullptr) id = connection_->open_uni_stream();
  });
  return id;
}

void RawConnection::send_on(std::int64_t stream_id, std::vector<std::uint8_t> bytes, bool fin) {
  thread_.loop().post([this, stream_id, data = std::move(bytes), fin] {
    if (connection_ != nullptr) connection_->send(stream_id, buffer_of(data), fin);
  });
}

void RawConnection::reset(std::int64_t stream_id, std::uint64_t code) {
  thread_.loop().post([this, stream_id, code] {
    if (connection_ != nullptr) connection_->reset_stream(stream_id, code);
  });
}

void RawConnection::stop_sending(std::int64_t stream_id, std::uint64_t code) {
  thread_.loop().post([this, stream_id, code] {
    if (connection_ != nullptr) connection_->stop_sending(stream_id, code);
  });
}

std::vector<ReceivedFrame> RawConnection::stream_frames(std::int64_t stream_id) const {
  std::lock_guard lock(mutex_);
  auto it = stream_frames_.find(stream_id);
  return it == stream_frames_.end() ? std::vector<ReceivedFrame>{} : it->second;
}

std::optional<std::uint64_t> RawConnection::wait_reset(std::int64_t stream_id,
                                                       std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return resets_.contains(stream_id); });
  auto it = resets_.find(stream_id);
  return it == resets_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

bool RawConnection::wait_stream_frames(std::int64_t stream_id, std::size_t count,
                                       std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] {
    auto it = stream_frames_.find(stream_id);
    return it != stream_frames_.end() && it->second.size() >= count;
  });
}

std::optional<std::size_t> RawConnection::wait_frame(FrameType type, std::size_t from,
                                                     std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  std::optional<std::size_t> found;
  changed_.wait_for(lock, limit, [&] {
    for (std::size_t i = from; i < frames_.size(); ++i) {
      if (frames_[i].type == type) {
        found = i;
        return true;
      }
    }
    return closed_.has_value();
  });
  if (!found) {
    for (std::size_t i = from; i < frames_.size(); ++i) {
      if (frames_[i].type == type) return i;
    }
  }
  return found;
}

std::vector<ReceivedFrame> RawConnection::frames() const {
  std::lock_guard lock(mutex_);
  return frames_;
}

std::optional<quic::CloseInfo> RawConnection::wait_closed(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return closed_.has_value(); });
  return closed_;
}

bool RawConnection::closed() const {
  std::lock_guard lock(mutex_);
  return closed_.has_value();
}

void RawConnection::on_connected(quic::Connection &) {
  {
    std::lock_guard lock(mutex_);
    connected_ = true;
  }
  changed_.notify_all();
}

void RawConnection::on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                                   std::span<const std::uint8_t> data, bool) {
  connection.consume(stream_id, data.size());
  FrameDecoder &decoder =
      stream_id == kControlStreamId
          ? decoder_
          : stream_decoders_.try_emplace(stream_id, kHardMaxPayload).first->second;
  std::vector<ReceivedFrame> decoded;
  Frame frame{};
  while (decoder.next(data, frame) == DecodeStatus::frame) {
    decoded.push_back(
        ReceivedFrame{frame.type, std::string(frame.subject),
                      std::vector<std::uint8_t>(frame.payload.begin(), frame.payload.end())});
  }
  if (decoded.empty()) return;
  {
    std::lock_guard lock(mutex_);
    auto &into = stream_id == kControlStreamId ? frames_ : stream_frames_[stream_id];
    for (auto &f : decoded)
      into.push_back(std::move(f));
  }
  changed_.notify_all();
}

void RawConnection::on_stream_reset(quic::Connection &, std::int64_t stream_id,
                                    std::uint64_t app_error_code) {
  {
    std::lock_guard lock(mutex_);
    resets_.emplace(stream_id, app_error_code);
  }
  changed_.notify_all();
}

void RawConnection::on_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  if (&connection == connection_) connection_ = nullptr;
  {
    std::lock_guard lock(mutex_);
    closed_ = info;
  }
  changed_.notify_all();
}

std::vector<std::uint8_t> RawConnection::frame(std::uint8_t type, std::string_view subject,
                                               std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(kFrameHeaderSize + subject.size() + payload.size());
  write_header(out.data(), static_cast<FrameType>(type), static_cast<std::uint8_t>(subject.size()),
               static_cast<std::uint32_t>(payload.size()));
  std::copy(subject.begin(), subject.end(), out.begin() + kFrameHeaderSize);
  std::copy(payload.begin(), payload.end(),
            out.begin() + static_cast<std::ptrdiff_t>(kFrameHeaderSize + subject.size()));
  return out;
}

std::vector<std::uint8_t> RawConnection::header_only(std::uint8_t type, std::string_view subject,
                                                     std::uint32_t payload_length) {
  std::vector<std::uint8_t> out(kFrameHeaderSize + subject.size());
  write_header(out.data(), static_cast<FrameType>(type), static_cast<std::uint8_t>(subject.size()),
               payload_length);
  std::copy(subject.begin(), subject.end(), out.begin() + kFrameHeaderSize);
  return out;
}

std::vector<std::uint8_t> RawConnection::hello(std::string_view token) {
  std::vector<std::uint8_t> buffer(64 + token.size());
  PropertyWriter writer(buffer);
  writer.put_u16(PropertyId::protocol_version, kProtocolVersion)
      .put_string(PropertyId::client_name, "e2e-raw");
  if (!token.empty()) writer.put_string(PropertyId::token, token);
  return frame(static_cast<std::uint8_t>(FrameType::hello), "", writer.bytes());
}

std::vector<std::uint8_t> RawConnection::subscribe(std::string_view pattern, std::uint32_t id) {
  std::array<std::uint8_t, 16> buffer{};
  PropertyWriter writer(buffer);
  writer.put_u32(PropertyId::subscription_id, id);
  return frame(static_cast<std::uint8_t>(FrameType::subscribe), pattern, writer.bytes());
}

std::vector<std::uint8_t> RawConnection::ping(std::string_view token) {
  return frame(static_cast<std::uint8_t>(FrameType::ping), "",
               {reinterpret_cast<const std::uint8_t *>(token.data()), token.size()});
}

}  // namespace flume::e2e
