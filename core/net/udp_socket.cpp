#include "net/udp_socket.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <random>
#include <utility>

namespace flume {

namespace {

// Receive side: IPV6_PKTINFO plus IPV6_TCLASS is the largest pair we ask for; the rest is room
// for anything else the kernel decides to attach (it sets MSG_CTRUNC rather than overflow).
constexpr std::size_t kRxControlBytes = 128;
// Send side: a source address and a GSO segment size.
constexpr std::size_t kTxControlBytes =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t));
// Largest UDP payload one IPv4 packet can carry; a GSO send must fit it as a whole (IPv6 allows
// 20 bytes more; one limit for both keeps the arithmetic simple).
constexpr std::size_t kMaxGsoBytes = 65507;

struct alignas(cmsghdr) RxControl {
  unsigned char bytes[kRxControlBytes];
};
struct alignas(cmsghdr) TxControl {
  unsigned char bytes[kTxControlBytes];
};

std::error_code errno_code() {
  return {errno, std::generic_category()};
}

void merge(IoResult &into, const IoResult &more) {
  into.count += more.count;
  into.dropped += more.dropped;
  if (more.error != 0) into.error = more.error;
  into.would_block = more.would_block;
}

// A random per-process seed: peers choose their source ports, so a fixed hash would let them
// aim collisions at a connection table.
std::uint64_t hash_seed() {
  static const std::uint64_t seed =
      (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  return seed;
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // splitmix64's finaliser over a running state: cheap and well spread.
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SocketAddress

SocketAddress SocketAddress::from(const sockaddr *address, socklen_t length) noexcept {
  SocketAddress out;
  if (address == nullptr) return out;
  out.length = std::min<socklen_t>(length, sizeof out.storage);
  std::memcpy(&out.storage, address, out.length);
  return out;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in &>(storage).sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6 &>(storage).sin6_port);
  return 0;
}

void SocketAddress::set_port(std::uint16_t port) noexcept {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in &>(storage).sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6 &>(storage).sin6_port = htons(port);
}

std::string SocketAddress::to_string() const {
  // Built with append only: GCC 12 reports a false -Wrestrict on `"x" + std::string`.
  char text[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (family() == AF_INET) {
    const auto &v4 = reinterpret_cast<const sockaddr_in &>(storage);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    out.append(text);
  } else if (family() == AF_INET6 &&
             IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6 &>(storage).sin6_addr)) {
    // An IPv4 peer of a dual-stack socket: shown as the IPv4 address it is.
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(storage);
    inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text, sizeof text);
    out.append(text);
  } else if (family() == AF_INET6) {
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(storage);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    out.append("[").append(text);
    if (v6.sin6_scope_id != 0) out.append("%").append(std::to_string(v6.sin6_scope_id));
    out.append("]");
  } else {
    return out;
  }
  return out.append(":").append(std::to_string(port()));
}

std::size_t SocketAddress::hash() const noexcept {
  std::uint64_t h = mix(hash_seed(), static_cast<std::uint64_t>(family()) << 16 | port());
  if (family() == AF_INET) {
    const auto &v4 = reinterpret_cast<const sockaddr_in &>(storage);
    h = mix(h, v4.sin_addr.s_addr);
  } else if (family() == AF_INET6) {
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(storage);
    std::uint64_t halves[2];
    std::memcpy(halves, &v6.sin6_addr, sizeof halves);
    h = mix(mix(mix(h, halves[0]), halves[1]), v6.sin6_scope_id);
  }
  return static_cast<std::size_t>(h);
}

