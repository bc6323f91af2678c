// The structs behind flume_client, flume_subscription and flume_message, shared by the files that
// implement them. Internal to libflume.
//
// Ownership: a flume_client owns the C++ Client; a flume_subscription owns a shared_ptr to its
// Subscription, which owns a shared_ptr to the client's core. So closing the client frees the
// flume_client at once while the core lives on until the last subscription is freed
// (sqlite3_close_v2), and no subscription ever points at a freed flume_client.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "flume/flume.h"
#include "runtime/client.hpp"

namespace flume::capi {

// The id of the client whose handler is running on this thread, 0 outside handlers. Calls that
// would wait for their own loop thread compare it with their client's id and refuse.
std::uint64_t delivering_client() noexcept;

// A flume_message_handler and the state that makes its drop run exactly once, after the last
// call: calls come from the loop thread only; retire() may come from any thread, including from
// inside a call.
class Handler {
 public:
  Handler(const flume_message_handler &handler, std::uint64_t client_id) noexcept
      : handler_(handler), client_id_(client_id) {}
  ~Handler() { retire(); }
  Handler(const Handler &) = delete;
  Handler &operator=(const Handler &) = delete;

  // Loop thread: one message, unless retired.
  void call(const MessageView &message) noexcept;
  // No call starts after this returns; drop runs now, or when the running call returns.
  void retire() noexcept;
  // For a subscribe that failed: neither call nor drop may ever run.
  void forget() noexcept;

 private:
  void drop() noexcept;

  const flume_message_handler handler_;
  const std::uint64_t client_id_;
  std::mutex mutex_;
  bool in_call_ = false;
  bool retired_ = false;
  bool dropped_ = false;
};

struct MessageBlock;

}  // namespace flume::capi

struct flume_client {
  std::unique_ptr<flume::Client> client;
  std::uint64_t id = 0;  // never reused; see delivering_client()
  // Every handler of this client's subscriptions, retired (drop called) by flume_client_close.
  std::mutex handlers_mutex;
  std::vector<std::weak_ptr<flume::capi::Handler>> handlers;
};

struct flume_subscription {
  std::shared_ptr<flume::Subscription> subscription;
  std::shared_ptr<flume::capi::Handler> handler;  // null for a polling subscription
  std::uint64_t client_id = 0;
};

// One received message. Messages taken by one recv_batch live side by side in one MessageBlock,
// so a batch costs one allocation however many messages it holds; each message's bytes are
// released when that message is freed, the block when its last message is.
struct flume_message {
  flume::Message message;
  flume::capi::MessageBlock *block;
};

namespace flume::capi {

// Moves messages[0 .. count-1] into one new block and stores a pointer to each in out[i].
// False (nothing moved) when memory is exhausted.
bool adopt_messages(std::vector<Message> &messages, std::size_t count, flume_message **out);

// The C view of a message or gap (struct_size: the whole view).
flume_message_view view_of(const MessageView &message) noexcept;

}  // namespace flume::capi
