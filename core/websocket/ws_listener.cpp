#include "websocket/ws_listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "log/log.hpp"
#include "net/host_port.hpp"
#include "runtime/broker_server.hpp"
#include "websocket/handshake.hpp"
#include "websocket/request_head.hpp"

namespace flume::websocket {

namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

}  // namespace

struct WsListener::Connection {
  enum class State { head, closing_after_write, websocket };
  std::uint64_t id = 0;
  int fd = -1;
  std::string peer;
  State state = State::head;
  std::uint64_t accepted_ns = 0;
  RequestHeadParser head;
  std::string raw_out;  // an HTTP response, written before anything of the session
  std::size_t raw_offset = 0;
  std::unique_ptr<WsSession> session;
  bool watching_write = false;

  explicit Connection(std::size_t max_head) : head(max_head) {}
};

WsListener::WsListener(EventLoop &loop, broker::Broker &engine, WsListenerConfig config,
                       std::function<void()> engine_touched)
    : loop_(loop),
      engine_(engine),
      config_(std::move(config)),
      engine_touched_(std::move(engine_touched)) {}

WsListener::~WsListener() {
  *alive_ = false;
  if (tick_timer_.valid()) loop_.remove_timer(tick_timer_);
  while (!connections_.empty())
    close_connection(connections_.begin()->first);
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
  }
}

std::error_code WsListener::open(std::string &message) {
  std::string error;
  auto address = parse_listen_address(config_.listen, error);
  if (!address) {
    message = "cannot listen for WebSocket clients on " + error;
    return std::make_error_code(std::errc::invalid_argument);
  }
  fd_ = ::socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    message = "WebSocket listener: socket: " + last_error().message();
    return last_error();
  }
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address->family() == AF_INET6) {
    const int zero = 0;  // dual stack, as for QUIC
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (::bind(fd_, address->as_sockaddr(), address->length) != 0 || ::listen(fd_, 1024) != 0) {
    const std::error_code ec = last_error();
    message =
        "cannot listen for WebSocket clients on " + address->to_string() + ": " + ec.message();
    ::close(fd_);
    fd_ = -1;
    return ec;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr *>(&bound), &length);
  local_ = SocketAddress::from(reinterpret_cast<sockaddr *>(&bound), length);
  if (const auto ec =
          loop_.watch(fd_, EventLoop::kReadable, [this](std::uint32_t) { on_accept(); })) {
    message = "WebSocket listener: " + ec.message();
    return ec;
  }
  tick_timer_ = loop_.add_timer([this] {
    on_tick();
    loop_.arm_after(tick_timer_, std::chrono::seconds(1));
  });
  loop_.arm_after(tick_timer_, std::chrono::seconds(1));
  return {};
}

void WsListener::on_accept() {
  // Bounded per wake-up so a flood of connections cannot starve the QUIC clients.
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd =
        ::accept4(fd_, reinterpret_cast<sockaddr *>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        FLUME_LOG(log::Level::warn, "websocket", "accept: %s", last_error().message().c_str());
      }
      return;
    }
    if (connections_.size() >= config_.max_connections) {
      ++refused_;
      ::close(fd);  // over the cap: no state at all, as QUIC's CONNECTION_REFUSED
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::uint64_t id = next_id_++;
    auto c = std::make_unique<Connection>(config_.max_head_bytes);
    c->id = id;
    c->fd = fd;
    c->peer = SocketAddress::from(reinterpret_cast<sockaddr *>(&peer), length).to_string();
    c->accepted_ns = EventLoop::now_ns();
    if (loop_.watch(fd, EventLoop::kReadable,
                    [this, id](std::uint32_t events) { on_io(id, events); })) {
      ::close(fd);
      continue;
    }
    connections_.emplace(id, std::move(c));
  }
}

void WsListener::on_io(std::uint64_t id, std::uint32_t events) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection &c = *it->second;
  if ((events & EventLoop::kWritable) != 0 && !drive(c)) return;
  if ((events & (EventLoop::kReadable | EventLoop::kError)) == 0) return;
  std::array<std::uint8_t, 16384> buffer;
  // A few reads per wake-up: level-triggered, so the rest comes on the next iteration.
  for (int round = 0; round < 4; ++round) {
    const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (n <= 0) {
      close_connection(id);
      return;
    }
    std::span<const std::uint8_t> bytes(buffer.data(), static_cast<std::size_t>(n));
    if (c.state == Connection::State::closing_after_write) continue;  // discard
    if (c.state == Connection::State::head) {
      std::size_t consumed = 0;
      const auto status = c.head.feed(bytes, consumed);
      if (status == RequestHeadParser::Status::need_more) continue;
      on_head(c);
      bytes = bytes.subspan(consumed);
    }
    if (c.state == Connection::State::websocket && !bytes.empty()) {
      c.session->on_input(bytes, EventLoop::now_ns());
      engine_touched_();
    }
    if (static_cast<std::size_t>(n) < buffer.size()) break;
  }
  drive(c);
}

