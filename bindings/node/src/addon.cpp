// The addon's entry point: version check, error table, subject helpers, and the helpers every
// class shares (argument checks, errors, promise workers).
#include "addon.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace flume_node {

Instance &instance(Napi::Env env) {
  return *env.GetInstanceData<Instance>();
}

Napi::Value make_error(Napi::Env env, int code, const std::string &message) {
  Instance &in = instance(env);
  if (in.make_error.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Set("code", Napi::String::New(env, flume_error_name(code)));
    return e.Value();
  }
  return in.make_error.Call({Napi::Number::New(env, code), Napi::String::New(env, message)});
}

void throw_error(Napi::Env env, int code, const std::string &message) {
  throw Napi::Error(env, make_error(env, code, message));
}

void set_u64(Napi::Object object, const char *name, uint64_t value) {
  object.Set(name, Napi::Number::New(object.Env(), static_cast<double>(value)));
}

void throw_last(Napi::Env env, int code) {
  const char *why = flume_last_error();
  throw_error(env, code, why && *why ? why : flume_error_name(code));
}

std::string string_arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw_error(info.Env(), FLUME_EINVAL, std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

Bytes bytes_arg(Napi::Env env, Napi::Value value, const char *what) {
  Bytes b;
  if (value.IsTypedArray()) {
    Napi::TypedArray t = value.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = t.ArrayBuffer();
    b.data = static_cast<const uint8_t *>(ab.Data()) + t.ByteOffset();
    b.size = t.ByteLength();
  } else if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
    b.data = ab.Data();
    b.size = ab.ByteLength();
  } else if (value.IsDataView()) {
    Napi::DataView dv = value.As<Napi::DataView>();
    b.data = static_cast<const uint8_t *>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    b.size = dv.ByteLength();
  } else if (value.IsString()) {
    b.keep = value.As<Napi::String>().Utf8Value();
    b.data = b.keep.data();
    b.size = b.keep.size();
  } else if (value.IsUndefined() || value.IsNull()) {
    // An empty payload.
  } else {
    throw_error(
        env, FLUME_EINVAL,
        std::string(what) + " must be a Uint8Array, Buffer, ArrayBuffer, DataView or string");
  }
  return b;
}

static Napi::Value option(Napi::Object options, const char *name) {
  if (options.IsEmpty() || options.IsUndefined() || options.IsNull()) {
    return Napi::Value();
  }
  Napi::Value v = options.Get(name);
  return v.IsUndefined() ? Napi::Value() : v;
}

double number_option(Napi::Object options, const char *name, double fallback, double min,
                     double max) {
  Napi::Value v = option(options, name);
  if (v.IsEmpty()) {
    return fallback;
  }
  if (!v.IsNumber()) {
    throw_error(options.Env(), FLUME_EINVAL, std::string("option ") + name + " must be a number");
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d) || d < min || d > max) {
    throw_error(options.Env(), FLUME_EINVAL,
                std::string("option ") + name + " is out of range (" + std::to_string(d) + ")");
  }
  return d;
}

int int_option(Napi::Object options, const char *name, int fallback, int min, int max) {
  double d = number_option(options, name, fallback, min, max);
  if (d != std::floor(d)) {
    throw_error(options.Env(), FLUME_EINVAL, std::string("option ") + name + " must be an integer");
  }
  return static_cast<int>(d);
}

bool bool_option(Napi::Object options, const char *name, bool fallback) {
  Napi::Value v = option(options, name);
  if (v.IsEmpty()) {
    return fallback;
  }
  if (!v.IsBoolean()) {
    throw_error(options.Env(), FLUME_EINVAL, std::string("option ") + name + " must be a boolean");
  }
  return v.As<Napi::Boolean>().Value();
}

