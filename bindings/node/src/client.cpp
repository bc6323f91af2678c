// Client: one flume_client. Connecting, flushing and closing wait, so they run on libuv's thread
// pool behind promises; publishing never waits on the event loop's thread (see publish()).
#include <chrono>
#include <cstring>
#include <thread>

#include "classes.hpp"

namespace flume_node {

KeepAlive::KeepAlive(uv_loop_t *loop) : handle_(new uv_async_t) {
  uv_async_init(loop, handle_, nullptr);
}

KeepAlive::~KeepAlive() {
  close();
}

void KeepAlive::ref(bool on) {
  if (handle_ != nullptr) {
    on ? uv_ref(reinterpret_cast<uv_handle_t *>(handle_))
       : uv_unref(reinterpret_cast<uv_handle_t *>(handle_));
  }
}

void KeepAlive::close() {
  if (handle_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t *>(handle_),
             [](uv_handle_t *h) { delete reinterpret_cast<uv_async_t *>(h); });
    handle_ = nullptr;
  }
}

// ---------------------------------------------------------------------------------------------

// Publishes the backlog on a pool thread; its completion calls the drain callback on the event
// loop with null or the error that emptied the backlog.
class BacklogWorker : public Napi::AsyncWorker {
 public:
  BacklogWorker(Napi::Env env, Client *client, Napi::Object owner)
      : Napi::AsyncWorker(env, "flume.publish.backlog"), client_(client) {
    owner_ = Napi::Persistent(owner);  // the client object outlives its worker
  }
  void Execute() override { code_ = client_->drain_backlog(error_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (client_->on_drain_.IsEmpty()) {
      return;
    }
    Napi::Value arg = code_ < 0 ? make_error(env, code_, error_) : env.Null();
    client_->on_drain_.MakeCallback(owner_.Value(), {arg});
  }
  void OnError(const Napi::Error &) override {}

 private:
  Client *client_;
  Napi::ObjectReference owner_;
  int code_ = 0;
  std::string error_;
};

Client::Client(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Client>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(env, "flume: Client is made by connect()");
  }
  client_ = info[0].As<Napi::External<flume_client>>().Data();
  handle_ = client_;
  publish_timeout_ms_ = info[1].As<Napi::Number>().Int32Value();
  max_backlog_bytes_ = static_cast<size_t>(info[2].As<Napi::Number>().DoubleValue());
  Instance &in = instance(env);
  keep_alive_ = new KeepAlive(in.loop);
  in.clients.insert(this);
}

Client::~Client() {
  Instance &in = instance(Env());
  in.clients.erase(this);
  if (client_ != nullptr) {
    // Collected without close(): close on a thread of its own, since closing waits (up to about
    // half a second) for the broker's goodbye. No backlog worker runs: it holds this object.
    flume_client *c = client_;
    client_ = nullptr;
    std::thread([c] { flume_client_close(c); }).detach();
  }
  delete keep_alive_;
}

void Client::close_now() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    closing_ = true;
    backlog_.clear();
    backlog_bytes_ = 0;
  }
  wait_backlog_idle();
  if (client_ != nullptr) {
    flume_client_close(client_);
    client_ = nullptr;
  }
  if (keep_alive_ != nullptr) {
    keep_alive_->close();
  }
}

void cleanup_clients(Instance &in) {
  std::set<Client *> all = in.clients;
  for (Client *c : all) {
    c->close_now();
  }
}

static flume_client *checked(Napi::Env env, flume_client *c) {
  if (c == nullptr) {
    throw_error(env, FLUME_ECLOSED, "the client is closed");
  }
  return c;
}

