// flume sub: subscribes and prints what arrives until --count, --timeout, Ctrl-C or the end of
// the subscription.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "flume_cli.hpp"
#include "subject/subject.hpp"

namespace flume::cli {
namespace {

constexpr const char *kDescription =
    R"(print the messages whose subjects match PATTERN

Subscribes to PATTERN ('*' matches one token, a final '>' one or more: 'orders.*.created',
'orders.>') and prints each message on standard output until --count messages, --timeout
without a message, Ctrl-C, or the broker ends the subscription.)";

constexpr const char *kFooter =
    R"(--timeout MS also ends it when no message came for MS milliseconds (status 1 if --count was
given and not reached). Messages missed are reported on stderr where they were missed: drops
(the broker's queue or the local one was full) and a lost connection (the subscription is made
again on the next one; what was published meanwhile is gone). If anything was missed the exit
status is 3, and --exit-on-gap stops at the first such gap.

exit status: 0 all received, 1 an error (or --count not reached), 2 a bad command line, 3
messages were missed.

examples:
  flume sub 'orders.>'
  flume sub --format json --count 10 'sensors.*.temperature'
)";

constexpr CommandInfo kSub{"sub"};

struct SubOptions {
  std::string pattern;
  std::optional<unsigned long long> count;
  OutputFormat format = OutputFormat::payload;
  SubscribeOptions subscribe;
  bool exit_on_gap = false;
};

void add_options(CLI::App &app, SubOptions &options) {
  app.add_option_function<std::string>(
         "-n,--count",
         [&options](const std::string &value) {
           options.count = whole_number("--count", value, 1, 1ULL << 62);
         },
         "exit after N messages")
      ->type_name("N");
  app.add_option_function<std::string>(
         "-f,--format",
         [&options](const std::string &value) {
           auto format = parse_output_format(value);
           if (!format) {
             throw CLI::ValidationError("--format must be payload, line, json or raw, not '" +
                                        value + "'");
           }
           options.format = *format;
         },
         "how to print each message:\n"
         "  payload  the payload, one message per line (default)\n"
         "  line     \"subject: payload\", one per line\n"
         "  json     {\"subject\":\"...\",\"payload\":\"...\",\"size\":N}, one per\n"
         "           line; a payload that is not UTF-8 is base64 and gets\n"
         "           \"base64\":true\n"
         "  raw      a 4-byte big-endian length, then the payload bytes")
      ->type_name("FORMAT");
  app.add_option_function<std::string>(
         "--queue",
         [&options](const std::string &value) {
           options.subscribe.queue_limit =
               static_cast<std::uint32_t>(whole_number("--queue", value, 1, UINT32_MAX));
         },
         "messages the broker may queue for this subscription (default:\nthe broker's "
         "--queue-limit)")
      ->type_name("N");
  app.add_option_function<std::string>(
         "--overflow",
         [&options](const std::string &value) {
           if (value == "drop-oldest") {
             options.subscribe.overflow = OverflowPolicy::drop_oldest;
           } else if (value == "drop-newest") {
             options.subscribe.overflow = OverflowPolicy::drop_newest;
           } else if (value == "close") {
             options.subscribe.overflow = OverflowPolicy::close;
           } else {
             throw CLI::ValidationError(
                 "--overflow must be drop-oldest, drop-newest or close, not '" + value + "'");
           }
         },
         "what the broker does when that queue is full: drop-oldest\n(default), drop-newest, "
         "close (end the subscription)")
      ->type_name("POLICY");
  app.add_flag("--exit-on-gap", options.exit_on_gap,
               "stop with exit status 3 at the first message missed (dropped,\nor published while "
               "the connection was lost)");
  app.add_option("PATTERN", options.pattern, "the subjects to receive")->required();
}

void check(SubOptions &options) {
  if (SubjectError error = validate_pattern(options.pattern); error != SubjectError::ok) {
    usage_error(kSub, "cannot subscribe to '" + options.pattern + "': " + describe(error));
  }
}

// Reports what the subscription missed on stderr, from the gap items it receives in their place
// among the messages: a lost connection at once (its messages are gone uncounted), drops at most
// once a second (a reader that cannot keep up may drop on every batch), a summary at the end.
class GapReporter {
 public:
  void seen(const Message &item) {
    const Gap gap = item.gap();
    dropped_by_broker_ += gap.dropped_by_broker;
    dropped_locally_ += gap.dropped_locally;
    if (gap.resubscribed) {
      ++resubscribed_;
      std::fprintf(stderr,
                   "flume sub: the connection was lost and the subscription made again %lld ms "
                   "later (after message %llu): messages published meanwhile were missed\n",
                   static_cast<long long>(gap.disconnected.count()),
                   static_cast<unsigned long long>(item.sequence()));
    }
  }

  void check(bool final) {
    const auto now = std::chrono::steady_clock::now();
    if (!final && now < next_check_) return;
    next_check_ = now + std::chrono::seconds(1);
    const std::uint64_t total = dropped_by_broker_ + dropped_locally_;
    if (total == reported_ && !(final && total > 0)) return;
    reported_ = total;
    std::fprintf(stderr,
                 "flume sub: %llu message%s dropped %s (%llu by the broker because its queue for "
                 "this subscription was full, %llu locally): read faster or raise --queue\n",
                 static_cast<unsigned long long>(total), total == 1 ? "" : "s",
                 final ? "in all" : "so far", static_cast<unsigned long long>(dropped_by_broker_),
                 static_cast<unsigned long long>(dropped_locally_));
  }