std::string string_option(Napi::Object options, const char *name) {
  Napi::Value v = option(options, name);
  if (v.IsEmpty() || v.IsNull()) {
    return {};
  }
  if (!v.IsString()) {
    throw_error(options.Env(), FLUME_EINVAL, std::string("option ") + name + " must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

PromiseWorker::PromiseWorker(Napi::Env env, const char *name, Work work, Done done)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      done_(std::move(done)) {}

Napi::Promise PromiseWorker::run(Napi::Env env, const char *name, Napi::Value owner, Work work,
                                 Done done) {
  auto *w = new PromiseWorker(env, name, std::move(work), std::move(done));
  if (owner.IsObject()) {
    w->owner_ = Napi::Persistent(owner.As<Napi::Object>());
  }
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

void PromiseWorker::Execute() {
  code_ = work_();
  if (code_ < 0) {
    const char *why = flume_last_error();
    error_ = why != nullptr ? why : "";
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  if (code_ < 0) {
    deferred_.Reject(make_error(env, code_, error_.empty() ? flume_error_name(code_) : error_));
    return;
  }
  try {
    deferred_.Resolve(done_ ? done_(env) : env.Undefined());
  } catch (const Napi::Error &e) {
    deferred_.Reject(e.Value());
  }
}

// ---------------------------------------------------------------------------------------------

static Napi::Value set_error_factory(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "setErrorFactory(fn)");
  }
  instance(info.Env()).make_error = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// [[code, "FLUME_E...", "ClassName"], ...] from capi/error_codes.def: the same class names as
// Python's exceptions, from the same list.
static Napi::Value error_codes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
#define FLUME_ERROR_CODE(NAME, CLASS)            \
  {                                              \
    Napi::Array row = Napi::Array::New(env, 3);  \
    row.Set(0u, Napi::Number::New(env, NAME));   \
    row.Set(1u, Napi::String::New(env, #NAME));  \
    row.Set(2u, Napi::String::New(env, #CLASS)); \
    out.Set(i++, row);                           \
  }
#include "error_codes.def"
#undef FLUME_ERROR_CODE
  return out;
}

static Napi::Value error_name(const Napi::CallbackInfo &info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  return Napi::String::New(info.Env(), flume_error_name(code));
}

static Napi::Value subject_validate(const Napi::CallbackInfo &info) {
  std::string s = string_arg(info, 0, "subject");
  int rc = flume_subject_validate(s.data(), s.size());
  if (rc < 0) {
    throw_last(info.Env(), rc);
  }
  return info.Env().Undefined();
}

static Napi::Value pattern_validate(const Napi::CallbackInfo &info) {
  std::string s = string_arg(info, 0, "pattern");
  int rc = flume_pattern_validate(s.data(), s.size());
  if (rc < 0) {
    throw_last(info.Env(), rc);
  }
  return info.Env().Undefined();
}

static Napi::Value pattern_matches(const Napi::CallbackInfo &info) {
  std::string p = string_arg(info, 0, "pattern");
  std::string s = string_arg(info, 1, "subject");
  int rc = flume_pattern_matches(p.data(), p.size(), s.data(), s.size());
  if (rc < 0) {
    throw_last(info.Env(), rc);
  }
  return Napi::Boolean::New(info.Env(), rc == 1);
}

// Frames, for the shared test vectors: encode(type, subject, payload, maxPayload) -> Uint8Array.
static Napi::Value frame_encode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) {
    throw_error(env, FLUME_EINVAL, "encodeFrame(type, subject, payload, maxPayload)");
  }
  uint32_t type = info[0].As<Napi::Number>().Uint32Value();
  Bytes subject = bytes_arg(env, info[1], "subject");
  Bytes payload = bytes_arg(env, info.Length() > 2 ? info[2] : env.Undefined(), "payload");
  uint32_t max_payload =
      info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
  size_t size = flume_frame_size(subject.size, payload.size);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, size);
  size_t written = 0;
  int rc = flume_frame_encode(out.Data(), size, &written, static_cast<uint8_t>(type),
                              static_cast<const char *>(subject.data), subject.size, payload.data,
                              payload.size, max_payload);
  if (rc < 0) {
    throw_last(env, rc);
  }
  return out;
}

// decodeFrames(bytes, maxPayload, chunk) -> {frames: [{type, subject, subjectBytes, payload}],
// consumed, error?: "FLUME_E...", recoverable?}: the bytes fed `chunk` at a time (all at once for
// 0), as a stream would bring them. Decoding goes on after a recoverable error (a frame whose
// subject breaks its type's rule is skipped) and stops at any other.
static Napi::Value frame_decode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bytes in = bytes_arg(env, info.Length() > 0 ? info[0] : env.Undefined(), "bytes");
  flume_decoder_options o;
  flume_decoder_options_init(&o, sizeof o);
  if (info.Length() > 1 && info[1].IsNumber()) {
    o.max_payload = info[1].As<Napi::Number>().Uint32Value();
  }
  size_t chunk =
      info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  if (chunk == 0) {
    chunk = in.size > 0 ? in.size : 1;
  }
  flume_decoder *d = nullptr;
  int rc = flume_decoder_new(&d, &o);
  if (rc < 0) {
    throw_last(env, rc);
  }
  Napi::Object result = Napi::Object::New(env);
  Napi::Array frames = Napi::Array::New(env);
  const uint8_t *p = static_cast<const uint8_t *>(in.data);
  size_t total = 0;
  uint32_t n = 0;
  int error = 0;
  bool fatal = false;
  for (size_t at = 0; at < in.size && !fatal; at += chunk) {
    const uint8_t *q = p + at;
    size_t left = std::min(chunk, in.size - at);
    while (!fatal) {
      flume_frame f{};
      size_t consumed = 0;
      rc = flume_decoder_next(&f, &consumed, d, q, left);
      q += consumed;
      left -= consumed;
      total += consumed;
      if (rc == 0) {
        break;
      }
      if (rc < 0) {
        error = rc;
        if (rc != FLUME_EINVALID_SUBJECT && rc != FLUME_EINVALID_PATTERN) {
          fatal = true;
        }
        continue;
      }
      Napi::Object fr = Napi::Object::New(env);
      fr.Set("type", Napi::Number::New(env, f.type));
      fr.Set("typeName", Napi::String::New(env, flume_frame_type_name(f.type)));
      fr.Set("subject", Napi::String::New(env, f.subject ? f.subject : "", f.subject_length));
      fr.Set("subjectBytes",
             Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t *>(f.subject),
                                         f.subject_length));
      fr.Set("payload", Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t *>(f.payload),
                                                    f.payload_length));
      frames.Set(n++, fr);
    }
  }
  if (!fatal) {
    rc = flume_decoder_finish(d);
    if (rc < 0) {
      error = rc;
      fatal = true;
    }
  }
  flume_decoder_free(d);
  result.Set("frames", frames);
  result.Set("consumed", Napi::Number::New(env, static_cast<double>(total)));
  if (error < 0) {
    result.Set("error", Napi::String::New(env, flume_error_name(error)));
    result.Set("recoverable", Napi::Boolean::New(env, !fatal));
  }
  return result;
}

static void cleanup(void *data);

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  // A libflume older than the header this addon was compiled against lacks what it calls.
  if (flume_version_number() < FLUME_VERSION_NUMBER) {
    throw Napi::Error::New(env, std::string("flume: libflume ") + flume_version() +
                                    " is older than the header the addon was built with");
  }
  // Never freed by Node-API: the classes' finalizers may run after the environment's clean-up
  // hooks and still look here (shutting_down); the few bytes per environment are not reclaimed.
  auto *in = new Instance();
  napi_set_instance_data(env, in, nullptr, nullptr);
  if (napi_get_uv_event_loop(env, &in->loop) != napi_ok) {
    throw Napi::Error::New(env, "flume: no libuv loop");
  }
  napi_add_env_cleanup_hook(env, cleanup, in);

  exports.Set("version", Napi::String::New(env, flume_version()));
  exports.Set("versionNumber", Napi::Number::New(env, flume_version_number()));
  exports.Set("headerVersionNumber", Napi::Number::New(env, FLUME_VERSION_NUMBER));
  exports.Set("maxSubjectLength", Napi::Number::New(env, FLUME_MAX_SUBJECT_LENGTH));
  exports.Set("defaultMaxPayload", Napi::Number::New(env, FLUME_DEFAULT_MAX_PAYLOAD));
  exports.Set("setErrorFactory", Napi::Function::New(env, set_error_factory, "setErrorFactory"));
  exports.Set("errorCodes", Napi::Function::New(env, error_codes, "errorCodes"));
  exports.Set("errorName", Napi::Function::New(env, error_name, "errorName"));
  exports.Set("validateSubject", Napi::Function::New(env, subject_validate, "validateSubject"));
  exports.Set("validatePattern", Napi::Function::New(env, pattern_validate, "validatePattern"));
  exports.Set("patternMatches", Napi::Function::New(env, pattern_matches, "patternMatches"));
  exports.Set("encodeFrame", Napi::Function::New(env, frame_encode, "encodeFrame"));
  exports.Set("decodeFrames", Napi::Function::New(env, frame_decode, "decodeFrames"));
  init_client(env, exports);
  init_subscription(env, exports);
  init_broker(env, exports);
  return exports;
}

}  // namespace flume_node

// Defined with the classes: closes what JavaScript left open when its environment ends (a worker
// thread exiting, the process exiting with clients still open).
namespace flume_node {
void cleanup_clients(Instance &in);
void cleanup_subscriptions(Instance &in);
void cleanup_brokers(Instance &in);
static void cleanup(void *data) {
  auto *in = static_cast<Instance *>(data);
  in->shutting_down = true;
  cleanup_subscriptions(*in);
  cleanup_clients(*in);
  cleanup_brokers(*in);
  in->client_ctor.Reset();
  in->subscription_ctor.Reset();
  in->broker_ctor.Reset();
  in->make_error.Reset();
}
}  // namespace flume_node

static Napi::Object flume_init(Napi::Env env, Napi::Object exports) {
  return flume_node::init(env, exports);
}

NODE_API_MODULE(flume, flume_init)
