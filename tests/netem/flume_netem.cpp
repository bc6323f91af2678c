// flume-netem: a userspace network emulator between Linux network namespaces.
//
// Each test host is a network namespace with one TUN interface (IPv4 only). This process owns the
// TUN file descriptors: it reads every IP packet a host sends, picks the link (source host ->
// destination host, chosen by destination address), applies that link's loss, blocking, rate limit,
// delay and jitter, and writes the packet into the destination host's TUN device at its due time.
// Loss happens here, after the sender's write succeeded, so it is silent to the sender.
//
// It is started by tests/netem/netem.py, which creates the namespaces and the state directory. The
// process also guards the run: when the owner process dies (pidfd), when its parent dies
// (PR_SET_PDEATHSIG, if asked), on SIGTERM/SIGINT/SIGHUP, or when --lifetime runs out, it kills the
// processes left inside the run's namespaces, deletes the namespaces and the state directory, and
// exits. The TUN devices vanish with its file descriptors. With --no-tun it is only that guard (the
// nft and tc modes, where the kernel moves the packets).
//
// Control: a Unix stream socket (--ctl), one command per connection, one reply:
//   ping                         -> ok
//   set SRC DST key=value...     -> ok | error: ...   (SRC/DST a host name or *)
//   stats                        -> one JSON object per link per line
// Keys: delay_ns jitter_ns loss (fraction 0..1) block (0/1) rate_bps (0 = unlimited)
//       queue_bytes (backlog limit when rate-limited) reorder (0/1: may jitter reorder packets).

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr const char *kTunName = "fnm0";
constexpr size_t kMaxPacket = 65536;
constexpr size_t kMaxInFlightBytes = size_t{512} << 20;  // memory bound over all links
constexpr uint64_t kDefaultQueueBytes = 1500 * 1000;     // like netem's 1000-packet limit
constexpr int kReadBurst = 64;                           // packets per fd per wake-up (fairness)

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("flume-netem: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

struct LinkConfig {
  int64_t delay_ns = 0;
  int64_t jitter_ns = 0;
  double loss = 0.0;
  bool blocked = false;
  uint64_t rate_bps = 0;
  uint64_t queue_bytes = kDefaultQueueBytes;
  bool reorder = false;
};

struct LinkStats {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t lost = 0;
  uint64_t blocked = 0;
  uint64_t queue_dropped = 0;
  uint64_t delivered = 0;
  uint64_t delivered_bytes = 0;
  uint64_t write_errors = 0;
  uint64_t late_ns_sum = 0;  // how much later than due packets were written (timer precision)
  uint64_t late_ns_max = 0;
};

struct Link {
  LinkConfig cfg;
  LinkStats st;
  std::mt19937_64 rng;
  int64_t last_due = 0;   // the latest due time handed out (order preservation)
  int64_t next_free = 0;  // when the rate-limited "wire" is free again
};

struct Host {
  std::string name;
  std::string ns_path;
  uint32_t addr = 0;  // host byte order, 0 when the host has no TUN
  int tun_fd = -1;
};

struct Packet {
  int64_t due;
  uint64_t seq;
  size_t link;
  size_t dst;
  std::vector<uint8_t> data;
};

struct Later {
  bool operator()(const Packet &a, const Packet &b) const {
    return a.due != b.due ? a.due > b.due : a.seq > b.seq;
  }
};

struct Options {
  std::string name;
  std::string ctl_path;
  std::string state_dir;
  std::vector<Host> hosts;
  std::vector<std::string> initial_sets;
  pid_t owner = 0;
  pid_t die_with_parent = 0;
  uint64_t seed = 1;
  int mtu = 1500;
  double lifetime_s = 3600;
  int nice = -10;
  bool tun = true;
};

class Emulator {
 public:
  explicit Emulator(Options opts) : opts_(std::move(opts)) {
    size_t n = opts_.hosts.size();
    links_.resize(n * n);
    for (size_t s = 0; s < n; ++s) {
      for (size_t d = 0; d < n; ++d) {
        std::seed_seq seq{static_cast<uint32_t>(opts_.seed),
                          static_cast<uint32_t>(opts_.seed >> 32), static_cast<uint32_t>(s),
                          static_cast<uint32_t>(d)};
        links_[s * n + d].rng.seed(seq);
      }
    }
  }

  int run();
  void teardown();

 private:
  bool setup_tun(Host &h);
  bool setup_ctl();
  bool apply_set(const std::string &line, std::string &err);
  void handle_ctl();
  void read_host(size_t src);
  void deliver_due(int64_t now);
  void arm_timer();
  std::string stats_json() const;
  Link &link(size_t s, size_t d) { return links_[s * opts_.hosts.size() + d]; }
  const Link &link(size_t s, size_t d) const { return links_[s * opts_.hosts.size() + d]; }
  std::optional<size_t> host_by_addr(uint32_t addr) const;

  Options opts_;
  std::vector<Link> links_;
  std::vector<uint8_t> rx_buf_ = std::vector<uint8_t>(kMaxPacket);
  std::priority_queue<Packet, std::vector<Packet>, Later> queue_;
  size_t in_flight_bytes_ = 0;
  uint64_t seq_ = 0;
  uint64_t unroutable_ = 0;
  uint64_t memory_dropped_ = 0;
  int epoll_ = -1;
  int timer_ = -1;
  int ctl_ = -1;
  int sig_ = -1;
  int owner_fd_ = -1;
  int64_t armed_for_ = -1;
};

// Creates the TUN device inside the host's namespace, gives it the host's address and brings it
// and lo up. The calling thread enters the namespace and returns to its own afterwards.
bool Emulator::setup_tun(Host &h) {
  int self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int ns = open(h.ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (self_ns < 0 || ns < 0) {
    log_msg("cannot open namespace %s: %s", h.ns_path.c_str(), std::strerror(errno));
    if (self_ns >= 0) close(self_ns);
    if (ns >= 0) close(ns);
    return false;
  }
  bool ok = false;
  int sock = -1;
  if (setns(ns, CLONE_NEWNET) != 0) {
    log_msg("setns %s: %s", h.ns_path.c_str(), std::strerror(errno));
    close(ns);
    close(self_ns);
    return false;
  }
  do {
    h.tun_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (h.tun_fd < 0) {
      log_msg("open /dev/net/tun: %s", std::strerror(errno));
      break;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", kTunName);
    if (ioctl(h.tun_fd, TUNSETIFF, &ifr) != 0) {
      log_msg("TUNSETIFF in %s: %s", h.ns_path.c_str(), std::strerror(errno));
      break;
    }
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // bound to the host's namespace
    if (sock < 0) break;
    // Best effort: no IPv6 on the emulated link (router solicitations would only be noise).
    if (FILE *f = std::fopen("/proc/sys/net/ipv6/conf/fnm0/disable_ipv6", "w")) {
      std::fputs("1", f);
      std::fclose(f);
    }
    auto *sin = reinterpret_cast<sockaddr_in *>(&ifr.ifr_addr);
    std::memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(h.addr);
    if (ioctl(sock, SIOCSIFADDR, &ifr) != 0) {
      log_msg("SIOCSIFADDR: %s", std::strerror(errno));
      break;
    }
    std::memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0xFFFFFF00u);
    if (ioctl(sock, SIOCSIFNETMASK, &ifr) != 0) {
      log_msg("SIOCSIFNETMASK: %s", std::strerror(errno));
      break;
    }
    std::memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    ifr.ifr_mtu = opts_.mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) != 0) {
      log_msg("SIOCSIFMTU: %s", std::strerror(errno));
      break;
    }
    std::memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    ifr.ifr_qlen = 10000;  // absorb bursts between our reads instead of dropping at the device
    ioctl(sock, SIOCSIFTXQLEN, &ifr);
    std::memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) {
      log_msg("SIOCSIFFLAGS %s: %s", kTunName, std::strerror(errno));
      break;
    }
    ifreq lo{};
    std::snprintf(lo.ifr_name, IFNAMSIZ, "lo");
    lo.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    ioctl(sock, SIOCSIFFLAGS, &lo);
    ok = true;
  } while (false);
  if (sock >= 0) close(sock);
  if (setns(self_ns, CLONE_NEWNET) != 0) {
    log_msg("cannot return to own namespace: %s", std::strerror(errno));
    ok = false;
  }
  close(self_ns);
  close(ns);
  return ok;
}