void WsListener::on_head(Connection &c) {
  if (c.head.status() == RequestHeadParser::Status::refused) {
    c.raw_out = http_response(c.head.refusal_status(), "text/plain; charset=utf-8",
                              c.head.refusal_reason() + "\n");
    c.state = Connection::State::closing_after_write;
    return;
  }
  const HandshakeDecision d = decide_handshake(c.head.request(), config_.allowed_origins);
  if (d.kind == HandshakeDecision::Kind::refuse) {
    FLUME_LOG(log::Level::info, "websocket", "refused %s: %d %s", c.peer.c_str(), d.status,
              d.reason.c_str());
    c.raw_out = d.response;
    c.state = Connection::State::closing_after_write;
    return;
  }
  if (d.kind == HandshakeDecision::Kind::page) {
    std::string path = c.head.request().target.substr(0, c.head.request().target.find('?'));
    if (path == "/" && !config_.page_html.empty()) {
      c.raw_out = http_response(200, "text/html; charset=utf-8", config_.page_html);
    } else if (path == "/flume.js" && !config_.client_js.empty()) {
      c.raw_out = http_response(200, "text/javascript; charset=utf-8", config_.client_js);
    } else {
      c.raw_out = http_response(404, "text/plain; charset=utf-8", "not found\n");
    }
    c.state = Connection::State::closing_after_write;
    return;
  }
  c.raw_out = d.response;
  c.state = Connection::State::websocket;
  c.session = std::make_unique<WsSession>(engine_, config_.session);
  const std::uint64_t id = c.id;
  std::weak_ptr<bool> alive = alive_;
  c.session->set_on_pending([this, id, alive] {
    if (alive.expired()) return;
    dirty_.push_back(id);
    if (flush_posted_) return;
    flush_posted_ = true;
    loop_.post([this, alive] {
      if (auto a = alive.lock(); a && *a) flush_pending();
    });
  });
  c.session->open(EventLoop::now_ns(), c.peer);
  engine_touched_();
}

bool WsListener::drive(Connection &c) {
  bool blocked = false;
  auto write_some = [&](std::span<const std::uint8_t> bytes) -> std::size_t {
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::send(c.fd, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        blocked = errno == EAGAIN || errno == EWOULDBLOCK;
        if (!blocked) return static_cast<std::size_t>(-1);
        break;
      }
      written += static_cast<std::size_t>(n);
    }
    return written;
  };
  const std::uint64_t id = c.id;
  if (c.raw_offset < c.raw_out.size()) {
    const std::size_t n = write_some(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t *>(c.raw_out.data()) + c.raw_offset,
        c.raw_out.size() - c.raw_offset));
    if (n == static_cast<std::size_t>(-1)) {
      close_connection(id);
      return false;
    }
    c.raw_offset += n;
  }
  const bool raw_done = c.raw_offset == c.raw_out.size();
  if (raw_done && c.state == Connection::State::closing_after_write) {
    close_connection(id);
    return false;
  }
  if (raw_done && c.session) {
    // A few rounds: writing may free room that lets the session frame more.
    for (int round = 0; round < 8 && !blocked; ++round) {
      c.session->flush();
      const auto out = c.session->output();
      if (out.empty()) break;
      const std::size_t n = write_some(out);
      if (n == static_cast<std::size_t>(-1)) {
        close_connection(id);
        return false;
      }
      c.session->consume_output(n);
    }
    engine_touched_();
    if (c.session->done()) {
      close_connection(id);
      return false;
    }
  }
  const bool want_write = blocked;
  if (want_write != c.watching_write) {
    c.watching_write = want_write;
    loop_.modify(c.fd, EventLoop::kReadable | (want_write ? EventLoop::kWritable : 0));
  }
  return true;
}

void WsListener::close_connection(std::uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  std::unique_ptr<Connection> c = std::move(it->second);
  connections_.erase(it);
  loop_.unwatch(c->fd);
  ::close(c->fd);
  if (c->session) c->session->on_transport_gone();
  c.reset();
  engine_touched_();
}

void WsListener::flush_pending() {
  flush_posted_ = false;
  std::vector<std::uint64_t> dirty;
  dirty.swap(dirty_);
  for (std::uint64_t id : dirty) {
    auto it = connections_.find(id);
    if (it != connections_.end()) drive(*it->second);
  }
}

void WsListener::on_tick() {
  const std::uint64_t now = EventLoop::now_ns();
  const auto timeout = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config_.handshake_timeout).count());
  std::vector<std::uint64_t> ids;
  ids.reserve(connections_.size());
  for (const auto &[id, c] : connections_)
    ids.push_back(id);
  for (std::uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    Connection &c = *it->second;
    if (c.state != Connection::State::websocket) {
      if (now - c.accepted_ns > timeout) close_connection(id);
      continue;
    }
    c.session->on_tick(now);
    drive(c);
  }
}

}  // namespace flume::websocket