// publish(subject, data) -> true when libflume took the message, false when it waits in the
// backlog here because libflume already holds maxPendingBytes (the client is connected with
// publish_timeout_ms = FLUME_NO_WAIT, so flume_client_publish() never waits on this thread).
// The backlog is published in order by a pool thread, and every publish made while it is not
// empty joins it, so the order of one client's messages is kept.
Napi::Value Client::publish(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_client *c = checked(env, client_);
  if (info.Length() < 1 || !info[0].IsString()) {
    throw_error(env, FLUME_EINVAL, "publish(subject, data): subject must be a string");
  }
  // Subjects are short: a stack buffer avoids an allocation per message.
  char subject_buf[FLUME_MAX_SUBJECT_LENGTH + 2];
  size_t subject_len = 0;
  napi_get_value_string_utf8(env, info[0], subject_buf, sizeof subject_buf, &subject_len);
  if (subject_len > FLUME_MAX_SUBJECT_LENGTH) {
    throw_error(
        env, FLUME_EINVALID_SUBJECT,
        "the subject is longer than " + std::to_string(FLUME_MAX_SUBJECT_LENGTH) + " bytes");
  }
  Bytes data = bytes_arg(env, info.Length() > 1 ? info[1] : env.Undefined(), "data");

  std::unique_lock<std::mutex> lock(mu_);
  if (backlog_.empty() && !worker_running_) {
    lock.unlock();
    int rc = flume_client_publish(c, subject_buf, subject_len, data.data, data.size);
    if (rc == 0) {
      return Napi::Boolean::New(env, true);
    }
    if (rc != FLUME_ETIMEDOUT) {
      throw_last(env, rc);
    }
    lock.lock();
  } else {
    // Checked here as libflume would, so that a bad message fails now, not in the backlog.
    int rc = flume_subject_validate(subject_buf, subject_len);
    if (rc < 0) {
      throw_last(env, rc);
    }
    uint32_t limit = flume_client_max_payload(c);
    if (limit != 0 && data.size > limit) {
      throw_error(env, FLUME_EPAYLOAD_TOO_LARGE,
                  "the payload (" + std::to_string(data.size) + " bytes) is over the broker's " +
                      std::to_string(limit) + "-byte limit");
    }
  }
  if (backlog_bytes_ + data.size > max_backlog_bytes_ && !backlog_.empty()) {
    throw_error(env, FLUME_EAGAIN,
                "publish backlog full: " + std::to_string(backlog_bytes_) +
                    " bytes wait for the network on top of maxPendingBytes in libflume; wait "
                    "for client.drained() when publish() returns false");
  }
  Pending p;
  p.subject.assign(subject_buf, subject_len);
  const auto *bytes = static_cast<const uint8_t *>(data.data);
  p.payload.assign(bytes, bytes + data.size);
  backlog_bytes_ += data.size;
  backlog_.push_back(std::move(p));
  bool start = !worker_running_;
  worker_running_ = true;
  lock.unlock();
  if (start) {
    start_backlog_worker(env);
  }
  return Napi::Boolean::New(env, false);
}

void Client::start_backlog_worker(Napi::Env env) {
  (new BacklogWorker(env, this, Value()))->Queue();
}

int Client::drain_backlog(std::string &error) {
  int result = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    if (backlog_.empty() || closing_ || result < 0) {
      backlog_.clear();
      backlog_bytes_ = 0;
      worker_running_ = false;
      idle_.notify_all();
      return result;
    }
    Pending &p = backlog_.front();
    lock.unlock();
    // p stays valid: only this thread pops, and close_now() clears only after waiting for it.
    int rc = flume_client_publish(handle_, p.subject.data(), p.subject.size(), p.payload.data(),
                                  p.payload.size());
    if (rc == FLUME_ETIMEDOUT) {
      // libflume's queue is full: a flush returns once the broker has everything sent before
      // it, so the queue has room again. In slices, so that close() is not kept waiting.
      auto deadline =
          std::chrono::steady_clock::now() +
          std::chrono::milliseconds(publish_timeout_ms_ < 0 ? 1 << 30 : publish_timeout_ms_);
      for (;;) {
        rc = flume_client_flush(handle_, 100);
        if (rc != FLUME_ETIMEDOUT) {
          break;
        }
        std::lock_guard<std::mutex> g(mu_);
        if (closing_ || std::chrono::steady_clock::now() >= deadline) {
          break;
        }
      }
      if (rc < 0) {
        error = std::string("publishing the backlog: ") + flume_last_error();
        result = rc;
      }
      continue;
    }
    if (rc < 0) {
      error = std::string("publishing the backlog: ") + flume_last_error();
      result = rc;
      continue;
    }
    lock.lock();
    backlog_bytes_ -= backlog_.front().payload.size();
    backlog_.pop_front();
  }
}

