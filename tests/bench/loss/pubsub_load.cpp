// flume-bench-pubsub-load: one load generator for Flume, NATS and Redis pub/sub, so that every
// system is driven the same way (same threads, same pacing, same timestamps, same statistics).
//
// One process holds the publisher and every subscriber, each on its own connection, so send and
// receive times come from the same CLOCK_MONOTONIC. The payload starts with the send time (ns),
// a sequence number and a topic index; the rest is filler up to --size.
//
// Clients: Flume through the C++ client (core/runtime/client.hpp), NATS through libnats (cnats),
// Redis through hiredis (PUBLISH pipelined from one connection, SUBSCRIBE on the others).
//
// Modes (--mode): rate (paced at --rate msg/s for --duration s, round-robin over --topics) and
// throughput (as fast as possible, with at most --window messages sent but not yet received by
// the slowest subscriber). --slow N makes N subscribers read at --rate/10 (they sleep in the
// receive path, so the socket backs up as with a real slow reader).
//
// Output: one JSON object on stdout (per-subscriber counts and latency percentiles in µs; raw
// latencies with --raw), and a timer-lag probe (how late a 1 ms sleep wakes up) for the run.
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/client.hpp"

namespace {

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void sleep_until_ns(std::uint64_t t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t / 1000000000ULL);
  ts.tv_nsec = static_cast<long>(t % 1000000000ULL);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

struct Options {
  std::string system;  // flume, nats, redis
  std::string host = "127.0.0.1";
  int port = 0;
  std::string pin;  // flume: broker certificate fingerprint
  std::string mode = "rate";
  double rate = 100;
  double duration = 5;
  double drain = 3;
  std::size_t size = 128;
  int subscribers = 1;
  int slow = 0;
  int topics = 1;
  std::size_t window = 2000;
  bool raw = false;
  std::string prefix = "bench";
};

constexpr std::size_t kHeader = 16;       // send_ns (8), seq (8): the smallest message
constexpr std::size_t kTopicHeader = 20;  // then the topic index (4), when there is room

struct Sub {
  int index = 0;
  bool slow = false;
  std::uint64_t slow_gap_ns = 0;
  std::atomic<std::uint64_t> received{0};
  std::vector<std::uint32_t> lat_us;  // written by this subscriber's receive thread only
  std::vector<std::vector<std::uint32_t>> per_topic;
  std::uint64_t out_of_order = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t dropped = 0;
  std::atomic<bool> disconnected{false};
  std::string error;
  // client handles
  std::unique_ptr<flume::Client> flume;
  std::shared_ptr<flume::Subscription> flume_sub;
  std::vector<std::shared_ptr<flume::Subscription>> flume_sub_extra;
  natsConnection *nc = nullptr;
  std::vector<natsSubscription *> nsubs;
  redisContext *redis = nullptr;
  std::thread thread;
};

std::atomic<bool> g_stop{false};
Options g_opt;

void on_message(Sub &s, const std::uint8_t *data, std::size_t len) {
  const std::uint64_t t = now_ns();
  if (len < kHeader) return;
  std::uint64_t sent = 0, seq = 0;
  std::uint32_t topic = 0;
  std::memcpy(&sent, data, 8);
  std::memcpy(&seq, data + 8, 8);
  if (len >= kTopicHeader) std::memcpy(&topic, data + 16, 4);
  const std::uint64_t lat = t > sent ? (t - sent) / 1000 : 0;
  const auto us = static_cast<std::uint32_t>(std::min<std::uint64_t>(lat, UINT32_MAX));
  s.lat_us.push_back(us);
  if (topic < s.per_topic.size()) s.per_topic[topic].push_back(us);
  if (seq < s.last_seq) ++s.out_of_order;
  s.last_seq = seq;
  s.received.fetch_add(1, std::memory_order_release);
  if (s.slow && !g_stop.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(s.slow_gap_ns));
  }
}

std::string topic_name(int i) {
  return g_opt.prefix + ".t" + std::to_string(i);
}

// ---- Flume -------------------------------------------------------------------------------------

std::string flume_url() {
  return g_opt.host + ":" + std::to_string(g_opt.port);
}

