#include "overlay/h3_session.hpp"

#include <nghttp3/nghttp3.h>

#include <cstring>
#include <vector>

#include "quic/endpoint.hpp"

namespace flume::overlay {

namespace {

// Header sections of node links are a handful of short fields; a peer sending more is refused
// (nghttp3's default is 2^62).
constexpr std::uint64_t kMaxFieldSection = 16 * 1024;

nghttp3_nv field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<const std::uint8_t *>(name.data()),
          reinterpret_cast<const std::uint8_t *>(value.data()), name.size(), value.size(),
          NGHTTP3_NV_FLAG_NONE};
}

std::string_view text_of(nghttp3_rcbuf *buffer) {
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(buffer);
  return {reinterpret_cast<const char *>(v.base), v.len};
}

}  // namespace

// nghttp3's callbacks, with the session as conn_user_data. Each returns 0 or
// NGHTTP3_ERR_CALLBACK_FAILURE.
struct H3Session::Callbacks {
  static H3Session &of(void *user_data) { return *static_cast<H3Session *>(user_data); }

  static int acked_stream_data(nghttp3_conn *, std::int64_t stream_id, std::uint64_t datalen,
                               void *user_data, void *) {
    H3Session &s = of(user_data);
    auto it = s.bodies_.find(stream_id);
    if (it == s.bodies_.end()) return 0;
    Body &body = it->second;
    while (datalen > 0 && !body.inflight.empty()) {
      const std::size_t left = body.inflight.front().size() - body.inflight_offset;
      if (datalen < left) {
        body.inflight_offset += static_cast<std::size_t>(datalen);
        break;
      }
      datalen -= left;
      body.inflight.pop_front();
      body.inflight_offset = 0;
    }
    return 0;
  }

  static int stream_close(nghttp3_conn *, std::int64_t stream_id, std::uint64_t, void *user_data,
                          void *) {
    H3Session &s = of(user_data);
    s.bodies_.erase(stream_id);
    s.paths_.erase(stream_id);
    s.statuses_.erase(stream_id);
    s.flume_fields_.erase(stream_id);
    s.stream_bytes_.erase(stream_id);
    return 0;
  }

  static int recv_data(nghttp3_conn *, std::int64_t stream_id, const std::uint8_t *data,
                       std::size_t datalen, void *user_data, void *) {
    of(user_data).events_.on_body(stream_id, {data, datalen});
    return 0;
  }

  static int recv_header(nghttp3_conn *, std::int64_t stream_id, std::int32_t, nghttp3_rcbuf *name,
                         nghttp3_rcbuf *value, std::uint8_t, void *user_data, void *) {
    H3Session &s = of(user_data);
    const std::string_view n = text_of(name);
    if (n == ":path") {
      s.paths_[stream_id] = std::string(text_of(value));
    } else if (n == ":status") {
      unsigned status = 0;
      for (char c : text_of(value))
        status = status * 10 + static_cast<unsigned>(c - '0');
      s.statuses_[stream_id] = status;
    } else if (n.substr(0, 6) == "flume-") {
      s.flume_fields_[stream_id].emplace_back(n, text_of(value));
    }
    return 0;
  }

  static int end_headers(nghttp3_conn *, std::int64_t stream_id, int, void *user_data, void *) {
    H3Session &s = of(user_data);
    if (s.connection_.role() == quic::Role::server) {
      auto it = s.paths_.find(stream_id);
      const std::string path = it == s.paths_.end() ? std::string() : it->second;
      if (it != s.paths_.end()) s.paths_.erase(it);
      s.events_.on_request(stream_id, path);
      s.flume_fields_.erase(stream_id);
    } else {
      auto it = s.statuses_.find(stream_id);
      const unsigned status = it == s.statuses_.end() ? 0 : it->second;
      if (it != s.statuses_.end()) s.statuses_.erase(it);
      s.events_.on_response(stream_id, status);
      s.flume_fields_.erase(stream_id);
    }
    return 0;
  }

  static int end_stream(nghttp3_conn *, std::int64_t stream_id, void *user_data, void *) {
    of(user_data).events_.on_body_end(stream_id);
    return 0;
  }

