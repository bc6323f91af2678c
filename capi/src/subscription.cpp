// flume_client_subscribe and flume_subscription_*: receiving by handler or by polling.
#include <cstddef>

#include "handles.hpp"
#include "last_error.hpp"

using flume::capi::fail;
using flume::capi::guarded;

namespace {

int options_from(const flume_subscription_options *options, flume::SubscribeOptions &out) {
  out.local_queue_limit = FLUME_DEFAULT_LOCAL_QUEUE_LIMIT;
  if (options == nullptr) return FLUME_OK;
  if (!flume::capi::struct_size_ok(options->struct_size,
                                   FLUME_STRUCT_END(flume_subscription_options, local_queue_limit),
                                   "flume_subscription_options")) {
    return FLUME_EOPTIONS;
  }
  switch (options->overflow_policy) {
    case FLUME_OVERFLOW_DEFAULT:
    case FLUME_OVERFLOW_DROP_OLDEST:
      out.overflow = flume::OverflowPolicy::drop_oldest;
      break;
    case FLUME_OVERFLOW_DROP_NEWEST:
      out.overflow = flume::OverflowPolicy::drop_newest;
      break;
    case FLUME_OVERFLOW_CLOSE:
      out.overflow = flume::OverflowPolicy::close;
      break;
    default:
      return fail(FLUME_EINVAL,
                  "flume_subscription_options.overflow_policy must be one of FLUME_OVERFLOW_*");
  }
  out.queue_limit = options->queue_limit;
  if (options->local_queue_limit != 0) out.local_queue_limit = options->local_queue_limit;
  if (options->struct_size >= FLUME_STRUCT_END(flume_subscription_options, report_gaps)) {
    out.report_gaps = options->report_gaps > 0;  // a switch: 0 default (off), FLUME_OFF off
  }
  return FLUME_OK;
}

// A call that waits must not run on the loop thread that would end its wait.
bool would_block_own_loop(const flume_subscription *subscription,
                          const flume::capi::Timeout &timeout) {
  return (timeout.forever || timeout.ms != 0) &&
         flume::capi::delivering_client() == subscription->client_id;
}

std::chrono::milliseconds duration_of(const flume::capi::Timeout &timeout) {
  return std::chrono::milliseconds(timeout.forever ? -1 : timeout.ms);
}

}  // namespace

extern "C" int flume_subscription_options_init(flume_subscription_options *out,
                                               size_t struct_size) {
  const flume_subscription_options defaults = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_subscription_options, local_queue_limit),
                                  "flume_subscription_options");
}

extern "C" int flume_subscription_stats_init(flume_subscription_stats *out, size_t struct_size) {
  const flume_subscription_stats defaults = FLUME_SUBSCRIPTION_STATS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_subscription_stats, state),
                                  "flume_subscription_stats");
}

extern "C" int flume_client_subscribe(flume_subscription **out, flume_client *client,
                                      const char *pattern, size_t pattern_length,
                                      const flume_subscription_options *options,
                                      const flume_message_handler *handler) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  if (client == nullptr) return fail(FLUME_EINVAL, "client is NULL");
  if (pattern == nullptr && pattern_length != 0) return fail(FLUME_EINVAL, "pattern is NULL");
  if (handler != nullptr && handler->call == nullptr) {
    return fail(FLUME_EINVAL, "handler->call is NULL (pass a NULL handler for polling)");
  }
  flume::SubscribeOptions subscribe_options;
  if (int rc = options_from(options, subscribe_options); rc != FLUME_OK) return rc;
  return guarded([&]() -> int {
    auto handle = std::make_unique<flume_subscription>();
    handle->client_id = client->id;
    flume::MessageCallback callback;
    if (handler != nullptr) {
      handle->handler = std::make_shared<flume::capi::Handler>(*handler, client->id);
      // Registered first, so nothing can fail between a successful subscribe and this.
      std::lock_guard lock(client->handlers_mutex);
      std::erase_if(client->handlers, [](const auto &weak) { return weak.expired(); });
      client->handlers.push_back(handle->handler);
      callback = [handler = handle->handler](const flume::MessageView &message) {
        handler->call(message);
      };
    }
    flume::ClientResult result;
    handle->subscription = client->client->subscribe(
        pattern == nullptr ? std::string_view() : std::string_view(pattern, pattern_length),
        subscribe_options, std::move(callback), result);
    if (!handle->subscription) {
      // The caller keeps its context: neither call nor drop will run.
      if (handle->handler) handle->handler->forget();
      return fail(result);
    }
    *out = handle.release();
    return FLUME_OK;
  });
}

extern "C" uint32_t flume_subscription_id(const flume_subscription *subscription) {
  return subscription == nullptr ? 0 : subscription->subscription->id();
}

