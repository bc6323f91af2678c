#include "runtime/client_requests.hpp"

#include <string>

namespace flume {

bool RequestQueue::push(ClientRequest request, bool &wake) {
  std::lock_guard lock(mutex_);
  wake = false;
  if (closed_) return false;  // the loop is stopping or gone: nothing would run it
  requests_.push_back(std::move(request));
  wake = !posted_;
  posted_ = true;
  return true;
}

bool RequestQueue::has_room(std::size_t size) const noexcept {
  const std::size_t pending = queued_publish_bytes_ + unsent_bytes_;
  // Not open: no wait, the call fails below. A message bigger than the limit is taken alone.
  return !open_ || closed_ || pending == 0 || pending + size <= max_pending_bytes_;
}

ClientResult RequestQueue::push_publish(client_engine::EncodedPublish frame,
                                        std::chrono::milliseconds wait, bool on_loop_thread,
                                        bool &wake) {
  const std::size_t size = frame.size();
  std::unique_lock lock(mutex_);
  wake = false;
  if (!has_room(size)) {
    const bool can_wait = wait.count() > 0 && !on_loop_thread;
    if (!can_wait || !room_.wait_for(lock, wait, [&] { return has_room(size); })) {
      return ClientResult{
          ClientStatus::timeout,
          "cannot publish: " + std::to_string(queued_publish_bytes_ + unsent_bytes_) +
              " bytes already wait for the network (max_pending_bytes is " +
              std::to_string(max_pending_bytes_) + ") and " +
              (can_wait ? "no room came within " + std::to_string(wait.count()) + " ms"
                        : std::string("this call cannot wait for room")) +
              "; the path is slower than the publisher"};
    }
  }
  if (closed_) return ClientResult{ClientStatus::closed, "the client is closed"};
  if (!open_) {
    return ClientResult{ClientStatus::not_connected,
                        "not connected to the broker (reconnecting); the message was not sent"};
  }
  requests_.push_back(ClientRequest{ClientRequest::Kind::publish, std::move(frame), 0});
  queued_publish_bytes_ += size;
  wake = !posted_;
  posted_ = true;
  return {};
}

std::vector<ClientRequest> RequestQueue::take() {
  std::vector<ClientRequest> taken;
  std::lock_guard lock(mutex_);
  taken.swap(requests_);
  posted_ = false;
  // The publishes move from the queue to the connection; set_unsent() makes the count exact.
  unsent_bytes_ += queued_publish_bytes_;
  queued_publish_bytes_ = 0;
  return taken;
}

void RequestQueue::set_unsent(std::size_t bytes) {
  bool fell = false;
  {
    std::lock_guard lock(mutex_);
    fell = bytes < unsent_bytes_;
    unsent_bytes_ = bytes;
  }
  if (fell) room_.notify_all();
}

void RequestQueue::set_open(bool open) {
  {
    std::lock_guard lock(mutex_);
    open_ = open;
    if (!open) unsent_bytes_ = 0;  // gone with the connection
  }
  room_.notify_all();
}

void RequestQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  room_.notify_all();
}

}  // namespace flume
