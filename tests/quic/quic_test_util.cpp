#include "quic_test_util.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

namespace flume::quic::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "flume-quic-XXXXXX").string();
  char *made = mkdtemp(pattern.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

const TestPki &test_pki() {
  static TempDir dir;
  static TestPki pki = [] {
    TestPki out;
    std::string error;
    out.server = tls::ServerCredentials::load_or_create_self_signed(dir.path(), error);
    EXPECT_TRUE(out.server) << error;
    out.certificate_path = out.server ? out.server->certificate_path() : "";
    out.trust = tls::ClientTrust::from_ca_file(out.certificate_path, error);
    EXPECT_TRUE(out.trust) << error;
    return out;
  }();
  return pki;
}

bool run_until(EventLoop &loop, const std::function<bool()> &done,
               std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    loop.run_once(5ms);
  }
  return true;
}

void run_for(EventLoop &loop, std::chrono::milliseconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline)
    loop.run_once(5ms);
}

bool RecordingHandler::is_open(Connection *connection) const {
  return std::find(open_.begin(), open_.end(), connection) != open_.end();
}

void RecordingHandler::on_connected(Connection &connection) {
  connected.push_back(&connection);
  open_.push_back(&connection);
  if (on_connected_hook) on_connected_hook(connection);
}

void RecordingHandler::on_stream_data(Connection &connection, std::int64_t stream_id,
                                      std::span<const std::uint8_t> data, bool fin) {
  StreamRecord &record = stream(&connection, stream_id);
  record.data.append(reinterpret_cast<const char *>(data.data()), data.size());
  record.fin = record.fin || fin;
  if (auto_consume) connection.consume(stream_id, data.size());
  if (on_data_hook) on_data_hook(connection, stream_id, data, fin);
}

void RecordingHandler::on_stream_reset(Connection &connection, std::int64_t stream_id,
                                       std::uint64_t app_error_code) {
  StreamRecord &record = stream(&connection, stream_id);
  record.reset = true;
  record.reset_code = app_error_code;
}

void RecordingHandler::on_stream_closed(Connection &connection, std::int64_t stream_id,
                                        std::uint64_t app_error_code) {
  StreamRecord &record = stream(&connection, stream_id);
  record.closed = true;
  record.close_code = app_error_code;
}

void RecordingHandler::on_stream_writable(Connection &connection, std::int64_t stream_id) {
  ++writable_calls;
  if (on_writable_hook) on_writable_hook(connection, stream_id);
}

void RecordingHandler::on_streams_available(Connection &connection) {
  ++streams_available_calls;
  if (on_streams_available_hook) on_streams_available_hook(connection);
}

void RecordingHandler::on_closed(Connection &connection, const CloseInfo &info) {
  closes.push_back(info);
  std::erase(open_, &connection);
  if (on_closed_hook) on_closed_hook(connection, info);
}

LossyRelay::LossyRelay(EventLoop &loop, const SocketAddress &server, double loss,
                       std::uint32_t seed)
    : loop_(loop), loss_(loss), rng_(seed * 0x9e3779b97f4a7c15ull + 1) {
  EXPECT_FALSE(front_.bind(loopback(0)));
  EXPECT_FALSE(back_.connect(server));
  loop_.watch(front_.fd(), EventLoop::kReadable,
              [this](std::uint32_t) { pump(front_, back_, true); });
  loop_.watch(back_.fd(), EventLoop::kReadable,
              [this](std::uint32_t) { pump(back_, front_, false); });
}

LossyRelay::~LossyRelay() {
  loop_.unwatch(front_.fd());
  loop_.unwatch(back_.fd());
}

void LossyRelay::pump(UdpSocket &from, UdpSocket &to, bool toward_server) {
  IoResult result = from.recv_batch(batch_);
  std::vector<OutgoingDatagram> out;
  for (const ReceivedDatagram &d : batch_.datagrams()) {
    if (toward_server) client_ = d.peer;
    rng_ ^= rng_ << 13;  // xorshift64
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    if (static_cast<double>(rng_ % 1'000'000) < loss_ * 1'000'000) {
      ++dropped_;
      continue;
    }
    ++forwarded_;
    out.push_back({d.data, d.size, toward_server ? nullptr : &client_, nullptr});
  }
  if (!out.empty()) to.send_batch(out);
  (void)result;
}

EndpointConfig server_config() {
  EndpointConfig config = EndpointConfig::server(test_pki().server);
  config.bind_address = loopback(0);
  config.handshake_timeout = 3s;
  return config;
}

EndpointConfig client_config(std::shared_ptr<const tls::ClientTrust> trust) {
  EndpointConfig config = EndpointConfig::client(trust ? trust : test_pki().trust);
  config.handshake_timeout = 3s;
  return config;
}

SocketAddress loopback(std::uint16_t port) {
  return parse_address("127.0.0.1", port).value_or(SocketAddress{});
}

SharedBuffer bytes_of(std::string_view text) {
  return SharedBuffer::copy_of({reinterpret_cast<const std::uint8_t *>(text.data()), text.size()});
}

std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return static_cast<std::uint8_t>(x ^ (x >> 17));
}

}  // namespace flume::quic::test
