// Subscription: a polling flume_subscription whose file descriptor a uv_poll handle watches on
// the event loop. One wake-up takes one batch (flume_subscription_recv_batch) and hands it to
// JavaScript in a single call, as a few arrays rather than one object per message: the message
// objects are made in JavaScript, where V8 makes them cheaply.
#include <cstring>

#include "classes.hpp"

namespace flume_node {

namespace {
// Messages per wake-up. Large enough that a busy subscription pays one crossing for many
// messages, small enough that other subscriptions and timers get their turn.
constexpr size_t kBatch = 1024;
// Payloads up to this size share the batch's one ArrayBuffer; larger ones get their own, so a
// kept message does not hold a large buffer of others alive.
constexpr size_t kPackedMax = 1024;
}  // namespace

Subscription::Subscription(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Subscription>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(env, "flume: Subscription is made by Client.subscribe()");
  }
  sub_ = info[0].As<Napi::External<flume_subscription>>().Data();
  client_ = Napi::Persistent(info[1].As<Napi::Object>());
  instance(env).subscriptions.insert(this);
}

Subscription::~Subscription() {
  Instance &in = instance(Env());
  in.subscriptions.erase(this);
  free_now();
}

void cleanup_subscriptions(Instance &in) {
  std::set<Subscription *> all = in.subscriptions;
  for (Subscription *s : all) {
    s->free_now();
  }
}

void Subscription::stop_polling() {
  if (poll_ != nullptr) {
    // uv_close stops the handle and forgets the descriptor at once, before libflume closes it.
    uv_close(reinterpret_cast<uv_handle_t *>(poll_),
             [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
    poll_ = nullptr;
    polling_ = false;
  }
  if (self_ref_) {
    self_ref_ = false;
    Unref();
  }
}

void Subscription::free_now() {
  stop_polling();
  if (sub_ != nullptr) {
    flume_subscription_free(sub_);
    sub_ = nullptr;
  }
  ended_ = true;
  delete async_context_;
  async_context_ = nullptr;
  on_batch_.Reset();
  client_.Reset();
}

static flume_subscription *checked(Napi::Env env, flume_subscription *s) {
  if (s == nullptr) {
    throw_error(env, FLUME_ECLOSED, "the subscription is closed");
  }
  return s;
}

void Subscription::set_polling(bool on) {
  if (poll_ == nullptr || on == polling_) {
    return;
  }
  if (on) {
    uv_poll_start(poll_, UV_READABLE, on_readable);
  } else {
    uv_poll_stop(poll_);
  }
  polling_ = on;
}

// start(onBatch): from now on, each wake-up calls
//   onBatch(count, subjects, packed, lengths, big, sequences, gaps)   for `count` items, or
//   onBatch(-1, code, message)                       once, when the subscription has ended.
// subjects: string[count]; lengths: Uint32Array[count]; packed: the ArrayBuffer holding the
// small payloads one after another; big: undefined, or an array whose entry i is the ArrayBuffer
// of message i when its payload was larger than kPackedMax; sequences: Float64Array[count] of
// flume_message_view.sequence (exact up to 2^53); gaps: undefined when the batch holds no gap
// item (always without report_gaps), else an array whose entry i, for a gap item i, is a
// Float64Array [dropped_by_broker, dropped_locally, resubscribed, disconnected_ms].
Napi::Value Subscription::start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  checked(env, sub_);
  if (poll_ != nullptr || ended_) {
    throw_error(env, FLUME_EINVAL, "the subscription is already started");
  }
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw_error(env, FLUME_EINVAL, "start(onBatch)");
  }
  int fd = flume_subscription_fd(sub_);
  if (fd < 0) {
    throw_last(env, fd);
  }
  on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
  async_context_ = new Napi::AsyncContext(env, "flume.subscription");
  poll_ = new uv_poll_t;
  int rc = uv_poll_init(instance(env).loop, poll_, fd);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    throw_error(env, FLUME_EIO, std::string("uv_poll_init: ") + uv_strerror(rc));
  }
  poll_->data = this;
  if (unref_) {
    uv_unref(reinterpret_cast<uv_handle_t *>(poll_));
  }
  // While it polls, the subscription keeps itself (and its client) from being collected, like
  // a socket that is open: its messages have somewhere to go.
  Ref();
  self_ref_ = true;
  set_polling(!paused_);
  return env.Undefined();
}