flume::ClientConfig flume_config() {
  flume::ClientConfig c;
  c.client_name = "bench-load";
  c.pin_sha256 = g_opt.pin;
  c.insecure = g_opt.pin.empty();
  c.reconnect = false;
  return c;
}

bool flume_sub_start(Sub &s) {
  flume::ClientResult r;
  s.flume = flume::Client::connect(flume_url(), flume_config(), r);
  if (!s.flume) {
    s.error = r.message;
    return false;
  }
  for (int t = 0; t < g_opt.topics; ++t) {
    flume::SubscribeOptions so;
    // Throughput keeps --window messages in flight; the broker's default queue (1024) would drop
    // some. Ask for NATS's default pending limit instead (65536 messages), the broker's maximum.
    if (g_opt.mode == "throughput") so.queue_limit = 65536;
    Sub *sp = &s;
    auto sub = s.flume->subscribe(
        topic_name(t), so,
        [sp](const flume::MessageView &m) { on_message(*sp, m.payload.data(), m.payload.size()); },
        r);
    if (!sub) {
      s.error = r.message;
      return false;
    }
    if (t == 0)
      s.flume_sub = sub;
    else
      s.flume_sub_extra.push_back(sub);
  }
  return s.flume->flush(std::chrono::milliseconds(5000)).ok();
}

// ---- NATS --------------------------------------------------------------------------------------

std::string nats_url() {
  return "nats://" + g_opt.host + ":" + std::to_string(g_opt.port);
}

void nats_cb(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
  auto *s = static_cast<Sub *>(closure);
  on_message(*s, reinterpret_cast<const std::uint8_t *>(natsMsg_GetData(msg)),
             static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
}

natsConnection *nats_connect(std::string &error) {
  natsOptions *o = nullptr;
  natsConnection *nc = nullptr;
  natsOptions_Create(&o);
  natsOptions_SetURL(o, nats_url().c_str());
  natsOptions_SetAllowReconnect(o, false);
  natsOptions_SetTimeout(o, 5000);
  // libnats buffers a publish for its flusher thread (about 1 ms later); a latency run sends each
  // message at once, as the Flume and Redis publishers do. Throughput runs keep the batching.
  if (g_opt.mode == "rate") natsOptions_SetSendAsap(o, true);
  const natsStatus st = natsConnection_Connect(&nc, o);
  natsOptions_Destroy(o);
  if (st != NATS_OK) {
    error = natsStatus_GetText(st);
    return nullptr;
  }
  return nc;
}

bool nats_sub_start(Sub &s) {
  s.nc = nats_connect(s.error);
  if (!s.nc) return false;
  for (int t = 0; t < g_opt.topics; ++t) {
    natsSubscription *sub = nullptr;
    if (natsConnection_Subscribe(&sub, s.nc, topic_name(t).c_str(), nats_cb, &s) != NATS_OK) {
      s.error = "subscribe failed";
      return false;
    }
    s.nsubs.push_back(sub);
  }
  return natsConnection_FlushTimeout(s.nc, 5000) == NATS_OK;
}

// ---- Redis -------------------------------------------------------------------------------------

redisContext *redis_connect(std::string &error) {
  timeval tv{5, 0};
  redisContext *c = redisConnectWithTimeout(g_opt.host.c_str(), g_opt.port, tv);
  if (!c || c->err) {
    error = c ? c->errstr : "redis: no memory";
    if (c) redisFree(c);
    return nullptr;
  }
  return c;
}

// Handles one reply from a subscriber connection (a message, or a subscribe confirmation).
void redis_reply(Sub &s, redisReply *r) {
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
      r->element[0]->type == REDIS_REPLY_STRING &&
      std::strcmp(r->element[0]->str, "message") == 0) {
    on_message(s, reinterpret_cast<const std::uint8_t *>(r->element[2]->str), r->element[2]->len);
  }
  freeReplyObject(r);
}