bool operator==(const SocketAddress &a, const SocketAddress &b) noexcept {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    const auto &x = reinterpret_cast<const sockaddr_in &>(a.storage);
    const auto &y = reinterpret_cast<const sockaddr_in &>(b.storage);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    const auto &x = reinterpret_cast<const sockaddr_in6 &>(a.storage);
    const auto &y = reinterpret_cast<const sockaddr_in6 &>(b.storage);
    return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

std::optional<SocketAddress> parse_address(std::string_view host, std::uint16_t port) {
  if (host == "localhost") host = "127.0.0.1";
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);

  std::string text(host);  // inet_pton wants a terminated string
  sockaddr_in v4{};
  if (!bracketed && inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    return SocketAddress::from(reinterpret_cast<const sockaddr *>(&v4), sizeof v4);
  }

  sockaddr_in6 v6{};
  std::string scope;
  if (auto percent = text.find('%'); percent != std::string::npos) {
    scope = text.substr(percent + 1);
    text.resize(percent);
    if (scope.empty()) return std::nullopt;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) != 1) return std::nullopt;
  if (!scope.empty()) {
    std::uint32_t index = 0;
    auto [end, ec] = std::from_chars(scope.data(), scope.data() + scope.size(), index);
    if (ec != std::errc() || end != scope.data() + scope.size()) {
      index = if_nametoindex(scope.c_str());  // an ioctl on a local socket: never blocks
      if (index == 0) return std::nullopt;
    }
    v6.sin6_scope_id = index;
  }
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  return SocketAddress::from(reinterpret_cast<const sockaddr *>(&v6), sizeof v6);
}

// ---------------------------------------------------------------------------------------------
// RecvBatch

struct RecvBatch::Kernel {
  std::vector<mmsghdr> messages;
  std::vector<iovec> iov;
  std::vector<RxControl> control;
};

RecvBatch::RecvBatch(std::size_t slots, std::size_t slot_size)
    : slot_size_(slot_size),
      buffer_(slots * slot_size),
      datagrams_(slots),
      kernel_(std::make_unique<Kernel>()) {
  kernel_->messages.resize(slots);
  kernel_->iov.resize(slots);
  kernel_->control.resize(slots);
  // Everything but the lengths the kernel overwrites is fixed here, once.
  for (std::size_t i = 0; i < slots; ++i) {
    datagrams_[i].data = buffer_.data() + i * slot_size;
    kernel_->iov[i] = {buffer_.data() + i * slot_size, slot_size};
    msghdr &h = kernel_->messages[i].msg_hdr;
    h.msg_name = &datagrams_[i].peer.storage;
    h.msg_iov = &kernel_->iov[i];
    h.msg_iovlen = 1;
    h.msg_control = kernel_->control[i].bytes;
  }
}

RecvBatch::~RecvBatch() = default;
RecvBatch::RecvBatch(RecvBatch &&) noexcept = default;
RecvBatch &RecvBatch::operator=(RecvBatch &&) noexcept = default;

// ---------------------------------------------------------------------------------------------
// UdpSocket: setup

struct UdpSocket::TxScratch {
  mmsghdr messages[kMaxBatch];
  iovec iov[kMaxBatch];
  TxControl control[kMaxBatch];
};

UdpSocket::UdpSocket() noexcept = default;

UdpSocket::~UdpSocket() {
  close();
}

UdpSocket::UdpSocket(UdpSocket &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      family_(other.family_),
      gso_(other.gso_),
      ecn_(other.ecn_),
      local_(other.local_),
      counters_(other.counters_),
      tx_(std::move(other.tx_)) {}

UdpSocket &UdpSocket::operator=(UdpSocket &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    family_ = other.family_;
    gso_ = other.gso_;
    ecn_ = other.ecn_;
    local_ = other.local_;
    counters_ = other.counters_;
    tx_ = std::move(other.tx_);
  }
  return *this;
}

void UdpSocket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  family_ = AF_UNSPEC;
  local_ = {};
  gso_ = false;
  ecn_ = 0;
}