  static int stop_sending(nghttp3_conn *, std::int64_t stream_id, std::uint64_t code,
                          void *user_data, void *) {
    of(user_data).connection_.stop_sending(stream_id, code);
    return 0;
  }

  static int reset_stream(nghttp3_conn *, std::int64_t stream_id, std::uint64_t code,
                          void *user_data, void *) {
    of(user_data).connection_.reset_stream(stream_id, code);
    return 0;
  }

  // Body bytes for nghttp3: whatever send_body queued, or "later" (resumed by send_body).
  static nghttp3_ssize read_data(nghttp3_conn *, std::int64_t stream_id, nghttp3_vec *vec,
                                 std::size_t veccnt, std::uint32_t *flags, void *user_data,
                                 void *) {
    H3Session &s = of(user_data);
    auto it = s.bodies_.find(stream_id);
    if (it != s.bodies_.end() && it->second.complete && it->second.pending.size() <= veccnt)
      *flags |= NGHTTP3_DATA_FLAG_EOF;
    if (it == s.bodies_.end() || (it->second.pending.empty() && !it->second.complete))
      return NGHTTP3_ERR_WOULDBLOCK;
    Body &body = it->second;
    std::size_t n = 0;
    while (n < veccnt && !body.pending.empty()) {
      SharedBuffer &front = body.pending.front();
      vec[n].base = const_cast<std::uint8_t *>(front.data());
      vec[n].len = front.size();
      body.pending_bytes -= front.size();
      body.inflight.push_back(std::move(front));
      body.pending.pop_front();
      ++n;
    }
    return static_cast<nghttp3_ssize>(n);
  }
};

std::unique_ptr<H3Session> H3Session::create(quic::Connection &connection, H3Events &events,
                                             std::string &error) {
  std::unique_ptr<H3Session> session(new H3Session(connection, events));
  nghttp3_callbacks callbacks{};
  callbacks.acked_stream_data = Callbacks::acked_stream_data;
  callbacks.stream_close = Callbacks::stream_close;
  callbacks.recv_data = Callbacks::recv_data;
  callbacks.recv_header = Callbacks::recv_header;
  callbacks.end_headers = Callbacks::end_headers;
  callbacks.end_stream = Callbacks::end_stream;
  callbacks.stop_sending = Callbacks::stop_sending;
  callbacks.reset_stream = Callbacks::reset_stream;
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  settings.max_field_section_size = kMaxFieldSection;
  // No dynamic QPACK table: a few fixed header fields per long-lived stream gain nothing from
  // it, and without it no stream can be blocked on the encoder stream.
  settings.qpack_max_dtable_capacity = 0;
  settings.qpack_blocked_streams = 0;

  const bool server = connection.role() == quic::Role::server;
  const int rv =
      server
          ? nghttp3_conn_server_new(&session->h3_, &callbacks, &settings, nullptr, session.get())
          : nghttp3_conn_client_new(&session->h3_, &callbacks, &settings, nullptr, session.get());
  if (rv != 0) {
    error = std::string("nghttp3: ") + nghttp3_strerror(rv);
    return nullptr;
  }
  if (server) {
    nghttp3_conn_set_max_client_streams_bidi(session->h3_,
                                             connection.endpoint().config().max_peer_bidi_streams);
  }
  const std::int64_t control = connection.open_uni_stream();
  const std::int64_t encoder = connection.open_uni_stream();
  const std::int64_t decoder = connection.open_uni_stream();
  if (control < 0 || encoder < 0 || decoder < 0) {
    error = "the peer allows fewer than 3 unidirectional streams (HTTP/3 needs them)";
    return nullptr;
  }
  if (nghttp3_conn_bind_control_stream(session->h3_, control) != 0 ||
      nghttp3_conn_bind_qpack_streams(session->h3_, encoder, decoder) != 0) {
    error = "nghttp3: cannot bind the control and QPACK streams";
    return nullptr;
  }
  session->flush();
  return session;
}

H3Session::~H3Session() {
  if (h3_ != nullptr) nghttp3_conn_del(h3_);
}

