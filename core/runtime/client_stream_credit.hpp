// StreamCredit: back-pressure from a polling subscription's local queue to the broker. Bytes
// received on a subscription stream are normally given back to QUIC at once (consumed, so the
// flow-control window slides). While the subscription's queue for recv() is full, its stream's
// credit is held instead: the broker's queue, and its overflow policy, then take the excess, not
// this process's memory. recv() draining the queue releases what was held. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace flume {

class StreamCredit {
 public:
  struct Owed {
    std::int64_t stream_id;
    std::size_t bytes;
  };

  // The subscription's messages arrive on `stream_id`.
  void delivered_on(std::uint32_t subscription_id, std::int64_t stream_id);
  // The subscription's queue is full: from now on hold back the credit of `stream_id`.
  void hold(std::int64_t stream_id);
  // `bytes` arrived on `stream_id`: how many to give back now (0 while held: they are owed).
  std::size_t received(std::int64_t stream_id, std::size_t bytes);
  // The subscription's queue has room again: the credit to give back, if any was held.
  std::optional<Owed> release(std::uint32_t subscription_id);
  // The stream is gone: nothing to give back on it.
  void stream_closed(std::int64_t stream_id);
  // The subscription is gone (its stream's credit, if held, stays held until the stream closes).
  void forget(std::uint32_t subscription_id);
  // The connection is gone.
  void clear();

 private:
  std::unordered_map<std::uint32_t, std::int64_t> stream_of_;  // subscription -> stream
  std::unordered_map<std::int64_t, std::size_t> owed_;         // held stream -> bytes not consumed
};

}  // namespace flume
