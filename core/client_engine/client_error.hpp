// What a client call can refuse, and why. Every refusal happens before anything is sent, so a
// failed call never leaves a partial frame on the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace flume::client_engine {

enum class ClientErrc : std::uint8_t {
  ok = 0,
  not_started,        // start() has not been called, so no HELLO is on the wire yet
  already_started,    // start() was called twice
  session_closed,     // the session failed or was closed; the message says why
  invalid_config,     // SessionConfig value over its protocol limit (name, library, token)
  invalid_subject,    // publish: not a valid subject (section 10); the message says which rule
  invalid_pattern,    // subscribe: not a valid pattern (section 10)
  payload_too_large,  // publish: over the broker's max_payload (or 65536 before the OK)
  invalid_subscription_id,  // subscription id 0, which the protocol reserves
  subscription_id_in_use,   // the id still names a subscription (or one whose stream has not ended)
  unknown_subscription,     // unsubscribe: no live subscription with this id
  too_many_subscriptions,   // subscribe: the broker's announced max_subscriptions is reached
  invalid_overflow_policy,  // an OverflowPolicy value protocol version 1 does not define
  out_of_memory,            // an allocation failed; nothing was sent
};

// Short name of a code ("payload_too_large").
std::string_view client_errc_name(ClientErrc code) noexcept;

// The outcome of a call: ok, or a code and a sentence for a person ("payload of 70000 bytes is
// over the broker's limit of 65536 bytes (max_payload)"). The message is built only on failure.
class [[nodiscard]] Result {
 public:
  Result() noexcept = default;
  // Never throws: if the message cannot be allocated the result keeps its code and an empty
  // message.
  static Result failure(ClientErrc code, std::string_view message) noexcept;

  bool ok() const noexcept { return code_ == ClientErrc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  ClientErrc code() const noexcept { return code_; }
  const std::string &message() const noexcept { return message_; }

 private:
  Result(ClientErrc code, std::string message) noexcept
      : code_(code), message_(std::move(message)) {}

  ClientErrc code_ = ClientErrc::ok;
  std::string message_;
};

}  // namespace flume::client_engine
