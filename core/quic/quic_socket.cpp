#include "quic/quic_socket.hpp"

namespace flume::quic {

QuicSocket::QuicSocket(EventLoop &loop, UdpSocket socket) : loop_(loop), udp_(std::move(socket)) {}

QuicSocket::~QuicSocket() {
  if (watching_) loop_.unwatch(udp_.fd());
}

std::error_code QuicSocket::start(Callback on_readable, Callback on_drained) {
  on_readable_ = std::move(on_readable);
  on_drained_ = std::move(on_drained);
  auto ec = loop_.watch(udp_.fd(), EventLoop::kReadable, [this](std::uint32_t events) {
    if (events & EventLoop::kWritable) on_writable();
    if (events & (EventLoop::kReadable | EventLoop::kError)) on_readable_();
  });
  watching_ = !ec;
  return ec;
}

void QuicSocket::account(const IoResult &result) noexcept {
  datagrams_sent_ += result.count - result.dropped;
  datagrams_lost_ += result.dropped;
  if (result.error != 0 && send_error_ == 0) send_error_ = result.error;
}

int QuicSocket::take_send_error() noexcept {
  int error = send_error_;
  send_error_ = 0;
  return error;
}

void QuicSocket::send_run(const SocketAddress *peer, const SocketAddress *local,
                          const std::uint8_t *data, std::size_t length, std::size_t segment) {
  if (blocked()) {  // keep order behind what is already waiting
    hold(peer, local, data, length, segment);
    return;
  }
  IoResult result = udp_.send_gso(peer, data, length, segment, local);
  account(result);
  if (result.would_block) {
    std::size_t done = std::min(length, result.count * segment);
    hold(peer, local, data + done, length - done, segment);
  }
}

void QuicSocket::send_datagrams(std::span<const OutgoingDatagram> datagrams) {
  std::size_t done = 0;
  if (!blocked()) {
    IoResult result = udp_.send_batch(datagrams);
    account(result);
    done = result.count;
  }
  for (std::size_t i = done; i < datagrams.size(); ++i) {
    const OutgoingDatagram &d = datagrams[i];
    hold(d.peer, d.local, d.data, d.size, d.size);
  }
}

void QuicSocket::hold(const SocketAddress *peer, const SocketAddress *local,
                      const std::uint8_t *data, std::size_t length, std::size_t segment) {
  if (length == 0) return;
  bool was_blocked = blocked();
  Held held{peer ? *peer : SocketAddress{}, local ? *local : SocketAddress{}, held_bytes_.size(),
            length, segment};
  held_bytes_.insert(held_bytes_.end(), data, data + length);
  held_.push_back(held);
  if (!was_blocked && watching_) {
    loop_.modify(udp_.fd(), EventLoop::kReadable | EventLoop::kWritable);
  }
}

void QuicSocket::on_writable() {
  std::size_t i = 0;
  for (; i < held_.size(); ++i) {
    Held &h = held_[i];
    const SocketAddress *peer = h.peer.empty() ? nullptr : &h.peer;
    const SocketAddress *local = h.local.empty() ? nullptr : &h.local;
    IoResult result =
        udp_.send_gso(peer, held_bytes_.data() + h.offset, h.length, h.segment, local);
    account(result);
    if (result.would_block) {
      std::size_t done = std::min(h.length, result.count * h.segment);
      h.offset += done;
      h.length -= done;
      break;
    }
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(i));
  if (!held_.empty()) return;
  held_bytes_.clear();
  if (watching_) loop_.modify(udp_.fd(), EventLoop::kReadable);
  if (on_drained_) on_drained_();
}

}  // namespace flume::quic