extern "C" int flume_subscription_wait_ready(flume_subscription *subscription, int timeout_ms) {
  if (subscription == nullptr) return fail(FLUME_EINVAL, "subscription is NULL");
  flume::capi::Timeout timeout;
  if (!flume::capi::timeout_of(timeout_ms, timeout)) return FLUME_EINVAL;
  if (would_block_own_loop(subscription, timeout)) {
    return fail(FLUME_EINVAL,
                "a waiting flume_subscription_wait_ready() was called from a handler of the same "
                "client: the answer would come on the loop thread the handler runs on");
  }
  return guarded([&]() -> int {
    flume::ClientResult result = subscription->subscription->wait_ready(duration_of(timeout));
    if (result.status == flume::ClientStatus::timeout) return fail(FLUME_EAGAIN, result.message);
    return fail(result);
  });
}

extern "C" int flume_subscription_recv_batch(flume_message **out, size_t capacity, size_t *count,
                                             flume_subscription *subscription, int timeout_ms) {
  if (count != nullptr) *count = 0;
  if (subscription == nullptr || out == nullptr || count == nullptr) {
    return fail(FLUME_EINVAL, "subscription, out and count must not be NULL");
  }
  if (capacity == 0) return fail(FLUME_EINVAL, "capacity must be at least 1");
  flume::capi::Timeout timeout;
  if (!flume::capi::timeout_of(timeout_ms, timeout)) return FLUME_EINVAL;
  if (would_block_own_loop(subscription, timeout)) {
    return fail(FLUME_EINVAL,
                "a waiting recv was called from a handler of the same client: it would wait for "
                "the loop thread the handler runs on (use FLUME_NO_WAIT there)");
  }
  return guarded([&]() -> int {
    // Reused by every call on this thread: steady-state receiving allocates one block per batch
    // and nothing else.
    thread_local std::vector<flume::Message> taken;
    taken.clear();
    flume::ClientResult result =
        subscription->subscription->recv_batch(taken, capacity, duration_of(timeout));
    if (!result.ok()) {
      // "No message yet" is one code whatever the timeout was.
      if (result.status == flume::ClientStatus::timeout) {
        return fail(FLUME_EAGAIN,
                    timeout.ms == 0 && !timeout.forever ? "no message is waiting" : result.message);
      }
      return fail(result);
    }
    const std::size_t n = taken.size();
    const bool adopted = flume::capi::adopt_messages(taken, n, out);
    taken.clear();
    if (!adopted) return fail(FLUME_ENOMEM, "out of memory: the messages taken were lost");
    *count = n;
    return FLUME_OK;
  });
}

extern "C" int flume_subscription_recv(flume_message **out, flume_subscription *subscription,
                                       int timeout_ms) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  size_t count = 0;
  return flume_subscription_recv_batch(out, 1, &count, subscription, timeout_ms);
}

extern "C" int flume_subscription_fd(const flume_subscription *subscription) {
  if (subscription == nullptr) return fail(FLUME_EINVAL, "subscription is NULL");
  const int fd = subscription->subscription->fd();
  if (fd < 0) {
    return fail(FLUME_EIO, "the subscription has no event fd: eventfd() failed when it was made");
  }
  return fd;
}

extern "C" int flume_subscription_unsubscribe(flume_subscription *subscription) {
  if (subscription == nullptr) return fail(FLUME_EINVAL, "subscription is NULL");
  // First, so that no call starts after this returns even if one is about to on the loop thread.
  if (subscription->handler) subscription->handler->retire();
  return guarded([&]() -> int { return fail(subscription->subscription->unsubscribe()); });
}

extern "C" int flume_subscription_get_stats(flume_subscription_stats *out,
                                            const flume_subscription *subscription) {
  if (subscription == nullptr || out == nullptr) {
    return fail(FLUME_EINVAL, "subscription or out is NULL");
  }
  if (!flume::capi::struct_size_ok(out->struct_size,
                                   FLUME_STRUCT_END(flume_subscription_stats, state),
                                   "flume_subscription_stats")) {
    return FLUME_EOPTIONS;
  }
  const flume::SubscriptionStats stats = subscription->subscription->stats();
  out->received = stats.received;
  out->dropped_by_broker = stats.dropped_by_broker;
  out->dropped_locally = stats.dropped_locally;
  out->queued = stats.queued;
  out->queued_high_water = stats.queued_high_water;
  out->queue_limit = stats.queue_limit;
  if (out->struct_size >= FLUME_STRUCT_END(flume_subscription_stats, last_sequence)) {
    out->resubscribed = stats.resubscribed;
    out->last_sequence = stats.last_sequence;
  }
  // Read after the counters: a subscription that ended meanwhile reports ENDED, never ACTIVE
  // with counters from after its end.
  out->state = subscription->subscription->ended() ? FLUME_SUBSCRIPTION_ENDED
               : stats.accepted                    ? FLUME_SUBSCRIPTION_ACTIVE
                                                   : FLUME_SUBSCRIPTION_PENDING;
  return FLUME_OK;
}

extern "C" void flume_subscription_free(flume_subscription *subscription) {
  if (subscription == nullptr) return;
  if (subscription->handler) subscription->handler->retire();
  // The Subscription unsubscribes when its last reference goes: here, or on the loop thread if
  // it is delivering to it right now. It holds the client's core, freed with the last of them.
  delete subscription;
}
