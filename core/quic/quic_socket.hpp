// A UDP socket as the QUIC endpoint uses it: its watch on the event loop, and the datagrams the
// kernel could not take yet. A full send buffer (EAGAIN) is not loss (nothing left): those packets
// are kept, the socket watches for writability, and connections on it stop writing until they
// are out (Endpoint reschedules them then), so what is kept stays bounded by one write batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>
#include <vector>

#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"

namespace flume::quic {

class QuicSocket {
 public:
  using Callback = std::function<void()>;

  QuicSocket(EventLoop &loop, UdpSocket socket);
  ~QuicSocket();  // stops watching; the UdpSocket closes itself
  QuicSocket(const QuicSocket &) = delete;
  QuicSocket &operator=(const QuicSocket &) = delete;

  // Starts watching: `on_readable` when datagrams (or an error) wait, `on_drained` when kept
  // datagrams have all gone out after a full buffer.
  std::error_code start(Callback on_readable, Callback on_drained);

  UdpSocket &udp() noexcept { return udp_; }
  const UdpSocket &udp() const noexcept { return udp_; }
  bool blocked() const noexcept { return !held_.empty(); }

  // A run of `length` bytes cut into datagrams of `segment` bytes (the last may be shorter),
  // to one peer, through GSO when the kernel has it. peer/local may be null (connected socket;
  // kernel-chosen source).
  void send_run(const SocketAddress *peer, const SocketAddress *local, const std::uint8_t *data,
                std::size_t length, std::size_t segment);
  // Single datagrams, possibly to different peers, in one sendmmsg.
  void send_datagrams(std::span<const OutgoingDatagram> datagrams);

  // The errno of the first send the kernel refused since the last call (0 if none): on a
  // connected socket ECONNREFUSED and friends report ICMP errors.
  int take_send_error() noexcept;
  std::uint64_t datagrams_sent() const noexcept { return datagrams_sent_; }
  std::uint64_t datagrams_lost() const noexcept { return datagrams_lost_; }

 private:
  struct Held {
    SocketAddress peer;
    SocketAddress local;
    std::size_t offset;  // into held_bytes_
    std::size_t length;
    std::size_t segment;
  };

  void account(const IoResult &result) noexcept;
  void hold(const SocketAddress *peer, const SocketAddress *local, const std::uint8_t *data,
            std::size_t length, std::size_t segment);
  void on_writable();

  EventLoop &loop_;
  UdpSocket udp_;
  bool watching_ = false;
  Callback on_readable_;
  Callback on_drained_;
  std::vector<std::uint8_t> held_bytes_;
  std::vector<Held> held_;
  int send_error_ = 0;
  std::uint64_t datagrams_sent_ = 0;
  std::uint64_t datagrams_lost_ = 0;
};

}  // namespace flume::quic
