// A non-blocking UDP socket with batched receive (recvmmsg) and send (sendmmsg, UDP GSO): the
// I/O under the QUIC transport. Linux only.
//
// A UdpSocket belongs to one thread at a time (normally its loop thread); nothing here locks.
// No call allocates after open(): batches are caller-owned and preallocated, and send scratch
// space is allocated once with the socket.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace flume {

// An IPv4 or IPv6 address with port, in the form the socket calls (and ngtcp2_addr) take.
// Equality and hashing look at family, address, port and (IPv6) scope id only, never at padding,
// so addresses returned by the kernel can key maps directly.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;  // 0: no address

  static SocketAddress from(const sockaddr *address, socklen_t length) noexcept;

  bool empty() const noexcept { return length == 0; }
  int family() const noexcept { return empty() ? AF_UNSPEC : storage.ss_family; }
  std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
  const sockaddr *as_sockaddr() const noexcept {
    return reinterpret_cast<const sockaddr *>(&storage);
  }
  sockaddr *as_sockaddr() noexcept { return reinterpret_cast<sockaddr *>(&storage); }

  // "127.0.0.1:7337", "[::1]:7337", "[fe80::1%2]:7337"; "" when empty. A v4-mapped IPv6
  // address (an IPv4 peer of a dual-stack socket) reads as IPv4: "[::ffff:1.2.3.4]:7" is
  // "1.2.3.4:7".
  std::string to_string() const;
  std::size_t hash() const noexcept;
  friend bool operator==(const SocketAddress &a, const SocketAddress &b) noexcept;
};

// Numeric IPv4 ("127.0.0.1"), IPv6 ("::1", "[::1]", "fe80::1%eth0") or "localhost" (127.0.0.1,
// which works even where IPv6 is disabled). Never consults DNS, so it never blocks; anything
// else is nullopt. Resolve names off the loop thread and pass the numeric result here.
std::optional<SocketAddress> parse_address(std::string_view host, std::uint16_t port);

// One received datagram, valid until the next recv_batch() into the same batch.
struct ReceivedDatagram {
  const std::uint8_t *data = nullptr;
  std::size_t size = 0;
  SocketAddress peer;
  SocketAddress local;     // the address it was sent to (IP_PKTINFO), with the socket's port
  std::uint8_t ecn = 0;    // the two ECN bits of the IP header (ngtcp2_pkt_info.ecn)
  bool truncated = false;  // longer than the slot; QUIC should drop it
};

// Caller-owned receive slots for recv_batch(). Everything is allocated here, once.
//
// Slot size: 2048 bytes by default. Flume's QUIC datagrams are at most 1452 bytes (ngtcp2's
// max_tx_udp_payload_size), and the transport should advertise a max_udp_payload_size no
// larger than the slot, so nothing legitimate is truncated. 64 KiB slots would only pay off
// with UDP GRO (one slot holding many coalesced datagrams), which this layer leaves off:
// recvmmsg already amortises the syscall, and 64 × 2 KiB = 128 KiB stays cache- and RAM-friendly
// per socket where 64 × 64 KiB would be 4 MiB.
class RecvBatch {
 public:
  static constexpr std::size_t kDefaultSlots = 64;
  static constexpr std::size_t kDefaultSlotSize = 2048;

  explicit RecvBatch(std::size_t slots = kDefaultSlots, std::size_t slot_size = kDefaultSlotSize);
  ~RecvBatch();
  RecvBatch(RecvBatch &&) noexcept;
  RecvBatch &operator=(RecvBatch &&) noexcept;

  std::size_t capacity() const noexcept { return datagrams_.size(); }
  std::size_t slot_size() const noexcept { return slot_size_; }
  std::size_t size() const noexcept { return count_; }  // filled by the last recv_batch()
  const ReceivedDatagram &operator[](std::size_t i) const noexcept { return datagrams_[i]; }
  std::span<const ReceivedDatagram> datagrams() const noexcept {
    return {datagrams_.data(), count_};
  }

 private:
  friend class UdpSocket;
  struct Kernel;  // the mmsghdr/iovec/control arrays recvmmsg fills

  std::size_t slot_size_;
  std::size_t count_ = 0;
  std::vector<std::uint8_t> buffer_;
  std::vector<ReceivedDatagram> datagrams_;
  std::unique_ptr<Kernel> kernel_;
};

// One datagram to send; everything is borrowed for the duration of the call.
struct OutgoingDatagram {
  const std::uint8_t *data = nullptr;
  std::size_t size = 0;
  const SocketAddress *peer = nullptr;   // nullptr: the connected peer
  const SocketAddress *local = nullptr;  // source address (a wildcard-bound server replies from
                                         // the address the client used); nullptr: kernel picks
};

