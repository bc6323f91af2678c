// ClientCore: the inside of a Client, shared by the Client and its Subscriptions. It is the
// application's side: it checks each call's arguments on the caller's thread (a subject is
// validated here and nowhere else on the client; a PUBLISH is encoded here, once) and hands the
// work to the parts that do it:
//
//   RequestQueue          the calls, in order, to the loop thread; publish back-pressure
//   FlushTracker          what flush() waits for
//   SubscriptionRegistry  the live subscriptions; stream credit held while one's queue is full
//   ClientCounters        stats()
//   ClientConnection      the loop thread, the QUIC connection and its session; reconnects
//
// Internal to core/runtime; the public face is client.hpp.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "runtime/client.hpp"
#include "runtime/client_connection.hpp"
#include "runtime/client_counters.hpp"
#include "runtime/client_flushes.hpp"
#include "runtime/client_requests.hpp"
#include "runtime/client_subscriptions.hpp"

namespace flume {

class ClientCore final : public std::enable_shared_from_this<ClientCore> {
 public:
  // `servers`: every address of every broker the client was given (ClientConnection).
  ClientCore(ClientConfig config, std::vector<BrokerAddress> servers,
             std::shared_ptr<const tls::ClientTrust> trust);
  ~ClientCore();
  ClientCore(const ClientCore &) = delete;
  ClientCore &operator=(const ClientCore &) = delete;

  // Starts the loop thread and the first connection; waits for the outcome.
  ClientResult start() { return connection_.start(); }
  void close() { connection_.close(); }

  ClientResult publish(std::string_view subject, std::span<const std::uint8_t> payload);
  ClientResult flush(std::chrono::milliseconds timeout);
  std::shared_ptr<Subscription> subscribe(std::string_view pattern, const SubscribeOptions &options,
                                          MessageCallback callback, ClientResult &result);
  ClientStats stats() const { return counters_.snapshot(); }
  std::uint32_t max_payload() const noexcept { return connection_.max_payload(); }

  // From Subscription (any thread).
  void unsubscribe(std::uint32_t id);
  void return_credit(std::uint32_t id);

 private:
  // Any thread: queues a request and, for the first of a burst, posts the one wake-up.
  void push(ClientRequest request);
  void wake();

  const ClientConfig config_;
  ClientCounters counters_;
  RequestQueue requests_;
  FlushTracker flushes_;
  SubscriptionRegistry subscriptions_;
  // Last: destroyed first, since its thread drives the parts above.
  ClientConnection connection_;
};

}  // namespace flume
