#include "runtime/client_core.hpp"

#include <cerrno>
#include <cstring>

#include "client_engine/outbound_frames.hpp"
#include "subject/subject.hpp"

namespace flume {

ClientCore::ClientCore(ClientConfig config, std::vector<BrokerAddress> servers,
                       std::shared_ptr<const tls::ClientTrust> trust)
    : config_(std::move(config)),
      requests_(config_.max_pending_bytes),
      connection_(config_, std::move(servers), std::move(trust),
                  ClientConnection::Parts{requests_, flushes_, subscriptions_, counters_}) {}

ClientCore::~ClientCore() {
  close();
}

ClientResult ClientCore::publish(std::string_view subject, std::span<const std::uint8_t> payload) {
  SubjectError error = SubjectError::ok;
  const std::optional<CheckedSubject> checked = CheckedSubject::check(subject, error);
  if (!checked) {
    std::string shown(subject.substr(0, 64));
    return ClientResult{ClientStatus::invalid_subject,
                        "cannot publish to '" + shown + "': " + describe(error)};
  }
  const std::uint32_t limit = connection_.max_payload();
  if (payload.size() > limit) {
    return ClientResult{ClientStatus::payload_too_large,
                        "cannot publish " + std::to_string(payload.size()) +
                            " bytes: the broker's limit (max_payload) is " + std::to_string(limit) +
                            " bytes"};
  }
  // The frame is made here, on the caller's thread: the loop thread only hands it to QUIC.
  client_engine::EncodedPublish frame = client_engine::encode_publish(*checked, payload, limit);
  if (!frame) return ClientResult{ClientStatus::no_memory, "out of memory"};
  bool wake_loop = false;
  ClientResult result = requests_.push_publish(std::move(frame), config_.publish_timeout,
                                               connection_.on_loop_thread(), wake_loop);
  if (!result.ok()) return result;
  ClientCounters::add(counters_.messages_out);
  ClientCounters::add(counters_.bytes_out, payload.size());
  if (wake_loop) wake();
  return {};
}

ClientResult ClientCore::flush(std::chrono::milliseconds timeout) {
  const std::optional<std::uint32_t> id = flushes_.begin();
  if (!id) return ClientResult{ClientStatus::closed, "the client is closed"};
  push(ClientRequest{ClientRequest::Kind::flush, {}, *id});
  return flushes_.wait(*id, timeout);
}

std::shared_ptr<Subscription> ClientCore::subscribe(std::string_view pattern,
                                                    const SubscribeOptions &options,
                                                    MessageCallback callback,
                                                    ClientResult &result) {
  if (SubjectError error = validate_pattern(pattern); error != SubjectError::ok) {
    result = ClientResult{
        ClientStatus::invalid_pattern,
        "cannot subscribe to '" + std::string(pattern.substr(0, 64)) + "': " + describe(error)};
    return nullptr;
  }
  if (options.local_queue_limit == 0) {
    result = ClientResult{ClientStatus::invalid_argument, "local_queue_limit must be at least 1"};
    return nullptr;
  }
  std::shared_ptr<Subscription> subscription;
  if (!connection_.closed()) {
    subscription = subscriptions_.add(shared_from_this(), pattern, options, std::move(callback));
  }
  if (!subscription) {
    result = ClientResult{ClientStatus::closed, "the client is closed"};
    return nullptr;
  }
  if (subscription->fd() < 0) {
    // Refused here rather than "subscribed" with no way to signal its messages: a subscription
    // without its eventfd would never wake a recv() or a poll().
    subscriptions_.remove(subscription->id());
    const int error = subscription->fd_error();
    result = ClientResult{
        ClientStatus::os_error,
        "cannot subscribe to '" + std::string(pattern.substr(0, 64)) +
            "': no file descriptor for its event (eventfd: " + std::strerror(error) + ")" +
            (error == EMFILE || error == ENFILE
                 ? "; the process is out of file descriptors: close some or raise the limit "
                   "(ulimit -n)"
                 : "")};
    return nullptr;
  }
  push(ClientRequest{ClientRequest::Kind::subscribe, {}, subscription->id()});
  result = {};
  return subscription;
}

void ClientCore::unsubscribe(std::uint32_t id) {
  if (!subscriptions_.remove(id) || connection_.closed()) return;
  push(ClientRequest{ClientRequest::Kind::unsubscribe, {}, id});
}

void ClientCore::return_credit(std::uint32_t id) {
  // From recv() once a full queue drained: give the held-back credit back (loop thread).
  push(ClientRequest{ClientRequest::Kind::credit, {}, id});
}

void ClientCore::push(ClientRequest request) {
  bool wake_loop = false;
  if (requests_.push(std::move(request), wake_loop) && wake_loop) wake();
}

void ClientCore::wake() {
  // One wake-up for a burst of requests: the loop drains them all in one go.
  connection_.loop().post([self = shared_from_this()] { self->connection_.run_requests(); });
}

}  // namespace flume
