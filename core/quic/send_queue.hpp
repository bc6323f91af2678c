// The bytes queued on one stream's send side. ngtcp2 does not copy stream data: it keeps
// pointers for retransmission until the bytes are acknowledged, so every queued
// slice holds a reference to its SharedBuffer and is released only once acked (or when the
// stream closes). Slices never move, so the pointers ngtcp2 holds stay valid.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

#include "codec/shared_buffer.hpp"

namespace flume::quic {

class SendQueue {
 public:
  // Queues bytes [offset, offset + length) of `buffer`.
  void append(SharedBuffer buffer, std::size_t offset, std::size_t length);

  // Fills up to `vec.size()` vectors with the oldest bytes not yet handed to ngtcp2; returns
  // how many were filled and sets `all` when they cover everything unsent.
  std::size_t peek_unsent(std::span<ngtcp2_vec> vec, bool &all) const noexcept;
  // ngtcp2 took `n` more bytes (ndatalen of a write).
  void mark_sent(std::size_t n) noexcept;
  // ngtcp2 reported [.., end) acknowledged (calls arrive in order, so `end` is cumulative).
  void acknowledge_until(std::uint64_t end) noexcept;
  // Forgets unsent bytes (the stream was reset; they will never be needed).
  void drop_unsent() noexcept;
  void clear() noexcept;

  std::uint64_t unsent() const noexcept { return end_ - sent_; }
  std::uint64_t unacked() const noexcept { return end_ - acked_; }  // unsent + in flight
  std::uint64_t end_offset() const noexcept { return end_; }

 private:
  struct Slice {
    SharedBuffer buffer;
    const std::uint8_t *data;
    std::size_t length;
    std::uint64_t stream_offset;  // of data[0]
  };

  std::deque<Slice> slices_;
  std::size_t first_unsent_ = 0;  // index of the slice holding stream offset sent_
  std::uint64_t end_ = 0;         // stream offset after the last queued byte
  std::uint64_t sent_ = 0;        // bytes handed to ngtcp2
  std::uint64_t acked_ = 0;       // bytes acknowledged (contiguous from 0)
};

}  // namespace flume::quic