namespace {

void set_int(int fd, int level, int name, int value) {
  setsockopt(fd, level, name, &value, sizeof value);
}

int get_int(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  if (getsockopt(fd, level, name, &value, &length) != 0) return -1;
  return value;
}

// The plain option is capped by net.core.*mem_max; the FORCE one works only with CAP_NET_ADMIN
// and fails harmlessly otherwise.
void grow_buffer(int fd, int name, int force_name, int bytes) {
  set_int(fd, SOL_SOCKET, name, bytes);
  if (get_int(fd, SOL_SOCKET, name) < bytes) set_int(fd, SOL_SOCKET, force_name, bytes);
}

}  // namespace

std::error_code UdpSocket::open(int family) {
  close();
  if (family != AF_INET && family != AF_INET6) {
    return std::make_error_code(std::errc::address_family_not_supported);
  }
  fd_ = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd_ < 0) return errno_code();
  family_ = family;
  int one = 1;
  int pktinfo;
  if (family == AF_INET6) {
    // Dual stack: bound to [::], the socket takes IPv4 too, as v4-mapped addresses
    // (::ffff:1.2.3.4). Linux then reports IPv4 packets' destination as a v4-mapped
    // IPV6_PKTINFO (and accepts one as the source when sending), so the address family seen
    // by QUIC never changes within a connection. IPv4 packets' TOS byte and DF bit follow the
    // IPv4 options, which a v6 socket accepts too; they are set alongside (failures harmless).
    set_int(fd_, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    pktinfo = setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    set_int(fd_, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    set_int(fd_, IPPROTO_IP, IP_RECVTOS, 1);
    // DF on, but the kernel's cached path MTU ignored: ngtcp2 runs its own PMTUD and needs
    // its probes to leave unfragmented, or be lost, never be refused locally.
    set_int(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE);
    set_int(fd_, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
  } else {
    pktinfo = setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    set_int(fd_, IPPROTO_IP, IP_RECVTOS, 1);
    set_int(fd_, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
  }
  if (pktinfo != 0) {
    std::error_code ec = errno_code();
    close();
    return ec;
  }
  grow_buffer(fd_, SO_RCVBUF, SO_RCVBUFFORCE, kSocketBufferBytes);
  grow_buffer(fd_, SO_SNDBUF, SO_SNDBUFFORCE, kSocketBufferBytes);
  // Kernels since 4.18 know UDP_SEGMENT; whether the route's device can do it shows only on
  // the first send (EIO), which send_gso handles.
  gso_ = get_int(fd_, SOL_UDP, UDP_SEGMENT) >= 0;
  if (!tx_) tx_ = std::make_unique<TxScratch>();
  return {};
}

std::error_code UdpSocket::bind(const SocketAddress &local) {
  if (!is_open()) {
    if (auto ec = open(local.family())) return ec;
  }
  if (::bind(fd_, local.as_sockaddr(), local.length) != 0) return errno_code();
  local_.length = sizeof local_.storage;
  getsockname(fd_, local_.as_sockaddr(), &local_.length);
  return {};
}

std::error_code UdpSocket::connect(const SocketAddress &peer) {
  if (!is_open()) {
    if (auto ec = open(peer.family())) return ec;
  }
  if (::connect(fd_, peer.as_sockaddr(), peer.length) != 0) return errno_code();
  local_.length = sizeof local_.storage;
  getsockname(fd_, local_.as_sockaddr(), &local_.length);
  return {};
}

int UdpSocket::receive_buffer_size() const noexcept {
  return get_int(fd_, SOL_SOCKET, SO_RCVBUF);
}
int UdpSocket::send_buffer_size() const noexcept {
  return get_int(fd_, SOL_SOCKET, SO_SNDBUF);
}

std::error_code UdpSocket::set_ecn(std::uint8_t ecn) noexcept {
  int tos = ecn & 0x3;
  if (tos == ecn_) return {};
  int rc = family_ == AF_INET6 ? setsockopt(fd_, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos)
                               : setsockopt(fd_, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  if (rc != 0) return errno_code();
  // A dual-stack socket sends to v4-mapped peers as IPv4, whose TOS byte IP_TOS sets.
  if (family_ == AF_INET6) setsockopt(fd_, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  ecn_ = tos;
  return {};
}

// ---------------------------------------------------------------------------------------------
// UdpSocket: receive

IoResult UdpSocket::recv_batch(RecvBatch &batch) noexcept {
  IoResult result;
  batch.count_ = 0;
  auto &messages = batch.kernel_->messages;
  for (mmsghdr &m : messages) {
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_controllen = kRxControlBytes;
    m.msg_hdr.msg_flags = 0;
    m.msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd_, messages.data(), static_cast<unsigned>(messages.size()), 0, nullptr);
    ++counters_.recv_syscalls;
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result.would_block = true;
    } else {
      result.error = errno;
    }
    return result;
  }

  const std::uint16_t port = local_.port();
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    msghdr &h = messages[i].msg_hdr;
    ReceivedDatagram &d = batch.datagrams_[i];
    d.size = messages[i].msg_len;
    d.peer.length = h.msg_namelen;
    d.truncated = (h.msg_flags & MSG_TRUNC) != 0;
    d.ecn = 0;
    d.local = local_;  // stays the bound address if no packet info came with it
    for (cmsghdr *c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        v4.sin_addr = info.ipi_addr;  // the header's destination, not the interface's address
        d.local = SocketAddress::from(reinterpret_cast<const sockaddr *>(&v4), sizeof v4);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        v6.sin6_addr = info.ipi6_addr;
        if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) v6.sin6_scope_id = info.ipi6_ifindex;
        d.local = SocketAddress::from(reinterpret_cast<const sockaddr *>(&v6), sizeof v6);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
        d.ecn = *CMSG_DATA(c) & 0x3;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
        int tclass;
        std::memcpy(&tclass, CMSG_DATA(c), sizeof tclass);
        d.ecn = static_cast<std::uint8_t>(tclass & 0x3);
      }
    }
  }
  batch.count_ = static_cast<std::size_t>(n);
  result.count = batch.count_;
  return result;
}