void redis_sub_loop(Sub &s) {
  const std::uint64_t limit =
      now_ns() + static_cast<std::uint64_t>((g_opt.duration + g_opt.drain + 60) * 1e9);
  while (!g_stop.load() && now_ns() < limit) {
    void *reply = nullptr;
    if (redisGetReplyFromReader(s.redis, &reply) != REDIS_OK) {
      s.disconnected = true;
      s.error = s.redis->errstr;
      return;
    }
    if (reply) {
      redis_reply(s, static_cast<redisReply *>(reply));
      continue;
    }
    pollfd p{s.redis->fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (redisBufferRead(s.redis) != REDIS_OK) {
      s.disconnected = true;
      s.error = s.redis->errstr;
      return;
    }
  }
}

bool redis_sub_start(Sub &s) {
  s.redis = redis_connect(s.error);
  if (!s.redis) return false;
  for (int t = 0; t < g_opt.topics; ++t) {
    const std::string name = topic_name(t);
    const char *argv[2] = {"SUBSCRIBE", name.c_str()};
    const std::size_t lens[2] = {9, name.size()};
    redisAppendCommandArgv(s.redis, 2, argv, lens);
  }
  for (int t = 0; t < g_opt.topics; ++t) {
    void *reply = nullptr;
    if (redisGetReply(s.redis, &reply) != REDIS_OK) {
      s.error = s.redis->errstr;
      return false;
    }
    freeReplyObject(reply);
  }
  Sub *sp = &s;
  s.thread = std::thread([sp] { redis_sub_loop(*sp); });
  return true;
}

// ---- Publisher ---------------------------------------------------------------------------------

class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual bool publish(const std::string &topic, const std::vector<std::uint8_t> &payload) = 0;
  virtual void poll_replies() {}
  virtual void finish() {}
  std::string error;
};

class FlumePub : public Publisher {
 public:
  bool start() {
    flume::ClientResult r;
    client_ = flume::Client::connect(flume_url(), flume_config(), r);
    if (!client_) error = r.message;
    return client_ != nullptr;
  }
  bool publish(const std::string &topic, const std::vector<std::uint8_t> &p) override {
    auto r = client_->publish(topic, p);
    if (!r.ok()) error = r.message;
    return r.ok();
  }
  void finish() override { client_->flush(std::chrono::milliseconds(5000)); }

 private:
  std::unique_ptr<flume::Client> client_;
};

class NatsPub : public Publisher {
 public:
  ~NatsPub() override {
    if (nc_) natsConnection_Destroy(nc_);
  }
  bool start() {
    nc_ = nats_connect(error);
    return nc_ != nullptr;
  }
  bool publish(const std::string &topic, const std::vector<std::uint8_t> &p) override {
    const natsStatus st =
        natsConnection_Publish(nc_, topic.c_str(), p.data(), static_cast<int>(p.size()));
    if (st != NATS_OK) error = natsStatus_GetText(st);
    return st == NATS_OK;
  }
  void finish() override { natsConnection_FlushTimeout(nc_, 5000); }

 private:
  natsConnection *nc_ = nullptr;
};

// PUBLISH is a request with a reply: commands are written at once (pipelined) and the replies
// read whenever the socket has some, so the publisher never waits a round trip per message.
class RedisPub : public Publisher {
 public:
  ~RedisPub() override {
    if (c_) redisFree(c_);
  }
  bool start() {
    c_ = redis_connect(error);
    return c_ != nullptr;
  }
  bool publish(const std::string &topic, const std::vector<std::uint8_t> &p) override {
    const char *argv[3] = {"PUBLISH", topic.c_str(), reinterpret_cast<const char *>(p.data())};
    const std::size_t lens[3] = {7, topic.size(), p.size()};
    if (redisAppendCommandArgv(c_, 3, argv, lens) != REDIS_OK) return fail();
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c_, &done) != REDIS_OK) return fail();
    }
    ++outstanding_;
    poll_replies();
    return true;
  }
  void poll_replies() override {
    while (outstanding_ > 0) {
      void *reply = nullptr;
      if (redisGetReplyFromReader(c_, &reply) != REDIS_OK) return;
      if (reply) {
        freeReplyObject(reply);
        --outstanding_;
        continue;
      }
      pollfd p{c_->fd, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0 || redisBufferRead(c_) != REDIS_OK) return;
    }
  }
  void finish() override {
    const std::uint64_t limit = now_ns() + 5000000000ULL;
    while (outstanding_ > 0 && now_ns() < limit) {
      poll_replies();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  bool fail() {
    error = c_->errstr;
    return false;
  }
  redisContext *c_ = nullptr;
  std::uint64_t outstanding_ = 0;
};

// ---- Timer-lag probe ---------------------------------------------------------------------------

struct LagProbe {
  std::vector<std::uint32_t> lag_us;
  std::thread thread;
  void start() {
    thread = std::thread([this] {
      const std::uint64_t limit = now_ns() + static_cast<std::uint64_t>(3600e9);
      while (!stop.load() && now_ns() < limit) {
        const std::uint64_t due = now_ns() + 1000000;
        sleep_until_ns(due);
        const std::uint64_t t = now_ns();
        lag_us.push_back(static_cast<std::uint32_t>((t - due) / 1000));
      }
    });
  }
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  std::atomic<bool> stop{false};
};

// ---- Statistics and output ---------------------------------------------------------------------

double pct(std::vector<std::uint32_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = std::min(lo + 1, v.size() - 1);
  const double f = rank - static_cast<double>(lo);
  return static_cast<double>(v[lo]) * (1 - f) + static_cast<double>(v[hi]) * f;
}

std::string pcts_json(const std::vector<std::uint32_t> &v) {
  std::vector<std::uint32_t> s = v;
  std::sort(s.begin(), s.end());
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"n\":%zu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}",
                s.size(), pct(s, 50), pct(s, 90), pct(s, 99), pct(s, 99.9),
                s.empty() ? -1.0 : static_cast<double>(s.back()));
  return buf;
}

