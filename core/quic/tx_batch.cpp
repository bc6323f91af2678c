#include "quic/tx_batch.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "quic/quic_socket.hpp"

namespace flume::quic {

TxBatch::TxBatch(std::size_t capacity) : arena_(capacity) {
  runs_.reserve(256);
  singles_.reserve(UdpSocket::kMaxBatch);
}

std::span<std::uint8_t> TxBatch::reserve(std::size_t bytes) {
  bytes = std::min(bytes, arena_.size());
  if (arena_.size() - tail_ < bytes) flush();
  return {arena_.data() + tail_, arena_.size() - tail_};
}

void TxBatch::commit(QuicSocket &socket, const SocketAddress *peer, const SocketAddress *local,
                     const std::uint8_t *data, std::size_t length, std::size_t segment) {
  assert(data == arena_.data() + tail_);
  assert(tail_ + length <= arena_.size());
  (void)data;
  if (length == 0) return;
  runs_.push_back({&socket, peer ? *peer : SocketAddress{}, local ? *local : SocketAddress{},
                   peer != nullptr, local != nullptr, tail_, length, segment});
  tail_ += length;
  packets_queued_ += (length + segment - 1) / segment;
}

void TxBatch::queue_copy(QuicSocket &socket, const SocketAddress *peer, const SocketAddress *local,
                         std::span<const std::uint8_t> packet) {
  std::span<std::uint8_t> room = reserve(packet.size());
  if (room.size() < packet.size()) return;  // larger than the whole arena: never for QUIC
  std::memcpy(room.data(), packet.data(), packet.size());
  commit(socket, peer, local, room.data(), packet.size(), packet.size());
}

void TxBatch::flush() {
  if (runs_.empty()) {
    tail_ = 0;
    return;
  }
  ++flushes_;
  QuicSocket *singles_socket = nullptr;
  auto send_singles = [&] {
    if (!singles_.empty()) singles_socket->send_datagrams(singles_);
    singles_.clear();
  };
  for (const Run &run : runs_) {
    const SocketAddress *peer = run.has_peer ? &run.peer : nullptr;
    const SocketAddress *local = run.has_local ? &run.local : nullptr;
    const std::uint8_t *data = arena_.data() + run.offset;
    if (run.length > run.segment) {
      send_singles();
      run.socket->send_run(peer, local, data, run.length, run.segment);
      continue;
    }
    if (run.socket != singles_socket || singles_.size() == UdpSocket::kMaxBatch) {
      send_singles();
      singles_socket = run.socket;
    }
    singles_.push_back({data, run.length, peer, local});
  }
  send_singles();
  runs_.clear();
  tail_ = 0;
}

}  // namespace flume::quic
