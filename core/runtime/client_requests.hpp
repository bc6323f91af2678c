// RequestQueue: how the application's calls reach the loop thread. Every call that needs the
// session (publish, subscribe, unsubscribe, flush, returning stream credit) appends a request here
// from any thread, in call order; the first request after a drain asks the caller to post one
// wake-up, and the loop thread takes the whole batch at once, so a burst of publishes costs one
// wake-up. Publishes are bounded (back-pressure): at most max_pending_bytes wait, here or in
// QUIC's send buffer, before publish() waits for room or fails. The queue knows nothing of the
// session or the connection: the connection tells it whether publishes are accepted (open) and
// how many bytes QUIC has not sent yet.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "client_engine/outbound_frames.hpp"
#include "runtime/client.hpp"

namespace flume {

struct ClientRequest {
  enum class Kind : std::uint8_t { publish, subscribe, unsubscribe, flush, credit };
  Kind kind = Kind::publish;
  client_engine::EncodedPublish frame;  // publish
  std::uint32_t id = 0;                 // subscription id, or flush id
};

class RequestQueue {
 public:
  explicit RequestQueue(std::size_t max_pending_bytes) noexcept
      : max_pending_bytes_(max_pending_bytes) {}

  // Any thread. Appends a request other than a publish. `wake` is set when the caller must post
  // the wake-up that drains the queue. False (nothing queued) once the queue is closed.
  bool push(ClientRequest request, bool &wake);

  // Any thread. Appends a publish if there is room for it: while more than max_pending_bytes
  // wait, waits up to `wait` for room (0: fails at once with timeout; `on_loop_thread` says why
  // it could not wait). closed or not_connected when publishes are not accepted.
  ClientResult push_publish(client_engine::EncodedPublish frame, std::chrono::milliseconds wait,
                            bool on_loop_thread, bool &wake);

  // Loop thread. Takes every queued request; the publishes among them now count as unsent until
  // set_unsent() gives QUIC's own count.
  std::vector<ClientRequest> take();
  // Loop thread. Bytes the connection has not sent yet; publishers waiting for room wake when it
  // falls.
  void set_unsent(std::size_t bytes);
  // Publishes are accepted only while the session is ready. Closing the session also drops the
  // unsent count (those bytes are gone with the connection) and wakes waiting publishers.
  void set_open(bool open);
  // Refuses every request from now on and wakes waiting publishers (the client is closed).
  void close();

 private:
  bool has_room(std::size_t size) const noexcept;

  const std::size_t max_pending_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::vector<ClientRequest> requests_;
  bool posted_ = false;  // a wake-up is on its way
  bool open_ = false;
  bool closed_ = false;
  std::size_t queued_publish_bytes_ = 0;  // publishes in requests_
  std::size_t unsent_bytes_ = 0;          // handed to the connection, not yet sent by QUIC
};

}  // namespace flume
