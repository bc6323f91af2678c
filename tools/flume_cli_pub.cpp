// flume pub: publishes a message, generated payloads, or each line of standard input.
#include <cstdio>
#include <iostream>
#include <string>

#include "flume_cli.hpp"
#include "subject/subject.hpp"

namespace flume::cli {
namespace {

constexpr const char *kUsage = R"(usage: flume pub [options] SUBJECT [MESSAGE]

Publishes MESSAGE to SUBJECT. Without MESSAGE, each line of standard input is one message (its
newline removed) until the end of the input. Exits once the broker has processed every message,
and reports on stderr how many were sent.

options:
  -n, --count N               publish each message N times (default 1)
      --size N                publish generated N-byte payloads instead of MESSAGE or standard
                              input

examples:
  flume pub orders.eu.created '{"id": 42}'
  printf 'one\ntwo\n' | flume pub lines
  flume pub load.test --size 1024 --count 100000
)";

constexpr CommandInfo kPub{"pub", kUsage};

struct PubOptions {
  std::string subject;
  std::optional<std::string> message;
  unsigned long long count = 1;
  std::optional<std::size_t> size;
};

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

class Publisher {
 public:
  Publisher(Client &client, const PubOptions &options, std::chrono::milliseconds flush_timeout)
      : client_(client), options_(options), window_(client, 8192, flush_timeout) {}

  // Publishes `payload` --count times; exits 1 on the first failure.
  void publish(std::span<const std::uint8_t> payload) {
    for (unsigned long long i = 0; i < options_.count; ++i) {
      ClientResult result = client_.publish(options_.subject, payload);
      if (result.ok()) result = window_.published(payload.size());
      if (!result.ok()) fail(kPub, result.message + after());
      ++sent_;
      bytes_ += payload.size();
    }
  }

  void finish() {
    ClientResult result = window_.finish();
    if (!result.ok()) fail(kPub, result.message + after());
  }

  std::uint64_t sent() const noexcept { return sent_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  std::string after() const {
    return " (after " + std::to_string(sent_) + " message" + (sent_ == 1 ? "" : "s") + ")";
  }

  Client &client_;
  const PubOptions &options_;
  PublishWindow window_;
  std::uint64_t sent_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace

int run_pub(int argc, char **argv, int first) {
  CommonOptions common;
  PubOptions options;
  const std::vector<OptionSpec> specs = {{"count", 'n', true}, {"size", 0, true}};
  auto positionals = parse_command_line(
      kPub, specs, argc, argv, first, common, [&](std::string_view name, const std::string &value) {
        if (name == "count") {
          options.count = parse_count(kPub, "--count", value, 1, 1ULL << 40);
        } else {
          options.size = parse_count(kPub, "--size", value, 0, kHardMaxPayload);
        }
      });
  if (positionals.empty()) usage_error(kPub, "missing SUBJECT (flume pub SUBJECT [MESSAGE])");
  if (positionals.size() > 2) {
    usage_error(kPub, "unexpected argument '" + positionals[2] +
                          "' (quote a MESSAGE that contains spaces)");
  }
  options.subject = positionals[0];
  if (positionals.size() == 2) options.message = positionals[1];
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
  publisher.finish();

  const ClientStats stats = client->stats();
  client->close();
  if (stats.publish_errors > 0) {
    fail(kPub, "the broker refused " + std::to_string(stats.publish_errors) + " of " +
                   std::to_string(publisher.sent()) + " messages");
  }
  if (!common.quiet) {
    std::fprintf(stderr, "flume pub: published %llu message%s (%llu bytes) to '%s'\n",
                 static_cast<unsigned long long>(publisher.sent()),
                 publisher.sent() == 1 ? "" : "s",
                 static_cast<unsigned long long>(publisher.bytes()), options.subject.c_str());
  }
  return kExitOk;
}

}  // namespace flume::cli