bool Emulator::setup_ctl() {
  if (opts_.ctl_path.empty()) return true;
  ctl_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (opts_.ctl_path.size() >= sizeof sun.sun_path) {
    log_msg("control socket path too long");
    return false;
  }
  std::memcpy(sun.sun_path, opts_.ctl_path.c_str(), opts_.ctl_path.size() + 1);
  unlink(opts_.ctl_path.c_str());
  if (ctl_ < 0 || bind(ctl_, reinterpret_cast<sockaddr *>(&sun), sizeof sun) != 0 ||
      listen(ctl_, 16) != 0) {
    log_msg("control socket %s: %s", opts_.ctl_path.c_str(), std::strerror(errno));
    return false;
  }
  chmod(opts_.ctl_path.c_str(), 0600);
  return true;
}

std::optional<size_t> Emulator::host_by_addr(uint32_t addr) const {
  // Hosts are 10.77.0.1, .2, ... in order, but look them up rather than assume.
  for (size_t i = 0; i < opts_.hosts.size(); ++i) {
    if (opts_.hosts[i].addr == addr) return i;
  }
  return std::nullopt;
}

bool parse_i64(const std::string &s, int64_t &out) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < 0) return false;
  out = v;
  return true;
}

std::vector<std::string> split_ws(const std::string &line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r')) {
      ++i;
    }
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\n' &&
           line[j] != '\r') {
      ++j;
    }
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// "set SRC DST key=value..." (the leading "set" is optional for --set on the command line).
bool Emulator::apply_set(const std::string &line, std::string &err) {
  std::vector<std::string> w = split_ws(line);
  if (!w.empty() && w[0] == "set") w.erase(w.begin());
  if (w.size() < 2) {
    err = "usage: set SRC DST key=value...";
    return false;
  }
  std::vector<size_t> srcs, dsts;
  for (size_t i = 0; i < opts_.hosts.size(); ++i) {
    if (w[0] == "*" || w[0] == opts_.hosts[i].name) srcs.push_back(i);
    if (w[1] == "*" || w[1] == opts_.hosts[i].name) dsts.push_back(i);
  }
  if (srcs.empty() || dsts.empty()) {
    err = "unknown host in '" + w[0] + " " + w[1] + "'";
    return false;
  }
  // Parse everything first so a bad key changes nothing.
  std::vector<std::pair<std::string, std::string>> kv;
  for (size_t i = 2; i < w.size(); ++i) {
    size_t eq = w[i].find('=');
    if (eq == std::string::npos) {
      err = "expected key=value, got '" + w[i] + "'";
      return false;
    }
    kv.emplace_back(w[i].substr(0, eq), w[i].substr(eq + 1));
  }
  for (auto &[k, v] : kv) {
    int64_t iv = 0;
    if (k == "delay_ns" || k == "jitter_ns" || k == "rate_bps" || k == "queue_bytes" ||
        k == "block" || k == "reorder") {
      if (!parse_i64(v, iv)) {
        err = "bad value for " + k + ": '" + v + "'";
        return false;
      }
    } else if (k == "loss") {
      char *end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
        err = "loss must be a fraction in [0, 1], got '" + v + "'";
        return false;
      }
    } else {
      err = "unknown key '" + k + "'";
      return false;
    }
  }
  for (size_t s : srcs) {
    for (size_t d : dsts) {
      if (s == d) continue;
      LinkConfig &c = link(s, d).cfg;
      for (auto &[k, v] : kv) {
        int64_t iv = 0;
        if (k == "loss") {
          c.loss = std::strtod(v.c_str(), nullptr);
          continue;
        }
        parse_i64(v, iv);
        if (k == "delay_ns") c.delay_ns = iv;
        if (k == "jitter_ns") c.jitter_ns = iv;
        if (k == "rate_bps") c.rate_bps = static_cast<uint64_t>(iv);
        if (k == "queue_bytes") c.queue_bytes = static_cast<uint64_t>(iv);
        if (k == "block") c.blocked = iv != 0;
        if (k == "reorder") c.reorder = iv != 0;
      }
    }
  }
  return true;
}

