// flume pub: publishes a message, generated payloads, or each line of standard input.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "flume_cli.hpp"
#include "subject/subject.hpp"

namespace flume::cli {
namespace {

constexpr const char *kDescription =
    R"(publish MESSAGE, or each line of standard input, to SUBJECT

Publishes MESSAGE to SUBJECT. Without MESSAGE, each line of standard input is one message (its
newline removed) until the end of the input. Exits once the broker has processed every message,
and reports on stderr how many it confirmed.)";

constexpr const char *kFooter =
    R"(If the connection is lost, flume pub waits for the client to reconnect (up to --timeout, default
10000 ms) and goes on with the next message; messages that went out on the lost connection
before the broker confirmed them are counted "in doubt" (they may or may not have arrived) and
are not sent again.

exit status: 0 all confirmed by the broker, 1 an error (the broker unreachable for longer than
--timeout, a refusal), 2 a bad command line, 3 done but some messages in doubt.

examples:
  flume pub orders.eu.created '{"id": 42}'
  printf 'one\ntwo\n' | flume pub lines
  flume pub load.test --size 1024 --count 100000
)";

constexpr CommandInfo kPub{"pub"};

struct PubOptions {
  std::string subject;
  std::optional<std::string> message;
  unsigned long long count = 1;
  std::optional<std::size_t> size;
};

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

// Publishes and keeps the account. A publish refused because the connection is down (the client
// is reconnecting) waits for the next connection, up to the reconnect wait, and is tried again:
// it was never sent, so nothing is sent twice. What went out on a connection that was then lost
// is counted in doubt, never as published.
class Publisher {
 public:
  Publisher(Client &client, const PubOptions &options, std::chrono::milliseconds wait)
      : client_(client),
        options_(options),
        wait_(wait),
        window_(client, 8192, wait, FlushFailure::count_on) {}

  // Publishes `payload` --count times; exits 1 when the broker stays unreachable.
  void publish(std::span<const std::uint8_t> payload) {
    for (unsigned long long i = 0; i < options_.count; ++i) {
      ClientResult result = client_.publish(options_.subject, payload);
      while (result.status == ClientStatus::not_connected && wait_for_connection()) {
        result = client_.publish(options_.subject, payload);
      }
      if (!result.ok()) fail(kPub, result.message + after());
      ++sent_;
      bytes_ += payload.size();
      (void)window_.published(payload.size());  // never fails with FlushFailure::count_on
    }
  }

  PublishAccount finish() {
    (void)window_.finish();
    return window_.account();
  }

  std::uint64_t sent() const noexcept { return sent_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  // True once the client is connected again, false after wait_ (then it has said so).
  bool wait_for_connection() {
    if (!reconnect_announced_) {
      std::fprintf(stderr, "flume pub: the broker is unreachable; waiting up to %lld ms for it\n",
                   static_cast<long long>(wait_.count()));
      reconnect_announced_ = true;
    }
    const auto deadline = std::chrono::steady_clock::now() + wait_;
    while (std::chrono::steady_clock::now() < deadline) {
      if (client_.stats().connected) {
        std::fprintf(stderr, "flume pub: connected again; publishing on\n");
        reconnect_announced_ = false;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr, "flume pub: the broker stayed unreachable for %lld ms (--timeout)\n",
                 static_cast<long long>(wait_.count()));
    return false;
  }

  std::string after() {
    const PublishAccount account = finish();
    return " (after " + std::to_string(sent_) + " message" + (sent_ == 1 ? "" : "s") + ": " +
           std::to_string(account.confirmed) + " confirmed by the broker, " +
           std::to_string(account.in_doubt) + " in doubt; the rest not sent)";
  }

  Client &client_;
  const PubOptions &options_;
  std::chrono::milliseconds wait_;
  PublishWindow window_;
  std::uint64_t sent_ = 0;
  std::uint64_t bytes_ = 0;
  bool reconnect_announced_ = false;
};

int run_pub(const CommonOptions &common, PubOptions &options) {
  if (options.message && options.size) {
    usage_error(kPub, "give either MESSAGE or --size, not both");
  }
  if (SubjectError error = validate_subject(options.subject); error != SubjectError::ok) {
    usage_error(kPub, "cannot publish to '" + options.subject + "': " + describe(error));
  }

  auto client = connect_or_exit(kPub, common, "flume-pub");
  if (options.size && *options.size > client->max_payload()) {
    fail(kPub, "--size " + std::to_string(*options.size) + " is over the broker's limit of " +
                   std::to_string(client->max_payload()) + " bytes (flume-broker --max-payload)");
  }
  Publisher publisher(*client, options, common.timeout.value_or(std::chrono::milliseconds(10000)));
  if (options.message) {
    publisher.publish(bytes_of(*options.message));
  } else if (options.size) {
    std::string payload(*options.size, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
      payload[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
    publisher.publish(bytes_of(payload));
  } else {
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      publisher.publish(bytes_of(line));
    }
    if (std::cin.bad()) fail(kPub, "cannot read standard input");
  }
  const PublishAccount account = publisher.finish();

  const ClientStats stats = client->stats();
  client->close();
  if (stats.publish_errors > 0) {
    fail(kPub, "the broker refused " + std::to_string(stats.publish_errors) + " of " +
                   std::to_string(publisher.sent()) + " messages");
  }
  if (account.in_doubt > 0) {
    std::fprintf(stderr,
                 "flume pub: sent %llu message%s to '%s': %llu confirmed by the broker, %llu in "
                 "doubt (%s: they may or may not have arrived)\n",
                 static_cast<unsigned long long>(publisher.sent()),
                 publisher.sent() == 1 ? "" : "s", options.subject.c_str(),
                 static_cast<unsigned long long>(account.confirmed),
                 static_cast<unsigned long long>(account.in_doubt), account.first_doubt.c_str());
    return kExitMissed;
  }
  if (!common.quiet) {
    std::fprintf(stderr,
                 "flume pub: published %llu message%s (%llu bytes) to '%s', all confirmed by the "
                 "broker\n",
                 static_cast<unsigned long long>(publisher.sent()),
                 publisher.sent() == 1 ? "" : "s",
                 static_cast<unsigned long long>(publisher.bytes()), options.subject.c_str());
  }
  return kExitOk;
}

}  // namespace

Command add_pub(CLI::App &flume, CommonOptions &common) {
  auto options = std::make_shared<PubOptions>();
  CLI::App &app = add_command(flume, "pub", kDescription, kFooter, common);
  app.add_option_function<std::string>(
         "-n,--count",
         [options](const std::string &value) {
           options->count = whole_number("--count", value, 1, 1ULL << 40);
         },
         "publish each message N times (default 1)")
      ->type_name("N");
  app.add_option_function<std::string>(
         "--size",
         [options](const std::string &value) {
           options->size = whole_number("--size", value, 0, kHardMaxPayload);
         },
         "publish generated N-byte payloads instead of MESSAGE or standard\ninput")
      ->type_name("N");
  app.add_option("SUBJECT", options->subject, "where to publish")->required();
  app.add_option_function<std::string>(
      "MESSAGE", [options](const std::string &value) { options->message = value; },
      "the message (default: each line of standard input)");
  return {&app, [options, &common, &app] {
            command_line::reject_extras(app.remaining(), "flume pub",
                                        " (quote a MESSAGE that contains spaces)");
            return run_pub(common, *options);
          }};
}

}  // namespace flume::cli