void Client::wait_backlog_idle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return !worker_running_; });
}

Napi::Value Client::backlog(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(mu_);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(backlog_.size())));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(backlog_bytes_)));
  return out;
}

Napi::Value Client::set_drain_callback(const Napi::CallbackInfo &info) {
  on_drain_ = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Client::flush(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_client *c = checked(env, client_);
  int timeout = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value()
                                                        : FLUME_DEFAULT_PUBLISH_TIMEOUT_MS;
  // The worker holds the client object until it finishes, so the handle is not freed under it
  // by a collection; close() waits (in JavaScript) for flushes in flight.
  return PromiseWorker::run(
      env, "flume.flush", Value(),
      [this, c, timeout]() {
        // What waits in the backlog was published before this flush: wait for it first.
        wait_backlog_idle();
        return flume_client_flush(c, timeout);
      },
      nullptr);
}

Napi::Value Client::close(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (client_ == nullptr) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  flume_client *c = client_;
  client_ = nullptr;  // every later call sees a closed client at once
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  return PromiseWorker::run(
      env, "flume.close", Value(),
      [this, c]() {
        wait_backlog_idle();
        return flume_client_close(c);
      },
      [this](Napi::Env e) {
        if (keep_alive_ != nullptr) {
          keep_alive_->close();
        }
        return e.Undefined();
      });
}

Napi::Value Client::stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_client_stats s;
  flume_client_stats_init(&s, sizeof s);
  int rc = flume_client_get_stats(&s, checked(env, client_));
  if (rc < 0) {
    throw_last(env, rc);
  }
  Napi::Object o = Napi::Object::New(env);
  set_u64(o, "messagesOut", s.messages_out);
  set_u64(o, "bytesOut", s.bytes_out);
  set_u64(o, "messagesIn", s.messages_in);
  set_u64(o, "bytesIn", s.bytes_in);
  set_u64(o, "droppedByBroker", s.dropped_by_broker);
  set_u64(o, "reconnects", s.reconnects);
  set_u64(o, "publishErrors", s.publish_errors);
  set_u64(o, "publishesUnsent", s.publishes_unsent);
  o.Set("connected", Napi::Boolean::New(env, s.connected != 0));
  return o;
}

Napi::Value Client::max_payload(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), flume_client_max_payload(checked(info.Env(), client_)));
}

Napi::Value Client::ref(const Napi::CallbackInfo &info) {
  if (keep_alive_ != nullptr) {
    keep_alive_->ref(info.Length() > 0 && info[0].ToBoolean().Value());
  }
  return info.Env().Undefined();
}

Napi::Value Client::is_closed(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), client_ == nullptr);
}

// subscribe(pattern, options) -> native Subscription (returns before the broker answered).
Napi::Value Client::subscribe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_client *c = checked(env, client_);
  std::string pattern = string_arg(info, 0, "pattern");
  Napi::Object opts =
      info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object();
  flume_subscription_options o;
  flume_subscription_options_init(&o, sizeof o);
  o.overflow_policy = int_option(opts, "overflowPolicy", 0, 0, 3);
  o.queue_limit = static_cast<uint32_t>(number_option(opts, "queueLimit", 0, 0, 4294967295.0));
  o.local_queue_limit =
      static_cast<size_t>(number_option(opts, "localQueueLimit", 0, 0, 9007199254740991.0));
  o.report_gaps = bool_option(opts, "gaps", false) ? FLUME_ON : FLUME_OFF;
  flume_subscription *s = nullptr;
  int rc = flume_client_subscribe(&s, c, pattern.data(), pattern.size(), &o, nullptr);
  if (rc < 0) {
    throw_last(env, rc);
  }
  return instance(env).subscription_ctor.New(
      {Napi::External<flume_subscription>::New(env, s), Value()});
}

Napi::Function Client::define(Napi::Env env) {
  return DefineClass(env, "NativeClient",
                     {
                         InstanceMethod<&Client::publish>("publish"),
                         InstanceMethod<&Client::backlog>("backlog"),
                         InstanceMethod<&Client::set_drain_callback>("setDrainCallback"),
                         InstanceMethod<&Client::subscribe>("subscribe"),
                         InstanceMethod<&Client::flush>("flush"),
                         InstanceMethod<&Client::close>("close"),
                         InstanceMethod<&Client::stats>("stats"),
                         InstanceMethod<&Client::max_payload>("maxPayload"),
                         InstanceMethod<&Client::ref>("ref"),
                         InstanceMethod<&Client::is_closed>("isClosed"),
                     });
}