std::string Emulator::stats_json() const {
  std::string out;
  char buf[768];
  size_t n = opts_.hosts.size();
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) {
      if (s == d) continue;
      const Link &l = link(s, d);
      std::snprintf(buf, sizeof buf,
                    "{\"src\":\"%s\",\"dst\":\"%s\",\"delay_ns\":%" PRId64 ",\"jitter_ns\":%" PRId64
                    ",\"loss\":%.9g,\"block\":%d,\"rate_bps\":%" PRIu64 ",\"queue_bytes\":%" PRIu64
                    ",\"reorder\":%d,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
                    ",\"lost\":%" PRIu64 ",\"blocked\":%" PRIu64 ",\"queue_dropped\":%" PRIu64
                    ",\"delivered\":%" PRIu64 ",\"delivered_bytes\":%" PRIu64
                    ",\"write_errors\":%" PRIu64 ",\"late_ns_sum\":%" PRIu64
                    ",\"late_ns_max\":%" PRIu64 "}\n",
                    opts_.hosts[s].name.c_str(), opts_.hosts[d].name.c_str(), l.cfg.delay_ns,
                    l.cfg.jitter_ns, l.cfg.loss, l.cfg.blocked ? 1 : 0, l.cfg.rate_bps,
                    l.cfg.queue_bytes, l.cfg.reorder ? 1 : 0, l.st.rx_packets, l.st.rx_bytes,
                    l.st.lost, l.st.blocked, l.st.queue_dropped, l.st.delivered,
                    l.st.delivered_bytes, l.st.write_errors, l.st.late_ns_sum, l.st.late_ns_max);
      out += buf;
    }
  }
  std::snprintf(buf, sizeof buf,
                "{\"unroutable\":%" PRIu64 ",\"memory_dropped\":%" PRIu64
                ",\"queued_packets\":%zu}\n",
                unroutable_, memory_dropped_, queue_.size());
  out += buf;
  return out;
}

