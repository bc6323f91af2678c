// One subscription of one session: its route in the broker's router, its stream to the client
// and the queue of messages waiting for room on that stream.
#pragma once

#include <cstdint>
#include <list>
#include <string>

#include "broker/delivery_queue.hpp"
#include "broker/queue_ranking.hpp"
#include "protocol/protocol.hpp"
#include "router/subject_trie.hpp"

namespace flume::broker {

class Session;

enum class SubscriptionState : std::uint8_t {
  live,           // in the router, receiving messages
  draining,       // unsubscribed: writes what is queued, then FIN
  slow_consumer,  // ended with an error (end_code): SLOW_CONSUMER by policy `close`, or
                  // PERMISSION_DENIED by a renewed token; writes ERROR then FIN
  done,           // stream ended or connection gone; only waits to be freed
};

struct Subscription {
  Subscription(Session &owner, std::uint32_t subscription_id, OverflowPolicy policy,
               std::uint32_t queue_limit, MemoryAccount *memory = nullptr) noexcept
      : session(owner), id(subscription_id), queue(policy, queue_limit, memory) {}

  Session &session;
  std::uint32_t id;
  SubscriptionState state = SubscriptionState::live;
  std::int64_t stream_id = -1;  // -1 until the transport gave us a stream
  bool waiting_for_stream = false;
  SubscriptionHandle route;
  // The router holding `route`: the broker's, or its tenant's (tokens with a tenant).
  SubjectTrie<Subscription *> *router = nullptr;
  std::string pattern;  // kept when the broker is an overlay node (ClusterHooks) or checks tokens
  bool announced = false;                         // `pattern` was handed to the cluster hooks
  ErrorCode end_code = ErrorCode::slow_consumer;  // the ERROR ending it, in state slow_consumer
  std::string end_message;
  DeliveryQueue queue;
  std::uint64_t dropped = 0;  // policy drops over the subscription's life
  RankLink rank;              // in the broker's QueueRanking while its queue holds bytes
  // Where this object sits in its session's list (and later the broker's graveyard), so it can
  // be moved between them without allocating.
  std::list<Subscription>::iterator self;
};

}  // namespace flume::broker