std::string array_json(const std::vector<std::uint32_t> &v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "]";
}

[[noreturn]] void usage(const char *msg) {
  std::fprintf(stderr,
               "pubsub_load: %s\nusage: pubsub_load --system flume|nats|redis --host H --port P "
               "[--pin FP] [--mode rate|throughput] [--rate N] [--duration S] [--drain S] "
               "[--size B] [--subscribers N] [--slow N] [--topics N] [--window N] [--raw]\n",
               msg);
  std::exit(2);
}

void parse(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--system")
      g_opt.system = val();
    else if (a == "--host")
      g_opt.host = val();
    else if (a == "--port")
      g_opt.port = std::atoi(val().c_str());
    else if (a == "--pin")
      g_opt.pin = val();
    else if (a == "--mode")
      g_opt.mode = val();
    else if (a == "--rate")
      g_opt.rate = std::atof(val().c_str());
    else if (a == "--duration")
      g_opt.duration = std::atof(val().c_str());
    else if (a == "--drain")
      g_opt.drain = std::atof(val().c_str());
    else if (a == "--size")
      g_opt.size = static_cast<std::size_t>(std::atol(val().c_str()));
    else if (a == "--subscribers")
      g_opt.subscribers = std::atoi(val().c_str());
    else if (a == "--slow")
      g_opt.slow = std::atoi(val().c_str());
    else if (a == "--topics")
      g_opt.topics = std::atoi(val().c_str());
    else if (a == "--window")
      g_opt.window = static_cast<std::size_t>(std::atol(val().c_str()));
    else if (a == "--prefix")
      g_opt.prefix = val();
    else if (a == "--raw")
      g_opt.raw = true;
    else
      usage(("unknown option " + a).c_str());
  }
  if (g_opt.system != "flume" && g_opt.system != "nats" && g_opt.system != "redis")
    usage("--system must be flume, nats or redis");
  if (g_opt.port <= 0 || g_opt.subscribers < 1 || g_opt.subscribers > 1000 || g_opt.topics < 1 ||
      g_opt.topics > 1000 || g_opt.slow < 0 || g_opt.slow > g_opt.subscribers || g_opt.rate <= 0 ||
      g_opt.duration <= 0 || g_opt.duration > 3600 || g_opt.drain < 0 || g_opt.drain > 600 ||
      g_opt.size < kHeader || g_opt.size > (1u << 20) || g_opt.window < 1)
    usage("bad option value");
  if (g_opt.topics > 1 && g_opt.size < kTopicHeader)
    usage("--topics above 1 needs --size 20 or more (the topic index rides in the payload)");
  if (g_opt.mode != "rate" && g_opt.mode != "throughput")
    usage("--mode must be rate or throughput");
}

}  // namespace