void Subscription::on_readable(uv_poll_t *handle, int status, int) {
  auto *self = static_cast<Subscription *>(handle->data);
  if (status < 0) {
    self->end(FLUME_EIO, std::string("polling the subscription: ") + uv_strerror(status));
    return;
  }
  self->deliver();
}

void Subscription::deliver() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  flume_message *messages[kBatch];
  size_t count = 0;
  int rc = flume_subscription_recv_batch(messages, kBatch, &count, sub_, FLUME_NO_WAIT);
  if (rc == FLUME_EAGAIN) {
    return;
  }
  if (rc < 0) {
    const char *why = flume_last_error();
    end(rc, why ? why : "");
    return;
  }
  flume_message_view views[kBatch];
  rc = flume_message_views(views, sizeof(flume_message_view), messages, count);
  if (rc < 0) {
    flume_message_free_batch(messages, count);
    end(rc, flume_last_error());
    return;
  }
  size_t packed_size = 0;
  for (size_t i = 0; i < count; ++i) {
    if (views[i].payload_length <= kPackedMax) {
      packed_size += views[i].payload_length;
    }
  }
  Napi::ArrayBuffer packed = Napi::ArrayBuffer::New(env, packed_size);
  Napi::Uint32Array lengths = Napi::Uint32Array::New(env, count);
  Napi::Array subjects = Napi::Array::New(env, count);
  Napi::Value big = env.Undefined();
  Napi::Float64Array sequences = Napi::Float64Array::New(env, count);
  Napi::Value gaps = env.Undefined();
  auto *dst = static_cast<uint8_t *>(packed.Data());
  napi_value last_subject = nullptr;
  const flume_message_view *last_view = nullptr;
  for (size_t i = 0; i < count; ++i) {
    const flume_message_view &v = views[i];
    sequences[i] = static_cast<double>(v.sequence);
    if (v.kind == FLUME_MESSAGE_GAP) {
      if (gaps.IsUndefined()) {
        gaps = Napi::Array::New(env);
      }
      Napi::Float64Array g = Napi::Float64Array::New(env, 4);
      g[0] = static_cast<double>(v.gap_dropped_by_broker);
      g[1] = static_cast<double>(v.gap_dropped_locally);
      g[2] = v.gap_resubscribed != 0 ? 1 : 0;
      g[3] = static_cast<double>(v.gap_disconnected_ms);
      gaps.As<Napi::Array>().Set(static_cast<uint32_t>(i), g);
      lengths[i] = 0;
      continue;  // no subject, no payload (subjects[i] stays a hole)
    }
    // Consecutive messages on one subject (the common case) share one string.
    if (last_view == nullptr || last_view->subject_length != v.subject_length ||
        std::memcmp(last_view->subject, v.subject, v.subject_length) != 0) {
      napi_create_string_utf8(env, v.subject, v.subject_length, &last_subject);
      last_view = &v;
    }
    napi_set_element(env, subjects, static_cast<uint32_t>(i), last_subject);
    lengths[i] = static_cast<uint32_t>(v.payload_length);
    if (v.payload_length <= kPackedMax) {
      if (v.payload_length != 0) {
        std::memcpy(dst, v.payload, v.payload_length);
        dst += v.payload_length;
      }
    } else {
      if (big.IsUndefined()) {
        big = Napi::Array::New(env);
      }
      Napi::ArrayBuffer own = Napi::ArrayBuffer::New(env, v.payload_length);
      std::memcpy(own.Data(), v.payload, v.payload_length);
      big.As<Napi::Array>().Set(static_cast<uint32_t>(i), own);
    }
  }
  flume_message_free_batch(messages, count);
  try {
    on_batch_.MakeCallback(Value(),
                           {Napi::Number::New(env, static_cast<double>(count)), subjects, packed,
                            lengths, big, sequences, gaps},
                           *async_context_);
  } catch (const Napi::Error &e) {
    napi_fatal_exception(env, e.Value());
  }
}

