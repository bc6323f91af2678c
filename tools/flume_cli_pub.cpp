// flume pub: publishes a message, generated payloads, or each line of standard input.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "flume_cli.hpp"
#include "subject/subject.hpp"

namespace flume::cli {
namespace {

constexpr const char *kDescription =
    R"(publish MESSAGE, or each line of standard input, to SUBJECT

Publishes MESSAGE to SUBJECT. Without MESSAGE, each line of standard input is one message (its
newline removed) until the end of the input. Exits once the broker has processed every message,
and reports on stderr how many were sent.)";

constexpr const char *kFooter = R"(examples:
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