int main(int argc, char **argv) {
  parse(argc, argv);
  const Options &o = g_opt;

  std::vector<std::unique_ptr<Sub>> subs;
  for (int i = 0; i < o.subscribers; ++i) {
    auto s = std::make_unique<Sub>();
    s->index = i;
    s->slow = i < o.slow;
    s->slow_gap_ns = static_cast<std::uint64_t>(1e9 / (o.rate / 10.0));
    s->per_topic.resize(static_cast<std::size_t>(o.topics));
    s->lat_us.reserve(static_cast<std::size_t>(std::min(o.rate * o.duration + 16, 4e6)));
    subs.push_back(std::move(s));
  }
  std::unique_ptr<Publisher> pub;
  bool ok = true;
  std::string error;
  if (o.system == "flume") {
    auto p = std::make_unique<FlumePub>();
    ok = p->start();
    pub = std::move(p);
  } else if (o.system == "nats") {
    auto p = std::make_unique<NatsPub>();
    ok = p->start();
    pub = std::move(p);
  } else {
    auto p = std::make_unique<RedisPub>();
    ok = p->start();
    pub = std::move(p);
  }
  if (!ok) error = "publisher: " + pub->error;
  for (auto &s : subs) {
    if (!ok) break;
    if (o.system == "flume")
      ok = flume_sub_start(*s);
    else if (o.system == "nats")
      ok = nats_sub_start(*s);
    else
      ok = redis_sub_start(*s);
    if (!ok) error = "subscriber " + std::to_string(s->index) + ": " + s->error;
  }
  if (!ok) {
    std::fprintf(stderr, "pubsub_load: %s\n", error.c_str());
    g_stop = true;
    for (auto &s : subs)
      if (s->thread.joinable()) s->thread.join();
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscriptions settle

  LagProbe lag;
  lag.start();
  std::vector<std::uint8_t> payload(o.size, 0x5a);
  std::vector<std::string> topics;
  for (int t = 0; t < o.topics; ++t)
    topics.push_back(topic_name(t));
  const std::uint64_t start = now_ns();
  const auto dur_ns = static_cast<std::uint64_t>(o.duration * 1e9);
  const auto gap_ns = static_cast<std::uint64_t>(1e9 / o.rate);
  std::uint64_t sent = 0, errors = 0, window_waits = 0;
  std::uint64_t end = start;
  auto min_received = [&] {
    std::uint64_t m = UINT64_MAX;
    for (auto &s : subs)
      if (!s->slow && !s->disconnected)
        m = std::min(m, s->received.load(std::memory_order_acquire));
    return m == UINT64_MAX ? sent : m;
  };
  for (;;) {
    std::uint64_t t = now_ns();
    if (t - start >= dur_ns) break;
    if (o.mode == "rate") {
      const std::uint64_t due = start + sent * gap_ns;
      if (due > t) {
        sleep_until_ns(due);
        t = now_ns();
      }
    } else if (sent - min_received() >= o.window) {
      ++window_waits;
      pub->poll_replies();
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    const std::uint32_t topic = static_cast<std::uint32_t>(sent % topics.size());
    std::memcpy(payload.data(), &t, 8);
    std::memcpy(payload.data() + 8, &sent, 8);
    if (payload.size() >= kTopicHeader) std::memcpy(payload.data() + 16, &topic, 4);
    if (!pub->publish(topics[topic], payload)) {
      ++errors;
      if (errors > 1000) break;
    }
    ++sent;
  }
  end = now_ns();
  pub->finish();
  // Drain: wait for the fast subscribers to get everything, at most --drain seconds.
  const std::uint64_t drain_limit = end + static_cast<std::uint64_t>(o.drain * 1e9);
  while (now_ns() < drain_limit && min_received() < sent)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::uint64_t drained = now_ns();
  if (o.mode == "rate") {  // a little extra for stragglers beyond the fast ones, bounded
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  g_stop = true;
  lag.finish();

  // Collect drop counters before closing.
  for (auto &s : subs) {
    if (o.system == "flume") {
      std::uint64_t d = 0;
      if (s->flume_sub) {
        d += s->flume_sub->stats().dropped_by_broker + s->flume_sub->stats().dropped_locally;
        s->disconnected = s->flume_sub->ended();
      }
      for (auto &x : s->flume_sub_extra)
        d += x->stats().dropped_by_broker;
      s->dropped = d;
    } else if (o.system == "nats") {
      for (auto *ns : s->nsubs) {
        int64_t d = 0;
        natsSubscription_GetDropped(ns, &d);
        s->dropped += static_cast<std::uint64_t>(d);
      }
      s->disconnected = natsConnection_IsClosed(s->nc);
    }
  }
  // Close everything (stop flag is set: slow receivers no longer sleep).
  for (auto &s : subs) {
    if (s->flume) s->flume->close();
    // Drain rather than unsubscribe: libnats frees a subscription's queued messages (a slow
    // subscriber's backlog) only by delivering them; unsubscribing leaves them for LeakSanitizer.
    for (auto *ns : s->nsubs)
      if (natsSubscription_Drain(ns) != NATS_OK) natsSubscription_Unsubscribe(ns);
    for (auto *ns : s->nsubs) {
      natsSubscription_WaitForDrainCompletion(ns, 5000);
      natsSubscription_Destroy(ns);
    }
    if (s->nc) natsConnection_Destroy(s->nc);
    if (s->thread.joinable()) s->thread.join();
    if (s->redis) redisFree(s->redis);
  }
  pub.reset();

  const double secs = static_cast<double>(end - start) / 1e9;
  std::string out = "{";
  out += "\"system\":\"" + o.system + "\",\"mode\":\"" + o.mode + "\"";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                ",\"rate\":%.1f,\"size\":%zu,\"subscribers\":%d,\"slow\":%d,\"topics\":%d,"
                "\"duration_s\":%.3f,\"drain_s\":%.3f,\"sent\":%llu,\"publish_errors\":%llu,"
                "\"send_rate\":%.1f,\"window_waits\":%llu",
                o.rate, o.size, o.subscribers, o.slow, o.topics, secs,
                static_cast<double>(drained - end) / 1e9, static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(errors), static_cast<double>(sent) / secs,
                static_cast<unsigned long long>(window_waits));
  out += buf;
  out += ",\"timer_lag_us\":" + pcts_json(lag.lag_us);
  std::vector<std::uint32_t> fast_all;
  std::uint64_t fast_received = 0;
  int fast_count = 0;
  out += ",\"subs\":[";
  for (std::size_t i = 0; i < subs.size(); ++i) {
    auto &s = *subs[i];
    if (i) out += ',';
    std::snprintf(
        buf, sizeof buf,
        "{\"index\":%d,\"slow\":%s,\"received\":%llu,\"dropped\":%llu,"
        "\"out_of_order\":%llu,\"disconnected\":%s,\"rate\":%.1f",
        s.index, s.slow ? "true" : "false", static_cast<unsigned long long>(s.received.load()),
        static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.out_of_order),
        s.disconnected.load() ? "true" : "false", static_cast<double>(s.received.load()) / secs);
    out += buf;
    out += ",\"error\":\"" + std::string(s.error.empty() ? "" : "error") + "\"";
    out += ",\"lat_us\":" + pcts_json(s.lat_us);
    if (o.topics > 1) {
      out += ",\"per_topic\":[";
      for (std::size_t t = 0; t < s.per_topic.size(); ++t) {
        if (t) out += ',';
        out += pcts_json(s.per_topic[t]);
      }
      out += "]";
    }
    if (o.raw) out += ",\"raw_us\":" + array_json(s.lat_us);
    out += "}";
    if (!s.slow) {
      fast_all.insert(fast_all.end(), s.lat_us.begin(), s.lat_us.end());
      fast_received += s.received.load();
      ++fast_count;
    }
  }
  out += "]";
  out += ",\"fast_lat_us\":" + pcts_json(fast_all);
  std::snprintf(buf, sizeof buf, ",\"fast_received_per_sub\":%.1f,\"recv_rate_per_sub\":%.1f}",
                fast_count ? static_cast<double>(fast_received) / fast_count : 0.0,
                fast_count ? static_cast<double>(fast_received) / fast_count / secs : 0.0);
  out += buf;
  std::printf("%s\n", out.c_str());
  nats_CloseAndWait(5000);  // let libnats' threads finish before the process exits
  return 0;
}