void H3Session::fail(int rv, std::string_view what) {
  if (!failure_.empty()) return;
  failure_ = std::string(what) + ": " + nghttp3_strerror(rv);
  connection_.close(nghttp3_err_infer_quic_app_error_code(rv), failure_,
                    quic::CloseMode::immediate);
}

std::int64_t H3Session::open_request(std::string_view authority, std::string_view path) {
  const std::int64_t stream_id = connection_.open_bidi_stream();
  if (stream_id < 0) return -1;
  const nghttp3_nv fields[] = {field(":method", "POST"), field(":scheme", "https"),
                               field(":authority", authority), field(":path", path)};
  const nghttp3_data_reader reader{Callbacks::read_data};
  bodies_[stream_id];
  if (int rv = nghttp3_conn_submit_request(h3_, stream_id, fields, 4, &reader, nullptr); rv != 0) {
    bodies_.erase(stream_id);
    fail(rv, "submitting a request");
    return -1;
  }
  flush();
  return stream_id;
}

bool H3Session::respond(std::int64_t stream_id, unsigned status) {
  const std::string code = std::to_string(status);
  const nghttp3_nv fields[] = {field(":status", code)};
  const nghttp3_data_reader reader{Callbacks::read_data};
  if (status == 200) bodies_[stream_id];
  // From end_headers (inside read_stream) as the example servers do; flush() then waits for
  // the read to end.
  if (int rv = nghttp3_conn_submit_response(h3_, stream_id, fields, 1,
                                            status == 200 ? &reader : nullptr);
      rv != 0) {
    bodies_.erase(stream_id);
    return false;
  }
  flush();
  return true;
}

bool H3Session::send_body(std::int64_t stream_id, SharedBuffer bytes, bool flush_now) {
  auto it = bodies_.find(stream_id);
  if (it == bodies_.end() || !failure_.empty()) return false;
  if (bytes.size() == 0) return true;
  it->second.pending_bytes += bytes.size();
  it->second.pending.push_back(std::move(bytes));
  if (in_read_) {
    to_resume_.push_back(stream_id);  // nghttp3 is inside read_stream: resumed right after
  } else {
    nghttp3_conn_resume_stream(h3_, stream_id);
    if (flush_now) flush();
  }
  return true;
}

std::int64_t H3Session::open_get(std::string_view authority, std::string_view path,
                                 const Fields &extra) {
  const std::int64_t stream_id = connection_.open_bidi_stream();
  if (stream_id < 0) return -1;
  std::vector<nghttp3_nv> fields = {field(":method", "GET"), field(":scheme", "https"),
                                    field(":authority", authority), field(":path", path)};
  for (const auto &[name, value] : extra)
    fields.push_back(field(name, value));
  if (int rv = nghttp3_conn_submit_request(h3_, stream_id, fields.data(), fields.size(), nullptr,
                                           nullptr);
      rv != 0) {
    fail(rv, "submitting a request");
    return -1;
  }
  flush();
  return stream_id;
}

bool H3Session::respond_complete(std::int64_t stream_id, unsigned status, const Fields &extra,
                                 SharedBuffer body) {
  const std::string code = std::to_string(status);
  std::vector<nghttp3_nv> fields = {field(":status", code)};
  for (const auto &[name, value] : extra)
    fields.push_back(field(name, value));
  const nghttp3_data_reader reader{Callbacks::read_data};
  const bool with_body = body.size() > 0;
  if (with_body) {
    Body &b = bodies_[stream_id];
    b.pending_bytes = body.size();
    b.pending.push_back(std::move(body));
    b.complete = true;
  }
  if (int rv = nghttp3_conn_submit_response(h3_, stream_id, fields.data(), fields.size(),
                                            with_body ? &reader : nullptr);
      rv != 0) {
    bodies_.erase(stream_id);
    return false;
  }
  flush();
  return true;
}

const std::string *H3Session::received_field(std::int64_t stream_id, std::string_view name) const {
  auto it = flume_fields_.find(stream_id);
  if (it == flume_fields_.end()) return nullptr;
  for (const auto &[n, value] : it->second) {
    if (n == name) return &value;
  }
  return nullptr;
}