// connect(url, options) -> Promise<NativeClient>. Options as in lib/index.d.ts; times in ms.
static Napi::Value connect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string url = string_arg(info, 0, "url");
  Napi::Object opts =
      info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object();
  struct Strings {
    std::string client_name, server_name, ca_file, pin, token;
  };
  auto st = std::make_shared<Strings>();
  st->client_name = string_option(opts, "name");
  if (st->client_name.empty()) {
    st->client_name = "flume-node";
  }
  st->server_name = string_option(opts, "serverName");
  st->ca_file = string_option(opts, "ca");
  st->pin = string_option(opts, "pinSha256");
  if (!opts.IsEmpty() && opts.Has("token") && !opts.Get("token").IsUndefined()) {
    Bytes t = bytes_arg(env, opts.Get("token"), "option token");
    st->token.assign(static_cast<const char *>(t.data), t.size);
  }
  auto o = std::make_shared<flume_client_options>();
  flume_client_options_init(o.get(), sizeof *o);
  o->insecure = bool_option(opts, "insecure", false) ? FLUME_ON : 0;
  o->connect_timeout_ms = int_option(opts, "connectTimeout", 0, -1, 1 << 30);
  o->reconnect = bool_option(opts, "reconnect", true) ? FLUME_ON : FLUME_OFF;
  o->reconnect_min_ms = int_option(opts, "reconnectMin", 0, 0, 1 << 30);
  o->reconnect_max_ms = int_option(opts, "reconnectMax", 0, 0, 1 << 30);
  o->max_pending_bytes =
      static_cast<size_t>(number_option(opts, "maxPendingBytes", 0, 0, 9007199254740991.0));
  // Never wait in flume_client_publish(): publish() runs on the event loop's thread.
  o->publish_timeout_ms = FLUME_NO_WAIT;
  int publish_timeout =
      int_option(opts, "publishTimeout", FLUME_DEFAULT_PUBLISH_TIMEOUT_MS, -1, 1 << 30);
  Napi::Value keep = opts.IsEmpty() ? Napi::Value() : opts.Get("keepAlive");
  if (!keep.IsEmpty() && keep.IsNull()) {
    o->keep_alive_ms = FLUME_WAIT_FOREVER;
  } else {
    o->keep_alive_ms = int_option(opts, "keepAlive", 0, 0, 1 << 30);
  }
  double max_backlog =
      number_option(opts, "maxBacklogBytes",
                    static_cast<double>(o->max_pending_bytes ? o->max_pending_bytes
                                                             : FLUME_DEFAULT_MAX_PENDING_BYTES),
                    0, 9007199254740991.0);
  auto out = std::make_shared<flume_client *>(nullptr);
  return PromiseWorker::run(
      env, "flume.connect", env.Undefined(),
      [url, st, o, out]() {
        o->client_name = st->client_name.c_str();
        o->server_name = st->server_name.empty() ? nullptr : st->server_name.c_str();
        o->ca_file = st->ca_file.empty() ? nullptr : st->ca_file.c_str();
        o->pin_sha256 = st->pin.empty() ? nullptr : st->pin.c_str();
        o->token = st->token.empty() ? nullptr : st->token.data();
        o->token_length = st->token.size();
        return flume_client_connect(out.get(), url.c_str(), o.get());
      },
      [out, publish_timeout, max_backlog](Napi::Env e) -> Napi::Value {
        Instance &in = instance(e);
        if (in.shutting_down) {
          flume_client_close(*out);
          return e.Undefined();
        }
        return in.client_ctor.New({Napi::External<flume_client>::New(e, *out),
                                   Napi::Number::New(e, publish_timeout),
                                   Napi::Number::New(e, max_backlog)});
      });
}

void init_client(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Client::define(env);
  instance(env).client_ctor = Napi::Persistent(ctor);
  exports.Set("connect", Napi::Function::New(env, connect, "connect"));
}

}  // namespace flume_node
