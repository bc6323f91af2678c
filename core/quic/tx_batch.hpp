// Outgoing packets of one endpoint, gathered so a write pass over many connections costs a few
// syscalls, not one per packet (ngtcp2 1.11 has no aggregation API of its own). Connections write
// their packets straight into one arena; each "run" is a sequence of equal-size packets to one peer
// (the last may be shorter), which goes out as one UDP GSO send, and lone packets of consecutive
// runs on the same socket go out together in one sendmmsg.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/udp_socket.hpp"

namespace flume::quic {

class QuicSocket;

class TxBatch {
 public:
  // 256 KiB: a full send quantum (64 KiB on loopback) for a few connections before a flush.
  explicit TxBatch(std::size_t capacity = 256 * 1024);

  // Contiguous room for at least `bytes` (clamped to the capacity) at the arena's tail, flushing
  // what is queued first if there is not enough. Valid until the next reserve() or flush().
  std::span<std::uint8_t> reserve(std::size_t bytes);
  // Queues `length` bytes that start exactly at the tail (inside the last reservation) as a run
  // of `segment`-byte packets. peer/local may be null (connected socket, kernel-chosen source).
  void commit(QuicSocket &socket, const SocketAddress *peer, const SocketAddress *local,
              const std::uint8_t *data, std::size_t length, std::size_t segment);
  // reserve + copy + commit, for packets built elsewhere (stateless replies, CONNECTION_CLOSE).
  void queue_copy(QuicSocket &socket, const SocketAddress *peer, const SocketAddress *local,
                  std::span<const std::uint8_t> packet);

  void flush();
  bool empty() const noexcept { return runs_.empty(); }

  std::uint64_t packets_queued() const noexcept { return packets_queued_; }
  std::uint64_t flushes() const noexcept { return flushes_; }

 private:
  struct Run {
    QuicSocket *socket;
    SocketAddress peer;
    SocketAddress local;
    bool has_peer;
    bool has_local;
    std::size_t offset;
    std::size_t length;
    std::size_t segment;
  };

  std::vector<std::uint8_t> arena_;
  std::size_t tail_ = 0;
  std::vector<Run> runs_;
  std::vector<OutgoingDatagram> singles_;  // scratch for flush()
  std::uint64_t packets_queued_ = 0;
  std::uint64_t flushes_ = 0;
};

}  // namespace flume::quic