  bool missed_any() const { return dropped_by_broker_ + dropped_locally_ + resubscribed_ > 0; }

 private:
  std::chrono::steady_clock::time_point next_check_{};
  std::uint64_t dropped_by_broker_ = 0;
  std::uint64_t dropped_locally_ = 0;
  std::uint64_t resubscribed_ = 0;
  std::uint64_t reported_ = 0;
};

// Writes to stdout; false when the reader went away (a closed pipe: `flume sub | head -1`).
bool write_out(const std::string &text) {
  if (text.empty()) return true;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    if (errno == EPIPE) return false;
    fail(kSub, std::string("cannot write the output: ") + std::strerror(errno));
  }
  return true;
}

int run_sub(const CommonOptions &common, SubOptions &options) {
  check(options);

  // Signals are read from a descriptor next to the subscription's, never handled asynchronously;
  // blocked before connecting so the client's thread inherits the mask.
  block_termination_signals();
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) fail(kSub, std::string("signalfd: ") + std::strerror(errno));

  auto client = connect_or_exit(kSub, common, "flume-sub");
  ClientResult result;
  options.subscribe.report_gaps = true;  // printed where they happen (GapReporter)
  auto subscription = client->subscribe(options.pattern, options.subscribe, nullptr, result);
  if (!subscription) fail(kSub, result.message);
  // The broker's answer: a refusal ends the subscription before the flush returns.
  result = client->flush(common.timeout.value_or(std::chrono::milliseconds(10000)));
  if (!result.ok()) fail(kSub, "subscribing to '" + options.pattern + "': " + result.message);
  if (subscription->ended()) {
    Message ignored;
    fail(kSub, subscription->recv(ignored, std::chrono::milliseconds(0)).message);
  }
  if (!common.quiet) {
    std::fprintf(stderr, "flume sub: subscribed to '%s' at %s\n", options.pattern.c_str(),
                 common.server.c_str());
  }

  GapReporter gaps;
  std::vector<Message> batch;
  std::string out;
  unsigned long long received = 0;
  int status = kExitOk;
  // Time spent waiting in poll() since the last message, each wait counted at most as long as
  // it was asked to last: a process that was stopped (SIGSTOP, a suspended laptop) does not
  // count the time it was not running as time without messages.
  std::chrono::milliseconds quiet{0};
  bool running = true;
  while (running && (!options.count || received < *options.count)) {
    int wait_ms = 1000;  // drops are checked at least this often
    if (common.timeout) {
      const auto left = *common.timeout - quiet;
      if (left.count() <= 0) {
        std::fprintf(stderr, "flume sub: no message for %lld ms; received %llu\n",
                     static_cast<long long>(common.timeout->count()), received);
        status = options.count ? kExitRuntime : kExitOk;
        break;
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), wait_ms));
    }
    pollfd fds[2] = {{subscription->fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
    const auto poll_start = std::chrono::steady_clock::now();
    if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
      fail(kSub, std::string("poll: ") + std::strerror(errno));
    }
    quiet += std::min(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - poll_start),
                      std::chrono::milliseconds(wait_ms));
    gaps.check(false);
    if (fds[1].revents & POLLIN) break;  // Ctrl-C or SIGTERM: a clean exit
    if (!(fds[0].revents & POLLIN)) continue;

    batch.clear();
    std::size_t max = 1024;
    if (options.count)
      max = static_cast<std::size_t>(std::min<unsigned long long>(max, *options.count - received));
    result = subscription->recv_batch(batch, max, std::chrono::milliseconds(0));
    if (result.status == ClientStatus::timeout) continue;
    if (!result.ok()) {
      std::fprintf(stderr, "flume sub: the subscription ended: %s\n", result.message.c_str());
      status = kExitRuntime;
      break;
    }
    out.clear();
    const unsigned long long received_before = received;
    bool gap = false;
    for (const Message &message : batch) {
      if (message.is_gap()) {
        // What came before the gap is printed before it is reported.
        running = write_out(out);
        out.clear();
        gaps.seen(message);
        gap = true;
        if (options.exit_on_gap) break;
        continue;
      }
      format_message(options.format, message.subject(), message.payload(), out);
      ++received;
    }
    if (received_before != received) quiet = std::chrono::milliseconds(0);
    running = write_out(out) && running;
    if (gap && options.exit_on_gap) {
      gaps.check(true);
      std::fprintf(stderr, "flume sub: messages were missed: stopping (--exit-on-gap)\n");
      status = kExitMissed;
      break;
    }
  }
  gaps.check(true);
  if (status == kExitOk && gaps.missed_any()) status = kExitMissed;
  subscription.reset();
  client->close();
  close(signal_fd);
  return status;
}

}  // namespace

Command add_sub(CLI::App &flume, CommonOptions &common) {
  auto options = std::make_shared<SubOptions>();
  CLI::App &app = add_command(flume, "sub", kDescription, kFooter, common);
  add_options(app, *options);
  return {&app, [options, &common, &app] {
            command_line::reject_extras(app.remaining(), "flume sub");
            return run_sub(common, *options);
          }};
}

}  // namespace flume::cli