// ---------------------------------------------------------------------------------------------
// UdpSocket: send

void UdpSocket::fill_message(std::size_t slot, const std::uint8_t *data, std::size_t size,
                             const SocketAddress *peer, const SocketAddress *local,
                             std::uint16_t gso_segment) noexcept {
  mmsghdr &m = tx_->messages[slot];
  m = {};
  tx_->iov[slot] = {const_cast<std::uint8_t *>(data), size};
  msghdr &h = m.msg_hdr;
  h.msg_iov = &tx_->iov[slot];
  h.msg_iovlen = 1;
  if (peer != nullptr && !peer->empty()) {
    h.msg_name = const_cast<sockaddr *>(peer->as_sockaddr());
    h.msg_namelen = peer->length;
  }

  // Control messages are laid out by hand: CMSG_NXTHDR would read the next header's length
  // from a buffer we have not written yet.
  unsigned char *control = tx_->control[slot].bytes;
  std::size_t used = 0;
  auto append = [&](int level, int type, const void *value, std::size_t length) {
    cmsghdr header{};
    header.cmsg_level = level;
    header.cmsg_type = type;
    header.cmsg_len = CMSG_LEN(length);
    std::memcpy(control + used, &header, sizeof header);
    std::memcpy(control + used + CMSG_LEN(0), value, length);
    used += CMSG_SPACE(length);
  };
  if (local != nullptr && local->family() == AF_INET) {
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in &>(local->storage).sin_addr;
    append(IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
  } else if (local != nullptr && local->family() == AF_INET6) {
    in6_pktinfo info{};
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(local->storage);
    info.ipi6_addr = v6.sin6_addr;
    info.ipi6_ifindex = v6.sin6_scope_id;
    append(IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
  }
  if (gso_segment != 0) append(SOL_UDP, UDP_SEGMENT, &gso_segment, sizeof gso_segment);
  if (used != 0) {
    h.msg_control = control;
    h.msg_controllen = used;
  }
}

IoResult UdpSocket::flush(std::size_t count) noexcept {
  IoResult result;
  std::size_t done = 0;
  while (done < count) {
    int n = sendmmsg(fd_, tx_->messages + done, static_cast<unsigned>(count - done), 0);
    ++counters_.send_syscalls;
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result.would_block = true;
      break;
    }
    // sendmmsg stopped at the datagram the kernel refused (it reports a mid-batch error on the
    // next call, as the first message): that one is lost; carry on with the rest. An error of
    // the socket itself would repeat for every datagram, so it drops them all at once.
    result.error = errno;
    std::size_t lost = (errno == EBADF || errno == ENOTSOCK) ? count - done : 1;
    result.dropped += lost;
    done += lost;
  }
  result.count = done;
  return result;
}

IoResult UdpSocket::send_batch(std::span<const OutgoingDatagram> datagrams) noexcept {
  IoResult result;
  if (!tx_ || fd_ < 0) {
    result.error = EBADF;
    return result;
  }
  for (std::size_t start = 0; start < datagrams.size(); start += kMaxBatch) {
    std::size_t n = std::min(kMaxBatch, datagrams.size() - start);
    for (std::size_t i = 0; i < n; ++i) {
      const OutgoingDatagram &d = datagrams[start + i];
      fill_message(i, d.data, d.size, d.peer, d.local, 0);
    }
    merge(result, flush(n));
    if (result.would_block) break;
  }
  return result;
}

IoResult UdpSocket::send_segments(const SocketAddress *peer, const std::uint8_t *buffer,
                                  std::size_t total_len, std::size_t segment_size,
                                  const SocketAddress *local) noexcept {
  IoResult result;
  std::size_t offset = 0;
  while (offset < total_len) {
    std::size_t n = 0;
    for (; n < kMaxBatch && offset < total_len; ++n) {
      std::size_t size = std::min(segment_size, total_len - offset);
      fill_message(n, buffer + offset, size, peer, local, 0);
      offset += size;
    }
    IoResult part = flush(n);
    merge(result, part);
    if (part.would_block) break;
  }
  return result;
}

IoResult UdpSocket::send_gso(const SocketAddress *peer, const std::uint8_t *buffer,
                             std::size_t total_len, std::size_t segment_size,
                             const SocketAddress *local) noexcept {
  IoResult result;
  if (!tx_ || fd_ < 0) {
    result.error = EBADF;
    return result;
  }
  if (segment_size == 0 || total_len == 0) return result;
  const std::size_t per_send = std::min(kMaxGsoSegments, kMaxGsoBytes / segment_size);
  if (!gso_ || total_len <= segment_size || per_send < 2) {
    return send_segments(peer, buffer, total_len, segment_size, local);
  }

  std::size_t offset = 0;
  while (offset < total_len) {
    std::size_t chunk = std::min(total_len - offset, per_send * segment_size);
    std::size_t segments = (chunk + segment_size - 1) / segment_size;
    fill_message(0, buffer + offset, chunk, peer, local,
                 segments > 1 ? static_cast<std::uint16_t>(segment_size) : 0);
    ssize_t n;
    do {
      n = sendmsg(fd_, &tx_->messages[0].msg_hdr, 0);
      ++counters_.send_syscalls;
      if (segments > 1) ++counters_.gso_sends;
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
      result.count += segments;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result.would_block = true;
      return result;
    } else if (segments > 1 && (errno == EIO || errno == EINVAL)) {
      // The kernel or the device cannot segment on this path: stop trying, and send what is
      // left (this chunk included) the portable way.
      gso_ = false;
      merge(result, send_segments(peer, buffer + offset, total_len - offset, segment_size, local));
      return result;
    } else {
      result.error = errno;
      result.count += segments;
      result.dropped += segments;
    }
    offset += chunk;
  }
  return result;
}

}  // namespace flume