// What a batch call did. Per the QUIC notes: a full socket buffer is not loss (retry the rest
// when the fd is writable), any other refusal is (QUIC recovers it like a lost packet).
struct IoResult {
  // recv: datagrams received. send: datagrams (or GSO segments) the caller is done with, from
  // the front, whether sent or dropped; resume from here after would_block.
  std::size_t count = 0;
  std::size_t dropped = 0;   // send only: of `count`, refused by the kernel (count as lost)
  int error = 0;             // errno of the last refusal or receive error, 0 if none
  bool would_block = false;  // EAGAIN: receive queue empty / send buffer full
};

// Syscall counts, for tests and metrics (the batch paths must not pay one syscall per packet).
struct UdpSocketCounters {
  std::uint64_t recv_syscalls = 0;
  std::uint64_t send_syscalls = 0;  // sendmmsg and sendmsg, including GSO sends
  std::uint64_t gso_sends = 0;      // sendmsg calls that carried UDP_SEGMENT
};

class UdpSocket {
 public:
  // Asked for in SO_RCVBUF/SO_SNDBUF: bursts of a few hundred 1452-byte packets fit. Best
  // effort; the kernel caps it at net.core.{r,w}mem_max unless we have CAP_NET_ADMIN.
  static constexpr int kSocketBufferBytes = 4 << 20;
  // The kernel rejects more segments per GSO send (UDP_MAX_SEGMENTS on older kernels).
  static constexpr std::size_t kMaxGsoSegments = 64;
  // Datagrams (or segments) per sendmmsg call.
  static constexpr std::size_t kMaxBatch = 64;

  UdpSocket() noexcept;
  ~UdpSocket();
  UdpSocket(UdpSocket &&) noexcept;
  UdpSocket &operator=(UdpSocket &&) noexcept;

  // Opens a non-blocking, close-on-exec socket for AF_INET or AF_INET6 with packet info, ECN
  // reading, DF set and large buffers. AF_INET6 is dual stack (IPV6_V6ONLY off): bound to [::]
  // it also receives IPv4, with v4-mapped addresses (::ffff:1.2.3.4) as peer and local address.
  std::error_code open(int family);
  // bind()/connect() open a socket of the address's family first when none is open.
  std::error_code bind(const SocketAddress &local);
  std::error_code connect(const SocketAddress &peer);
  void close() noexcept;

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  // As bound (the kernel's choice for port 0, or after connect()'s implicit bind).
  const SocketAddress &local_address() const noexcept { return local_; }
  int receive_buffer_size() const noexcept;  // what the kernel granted, in bytes
  int send_buffer_size() const noexcept;

  // Whether send_gso() hands segmentation to the kernel. Probed at open(); turned off for
  // good when a GSO send fails with EIO (device without checksum offload) or EINVAL.
  bool gso_enabled() const noexcept { return gso_; }
  void disable_gso() noexcept { gso_ = false; }  // also lets tests force the fallback

  // Sets the ECN bits of outgoing packets (ngtcp2_pkt_info.ecn after a write). Cached: a
  // syscall only when the value changes.
  std::error_code set_ecn(std::uint8_t ecn) noexcept;

  // Receives up to batch.capacity() datagrams in one recvmmsg.
  IoResult recv_batch(RecvBatch &batch) noexcept;
  // Sends every datagram, kMaxBatch per sendmmsg, possibly to different peers.
  IoResult send_batch(std::span<const OutgoingDatagram> datagrams) noexcept;
  // Sends `buffer` as datagrams of `segment_size` bytes (the last may be shorter) to one peer:
  // one sendmsg with UDP_SEGMENT per up to kMaxGsoSegments segments, or sendmmsg of the
  // segments when GSO is off. IoResult::count counts segments.
  IoResult send_gso(const SocketAddress *peer, const std::uint8_t *buffer, std::size_t total_len,
                    std::size_t segment_size, const SocketAddress *local = nullptr) noexcept;

  const UdpSocketCounters &counters() const noexcept { return counters_; }

 private:
  struct TxScratch;

  void fill_message(std::size_t slot, const std::uint8_t *data, std::size_t size,
                    const SocketAddress *peer, const SocketAddress *local,
                    std::uint16_t gso_segment) noexcept;
  IoResult flush(std::size_t count) noexcept;
  IoResult send_segments(const SocketAddress *peer, const std::uint8_t *buffer,
                         std::size_t total_len, std::size_t segment_size,
                         const SocketAddress *local) noexcept;

  int fd_ = -1;
  int family_ = AF_UNSPEC;
  bool gso_ = false;
  int ecn_ = 0;
  SocketAddress local_;
  UdpSocketCounters counters_;
  std::unique_ptr<TxScratch> tx_;
};

}  // namespace flume

template <>
struct std::hash<flume::SocketAddress> {
  std::size_t operator()(const flume::SocketAddress &address) const noexcept {
    return address.hash();
  }
};