// One command per connection. The client has already written its line when it connects, so the
// reads are bounded by short timeouts and never stall the packet loop for long.
void Emulator::handle_ctl() {
  for (int accepted = 0; accepted < 16; ++accepted) {
    int c = accept4(ctl_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    timeval tv{0, 200000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string line;
    char buf[1024];
    for (int i = 0; i < 8 && line.size() < 8192 && line.find('\n') == std::string::npos; ++i) {
      ssize_t r = read(c, buf, sizeof buf);
      if (r <= 0) break;
      line.append(buf, static_cast<size_t>(r));
    }
    std::string reply;
    std::vector<std::string> w = split_ws(line);
    if (w.empty()) {
      reply = "error: empty command\n";
    } else if (w[0] == "ping") {
      reply = "ok\n";
    } else if (w[0] == "stats") {
      reply = stats_json();
    } else if (w[0] == "set") {
      std::string err;
      reply = apply_set(line, err) ? "ok\n" : "error: " + err + "\n";
    } else {
      reply = "error: unknown command '" + w[0] + "'\n";
    }
    size_t off = 0;
    for (int i = 0; i < 64 && off < reply.size(); ++i) {
      ssize_t r = write(c, reply.data() + off, reply.size() - off);
      if (r <= 0) break;
      off += static_cast<size_t>(r);
    }
    close(c);
  }
}

void Emulator::read_host(size_t src) {
  Host &h = opts_.hosts[src];
  for (int i = 0; i < kReadBurst; ++i) {
    ssize_t r = read(h.tun_fd, rx_buf_.data(), rx_buf_.size());
    if (r <= 0) return;
    std::vector<uint8_t> buf(rx_buf_.begin(), rx_buf_.begin() + r);
    int64_t now = now_ns();
    if (buf.size() < 20 || (buf[0] >> 4) != 4) {
      ++unroutable_;  // IPv4 only
      continue;
    }
    uint32_t dst_addr = (uint32_t{buf[16]} << 24) | (uint32_t{buf[17]} << 16) |
                        (uint32_t{buf[18]} << 8) | uint32_t{buf[19]};
    std::optional<size_t> dst = host_by_addr(dst_addr);
    if (!dst || *dst == src) {
      ++unroutable_;
      continue;
    }
    size_t li = src * opts_.hosts.size() + *dst;
    Link &l = links_[li];
    l.st.rx_packets++;
    l.st.rx_bytes += buf.size();
    if (l.cfg.blocked) {
      l.st.blocked++;
      continue;
    }
    if (l.cfg.loss > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(l.rng) < l.cfg.loss) {
      l.st.lost++;
      continue;
    }
    int64_t sent = now;  // when the last bit leaves the sender (rate limit), else now
    if (l.cfg.rate_bps > 0) {
      int64_t start = std::max(now, l.next_free);
      double backlog_bytes =
          static_cast<double>(start - now) * 1e-9 * static_cast<double>(l.cfg.rate_bps) / 8.0;
      if (backlog_bytes + static_cast<double>(buf.size()) >
          static_cast<double>(l.cfg.queue_bytes)) {
        l.st.queue_dropped++;
        continue;
      }
      int64_t tx = static_cast<int64_t>(static_cast<double>(buf.size()) * 8e9 /
                                        static_cast<double>(l.cfg.rate_bps));
      l.next_free = start + tx;
      sent = l.next_free;
    }
    int64_t d = l.cfg.delay_ns;
    if (l.cfg.jitter_ns > 0) {
      d += std::uniform_int_distribution<int64_t>(-l.cfg.jitter_ns, l.cfg.jitter_ns)(l.rng);
    }
    int64_t due = sent + std::max<int64_t>(d, 0);
    if (!l.cfg.reorder) due = std::max(due, l.last_due);
    l.last_due = std::max(l.last_due, due);
    if (in_flight_bytes_ + buf.size() > kMaxInFlightBytes) {
      ++memory_dropped_;
      continue;
    }
    in_flight_bytes_ += buf.size();
    queue_.push(Packet{due, seq_++, li, *dst, std::move(buf)});
  }
}

void Emulator::deliver_due(int64_t now) {
  while (!queue_.empty() && queue_.top().due <= now) {
    const Packet &p = queue_.top();
    Link &l = links_[p.link];
    ssize_t w = write(opts_.hosts[p.dst].tun_fd, p.data.data(), p.data.size());
    if (w == static_cast<ssize_t>(p.data.size())) {
      auto late = static_cast<uint64_t>(now_ns() - p.due);
      l.st.late_ns_sum += late;
      l.st.late_ns_max = std::max(l.st.late_ns_max, late);
      l.st.delivered++;
      l.st.delivered_bytes += p.data.size();
    } else {
      l.st.write_errors++;
    }
    in_flight_bytes_ -= p.data.size();
    queue_.pop();
  }
}

void Emulator::arm_timer() {
  int64_t want = queue_.empty() ? 0 : queue_.top().due;
  if (want == armed_for_) return;
  itimerspec its{};
  if (want > 0) {
    its.it_value.tv_sec = want / 1000000000;
    its.it_value.tv_nsec = want % 1000000000;
  }
  timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);  // zero disarms
  armed_for_ = want;
}

// Kills what is left inside one namespace (by namespace identity, never by name), then deletes it.
void destroy_namespace(const std::string &ns_path) {
  struct stat nst {};
  if (stat(ns_path.c_str(), &nst) != 0) return;
  for (int round = 0; round < 2; ++round) {
    std::vector<pid_t> pids;
    if (DIR *d = opendir("/proc")) {
      while (dirent *e = readdir(d)) {
        char *end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 1 || pid == getpid()) continue;
        std::string p = std::string("/proc/") + e->d_name + "/ns/net";
        struct stat pst {};
        if (stat(p.c_str(), &pst) == 0 && pst.st_dev == nst.st_dev && pst.st_ino == nst.st_ino) {
          pids.push_back(static_cast<pid_t>(pid));
        }
      }
      closedir(d);
    }
    if (pids.empty()) break;
    for (pid_t p : pids)
      kill(p, round == 0 ? SIGTERM : SIGKILL);
    // Up to 1 s for them to go before the second round uses SIGKILL.
    for (int i = 0; i < 20; ++i) {
      bool any = false;
      for (pid_t p : pids)
        any = any || kill(p, 0) == 0;
      if (!any) break;
      usleep(50000);
    }
  }
  umount2(ns_path.c_str(), MNT_DETACH);
  unlink(ns_path.c_str());
}

