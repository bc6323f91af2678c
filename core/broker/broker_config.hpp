// What a Broker can be configured with. Defaults are those of docs/protocol.md section 12.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token_signing.hpp"

#include "codec/frame.hpp"
#include "flume/version.hpp"

namespace flume::broker {

// The broker's name in OK to HELLO: "flume-broker/<VERSION>".
inline const std::string kDefaultServerName = "flume-broker/" + std::string(kVersion);

// Decides whether a HELLO is admitted. Called synchronously from Broker::on_stream_data, once per
// HELLO, with the broker consistent and nothing half-done; it must not call back into the Broker
// (such calls are refused). `token` is empty when the HELLO carried none. An exception thrown by
// the hook closes that connection with INTERNAL_ERROR.
using AuthHook =
    std::function<bool(std::span<const std::uint8_t> token, std::string_view client_name)>;

struct BrokerConfig {
  // Largest PUBLISH/MESSAGE payload; announced as max_payload. Clamped to [1, kHardMaxPayload].
  std::uint32_t max_payload = kDefaultMaxPayload;
  // Sessions that may be past the handshake at once; more are refused with TOO_MANY_CONNECTIONS.
  std::size_t max_connections = 10000;
  // Refused sessions kept open to answer their HELLO with ERROR{TOO_MANY_CONNECTIONS}; beyond
  // this many at once, new ones are closed at open_session without waiting (section 7 allows it).
  std::size_t max_refusing_connections = 64;
  // Live subscriptions per connection; announced as max_subscriptions (at most UINT32_MAX).
  std::uint32_t max_subscriptions_per_connection = 10000;
  // Queue length in messages when SUBSCRIBE has no queue_limit, and the cap for one that has.
  std::uint32_t default_queue_limit = 1024;
  std::uint32_t max_queue_limit = 65536;
  // Bytes of queued MESSAGE frames (plus PUBLISH bytes held before HELLO) one connection may make
  // the broker hold. Also bounds the answers waiting on its control stream.
  std::size_t max_pending_bytes_per_connection = std::size_t{64} << 20;
  // Bytes the delivery queues of all connections may hold together (what is counted:
  // memory_budget.hpp). When queuing a message would go past it, the subscriptions holding the
  // most bytes take their overflow policy first. 0: default_memory_budget(), a quarter of the
  // machine's memory (or of the cgroup's limit).
  std::size_t max_memory_bytes = 0;
  // Bytes the broker lets wait inside the transport per subscription stream before it keeps the
  // rest in its own queue, where the overflow policy can act on it.
  std::size_t stream_window_bytes = std::size_t{64} << 10;
  // A session that has not had its HELLO accepted this long after open_session is closed.
  std::chrono::nanoseconds hello_timeout = std::chrono::seconds(10);
  // server_name in OK to HELLO; cut to 255 bytes.
  std::string server_name = std::string(kDefaultServerName);
  // Empty: every HELLO with a supported version is admitted.
  AuthHook authenticate;

  // Operator public keys (docs/security.md). Empty: tokens are not checked and every client is
  // in the default tenant. Otherwise every HELLO must carry a token one of them verifies, its
  // grants are enforced on SUBSCRIBE and PUBLISH, its tenant is the client's subject space, and
  // the connection is closed with TOKEN_EXPIRED when the token runs out (protocol.md 19).
  // Checked before `authenticate`, which still runs when both are set.
  std::vector<auth::VerifyingKey> auth_keys;
  // Unix time in milliseconds, the clock token windows are checked against. Empty: the system
  // clock. A test sets it to move time without waiting.
  std::function<std::uint64_t()> unix_time_ms;
};

}  // namespace flume::broker