H3Session::StreamBytes H3Session::stream_bytes(std::int64_t stream_id) const {
  auto it = stream_bytes_.find(stream_id);
  return it == stream_bytes_.end() ? StreamBytes{} : it->second;
}

std::size_t H3Session::unsent_body_bytes(std::int64_t stream_id) const {
  auto it = bodies_.find(stream_id);
  const std::size_t queued = it == bodies_.end() ? 0 : it->second.pending_bytes;
  return queued + connection_.unsent_bytes(stream_id);
}

void H3Session::flush() {
  // Not from inside nghttp3 (a callback that sends body bytes): the outer call flushes.
  if (flushing_ || in_read_ || h3_ == nullptr || !failure_.empty()) return;
  flushing_ = true;
  std::vector<std::uint8_t> scratch;
  while (true) {
    std::int64_t stream_id = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    const nghttp3_ssize count = nghttp3_conn_writev_stream(h3_, &stream_id, &fin, vec, 16);
    if (count < 0) {
      fail(static_cast<int>(count), "writing");
      break;
    }
    if (stream_id < 0) break;
    const std::size_t total = nghttp3_vec_len(vec, static_cast<std::size_t>(count));
    if (stream_id >= 0 && (stream_id & 2) == 0) stream_bytes_[stream_id].sent += total;
    if (total > 0) {
      SharedBuffer copy = SharedBuffer::allocate(total);
      if (!copy) {
        fail(NGHTTP3_ERR_NOMEM, "writing");
        break;
      }
      std::size_t at = 0;
      for (nghttp3_ssize i = 0; i < count; ++i) {
        if (vec[i].len > 0) std::memcpy(copy.mutable_data() + at, vec[i].base, vec[i].len);
        at += vec[i].len;
      }
      connection_.send(stream_id, std::move(copy), fin != 0);
    } else if (fin != 0) {
      connection_.send_fin(stream_id);
    }
    if (int rv = nghttp3_conn_add_write_offset(h3_, stream_id, total); rv != 0) {
      fail(rv, "writing");
      break;
    }
    // The connection holds its own copy now; nghttp3 may let go of its bytes.
    if (total > 0) {
      if (int rv = nghttp3_conn_add_ack_offset(h3_, stream_id, total); rv != 0) {
        fail(rv, "writing");
        break;
      }
    }
  }
  flushing_ = false;
}

void H3Session::on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                               bool fin) {
  if (h3_ == nullptr || !failure_.empty()) return;
  if ((stream_id & 2) == 0) stream_bytes_[stream_id].received += data.size();
  in_read_ = true;  // callbacks below may queue body bytes; they leave after read_stream
  const nghttp3_ssize n = nghttp3_conn_read_stream(h3_, stream_id, data.data(), data.size(), fin);
  in_read_ = false;
  for (std::int64_t id : to_resume_)
    nghttp3_conn_resume_stream(h3_, id);
  to_resume_.clear();
  if (n < 0) {
    fail(static_cast<int>(n), "reading");
    return;
  }
  // Headers, QPACK and body are all consumed at once (body bytes by on_body, synchronously), so
  // the whole input's credit goes back; a slow peer is bounded by the overlay's own limits.
  connection_.consume(stream_id, data.size());
  flush();
}

void H3Session::on_stream_reset(std::int64_t stream_id, std::uint64_t) {
  if (h3_ == nullptr) return;
  nghttp3_conn_shutdown_stream_read(h3_, stream_id);
}

void H3Session::on_stream_closed(std::int64_t stream_id, std::uint64_t app_error_code) {
  if (h3_ == nullptr) return;
  const int rv = nghttp3_conn_close_stream(
      h3_, stream_id, app_error_code != 0 ? app_error_code : NGHTTP3_H3_NO_ERROR);
  if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) fail(rv, "closing a stream");
  bodies_.erase(stream_id);
  stream_bytes_.erase(stream_id);
  flume_fields_.erase(stream_id);
}

}  // namespace flume::overlay