void Emulator::teardown() {
  for (Host &h : opts_.hosts) {
    if (h.tun_fd >= 0) close(h.tun_fd);
    h.tun_fd = -1;
  }
  for (const Host &h : opts_.hosts)
    destroy_namespace(h.ns_path);
  if (!opts_.ctl_path.empty()) unlink(opts_.ctl_path.c_str());
  if (!opts_.state_dir.empty()) {
    for (const char *f : {"state.json", "emulator.log"}) {
      unlink((opts_.state_dir + "/" + f).c_str());
    }
    rmdir(opts_.state_dir.c_str());
  }
}

int Emulator::run() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // timer wake-ups as precise as the kernel allows
  // Best effort: on a busy machine a higher CFS weight keeps due packets from waiting for a CPU.
  // The process sleeps between packets, so this costs others nothing while it is idle.
  if (opts_.nice != 0) setpriority(PRIO_PROCESS, 0, opts_.nice);
  if (opts_.die_with_parent > 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0UL, 0UL, 0UL);
    if (getppid() != opts_.die_with_parent) {
      log_msg("parent already gone");
      teardown();
      return 1;
    }
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sig_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  if (opts_.owner > 0) {
    owner_fd_ = static_cast<int>(syscall(SYS_pidfd_open, opts_.owner, 0));
    if (owner_fd_ < 0 && errno == ESRCH) {
      log_msg("owner %d is already gone", static_cast<int>(opts_.owner));
      teardown();
      return 1;
    }
  }
  bool ok = sig_ >= 0 && setup_ctl();
  for (size_t i = 0; ok && opts_.tun && i < opts_.hosts.size(); ++i)
    ok = setup_tun(opts_.hosts[i]);
  for (size_t i = 0; ok && i < opts_.initial_sets.size(); ++i) {
    std::string err;
    if (!apply_set(opts_.initial_sets[i], err)) {
      log_msg("--set '%s': %s", opts_.initial_sets[i].c_str(), err.c_str());
      ok = false;
    }
  }
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (!ok || epoll_ < 0 || timer_ < 0) {
    teardown();
    return 1;
  }
  // Tags: 0..n-1 hosts, then timer, ctl, signals, owner.
  const uint64_t n = opts_.hosts.size();
  auto add = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  };
  for (uint64_t i = 0; i < n; ++i) {
    if (opts_.hosts[i].tun_fd >= 0) add(opts_.hosts[i].tun_fd, i);
  }
  add(timer_, n);
  if (ctl_ >= 0) add(ctl_, n + 1);
  add(sig_, n + 2);
  if (owner_fd_ >= 0) add(owner_fd_, n + 3);

  std::printf("ready %d\n", static_cast<int>(getpid()));
  std::fflush(stdout);

  const int64_t deadline = now_ns() + static_cast<int64_t>(opts_.lifetime_s * 1e9);
  const char *why = "lifetime over";
  for (;;) {
    int64_t now = now_ns();
    if (now >= deadline) break;
    // Without a pidfd (kernels before 5.3) the owner is polled every 250 ms.
    int64_t wait_ms = std::min<int64_t>((deadline - now) / 1000000 + 1, 250);
    if (owner_fd_ >= 0) wait_ms = std::min<int64_t>((deadline - now) / 1000000 + 1, 60000);
    epoll_event evs[32];
    int k = epoll_wait(epoll_, evs, 32, static_cast<int>(wait_ms));
    if (k < 0 && errno != EINTR) {
      why = "epoll failed";
      break;
    }
    bool stop = false;
    for (int i = 0; i < k; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag < n) {
        read_host(static_cast<size_t>(tag));
      } else if (tag == n) {
        uint64_t expirations = 0;
        ssize_t r = read(timer_, &expirations, sizeof expirations);
        (void)r;
        armed_for_ = -1;
      } else if (tag == n + 1) {
        handle_ctl();
      } else if (tag == n + 2) {
        why = "signal";
        stop = true;
      } else {
        why = "owner exited";
        stop = true;
      }
    }
    if (opts_.owner > 0 && owner_fd_ < 0 && kill(opts_.owner, 0) != 0 && errno == ESRCH) {
      why = "owner exited";
      stop = true;
    }
    if (stop) break;
    deliver_due(now_ns());
    arm_timer();
  }
  log_msg("run %s: %s, tearing down", opts_.name.c_str(), why);
  teardown();
  return 0;
}

