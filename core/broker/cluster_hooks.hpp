// What the broker engine tells an overlay node (docs/overlay.md), and nothing more: which
// patterns local subscribers hold (the node's interest, advertised to its peers) and each message
// a local client publishes (forwarded to peers with matching interest). The engine calls these
// synchronously from inside its own methods; an implementation must not call back into the
// Broker from them (queue the work, as the SessionTransport rules say), and must not throw.
#pragma once

#include <span>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "subject/subject.hpp"

namespace flume::broker {

class ClusterHooks {
 public:
  virtual ~ClusterHooks() = default;

  // The first live local subscription with this pattern appeared / the last one went.
  virtual void on_interest_added(std::string_view pattern) = 0;
  virtual void on_interest_removed(std::string_view pattern) = 0;

  // A local client published. `message_frame` is the MESSAGE frame the engine encoded for its
  // own subscribers, or empty when none matched (the hook encodes one if a peer wants it).
  virtual void on_local_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                                const SharedBuffer &message_frame) = 0;
};

}  // namespace flume::broker