void Subscription::end(int code, const std::string &why) {
  if (ended_) {
    return;
  }
  ended_ = true;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::FunctionReference cb = std::move(on_batch_);
  Napi::AsyncContext *ctx = async_context_;
  async_context_ = nullptr;
  stop_polling();
  if (!cb.IsEmpty() && ctx != nullptr) {
    try {
      cb.MakeCallback(
          Value(),
          {Napi::Number::New(env, -1), Napi::Number::New(env, code), Napi::String::New(env, why)},
          *ctx);
    } catch (const Napi::Error &e) {
      napi_fatal_exception(env, e.Value());
    }
  }
  delete ctx;
}

Napi::Value Subscription::pause(const Napi::CallbackInfo &info) {
  paused_ = true;
  set_polling(false);
  return info.Env().Undefined();
}

Napi::Value Subscription::resume(const Napi::CallbackInfo &info) {
  paused_ = false;
  set_polling(true);
  return info.Env().Undefined();
}

Napi::Value Subscription::unsubscribe(const Napi::CallbackInfo &info) {
  if (sub_ != nullptr) {
    // Queued messages stay readable; after them the fd reports the end.
    flume_subscription_unsubscribe(sub_);
  }
  return info.Env().Undefined();
}

Napi::Value Subscription::close(const Napi::CallbackInfo &info) {
  free_now();
  return info.Env().Undefined();
}

Napi::Value Subscription::wait_ready(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_subscription *s = checked(env, sub_);
  int timeout = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value()
                                                        : FLUME_DEFAULT_CONNECT_TIMEOUT_MS;
  // Holds this object (so its handle) until the wait is over.
  return PromiseWorker::run(
      env, "flume.subscribe", Value(),
      [s, timeout]() { return flume_subscription_wait_ready(s, timeout); }, nullptr);
}

Napi::Value Subscription::stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_subscription_stats s;
  flume_subscription_stats_init(&s, sizeof s);
  int rc = flume_subscription_get_stats(&s, checked(env, sub_));
  if (rc < 0) {
    throw_last(env, rc);
  }
  Napi::Object o = Napi::Object::New(env);
  set_u64(o, "received", s.received);
  set_u64(o, "droppedByBroker", s.dropped_by_broker);
  set_u64(o, "droppedLocally", s.dropped_locally);
  set_u64(o, "queued", s.queued);
  set_u64(o, "queuedHighWater", s.queued_high_water);
  set_u64(o, "queueLimit", s.queue_limit);
  set_u64(o, "resubscribed", s.resubscribed);
  set_u64(o, "lastSequence", s.last_sequence);
  static const char *const states[] = {"pending", "active", "ended"};
  o.Set("state", Napi::String::New(env, s.state >= 0 && s.state <= 2 ? states[s.state] : "?"));
  return o;
}

Napi::Value Subscription::id(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), flume_subscription_id(sub_));
}

Napi::Value Subscription::ref(const Napi::CallbackInfo &info) {
  unref_ = !(info.Length() > 0 && info[0].ToBoolean().Value());
  if (poll_ != nullptr) {
    unref_ ? uv_unref(reinterpret_cast<uv_handle_t *>(poll_))
           : uv_ref(reinterpret_cast<uv_handle_t *>(poll_));
  }
  return info.Env().Undefined();
}

Napi::Function Subscription::define(Napi::Env env) {
  return DefineClass(env, "NativeSubscription",
                     {
                         InstanceMethod<&Subscription::start>("start"),
                         InstanceMethod<&Subscription::pause>("pause"),
                         InstanceMethod<&Subscription::resume>("resume"),
                         InstanceMethod<&Subscription::unsubscribe>("unsubscribe"),
                         InstanceMethod<&Subscription::close>("close"),
                         InstanceMethod<&Subscription::wait_ready>("waitReady"),
                         InstanceMethod<&Subscription::stats>("stats"),
                         InstanceMethod<&Subscription::id>("id"),
                         InstanceMethod<&Subscription::ref>("ref"),
                     });
}

void init_subscription(Napi::Env env, Napi::Object) {
  instance(env).subscription_ctor = Napi::Persistent(Subscription::define(env));
}

}  // namespace flume_node