[[noreturn]] void usage(const char *msg) {
  std::fprintf(
      stderr,
      "flume-netem: %s\n"
      "usage: flume-netem --name RUN --host NAME,NSPATH[,IPV4]... [--set 'SRC DST k=v...']...\n"
      "       [--ctl SOCKET] [--state-dir DIR] [--owner PID] [--die-with-parent PPID]\n"
      "       [--seed N] [--mtu N] [--lifetime SECONDS] [--nice N (default -10)] [--no-tun]\n"
      "Normally started by tests/netem/netem.py (see tests/netem/README.md).\n",
      msg);
  std::exit(2);
}

Options parse_args(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--name") {
      o.name = val();
    } else if (a == "--host") {
      std::string v = val();
      Host h;
      size_t c1 = v.find(',');
      if (c1 == std::string::npos) usage("--host wants NAME,NSPATH[,IPV4]");
      h.name = v.substr(0, c1);
      size_t c2 = v.find(',', c1 + 1);
      h.ns_path = v.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
      if (c2 != std::string::npos) {
        in_addr ia{};
        if (inet_pton(AF_INET, v.substr(c2 + 1).c_str(), &ia) != 1) usage("bad IPv4 in --host");
        h.addr = ntohl(ia.s_addr);
      }
      o.hosts.push_back(h);
    } else if (a == "--set") {
      o.initial_sets.push_back(val());
    } else if (a == "--ctl") {
      o.ctl_path = val();
    } else if (a == "--state-dir") {
      o.state_dir = val();
    } else if (a == "--owner") {
      o.owner = static_cast<pid_t>(std::atoi(val().c_str()));
    } else if (a == "--die-with-parent") {
      o.die_with_parent = static_cast<pid_t>(std::atoi(val().c_str()));
    } else if (a == "--seed") {
      o.seed = std::strtoull(val().c_str(), nullptr, 10);
    } else if (a == "--mtu") {
      o.mtu = std::atoi(val().c_str());
    } else if (a == "--lifetime") {
      o.lifetime_s = std::strtod(val().c_str(), nullptr);
    } else if (a == "--nice") {
      o.nice = std::atoi(val().c_str());
    } else if (a == "--no-tun") {
      o.tun = false;
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.hosts.empty()) usage("no --host given");
  if (o.tun) {
    for (const Host &h : o.hosts) {
      if (h.addr == 0) usage("every --host needs an IPv4 address unless --no-tun");
    }
  }
  if (o.lifetime_s <= 0) usage("--lifetime must be positive");
  return o;
}

}  // namespace

int main(int argc, char **argv) {
  Emulator emu(parse_args(argc, argv));
  return emu.run();
}
