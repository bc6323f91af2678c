// flume: the command-line client. What the command files (pub, sub, bench) share: the common
// options, the option parser, connecting with errors that say what to do, and exit codes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/client.hpp"

namespace flume::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // the broker could not be reached, refused, lost...
inline constexpr int kExitUsage = 2;    // a bad command line; nothing was attempted

// The options every command takes (see kCommonHelp).
struct CommonOptions {
  std::string server = "flume://127.0.0.1:7337";
  std::string ca_file;
  std::string pin;
  bool insecure = false;
  std::string name;
  std::optional<std::chrono::milliseconds> timeout;
  bool quiet = false;
};

// Help text for the common options, appended to every command's help.
extern const char *const kCommonHelp;

// One option a command accepts: its long name, an optional short letter, whether it takes a
// value. The common options are added by parse_command_line itself.
struct OptionSpec {
  const char *long_name;
  char short_name;
  bool takes_value;
};

// What a command is called and how its help reads; usage errors name it.
struct CommandInfo {
  const char *name;  // "pub"; "" for flume itself
  const char *usage;
};

// Reads argv[first..] into `common` (starting from the environment: FLUME_SERVER, FLUME_CA),
// calls `on_option(long_name, value)` for each of the command's own options and collects the
// positional arguments. -h/--help prints the usage and exits 0; a usage error exits 2.
std::vector<std::string> parse_command_line(
    const CommandInfo &command, const std::vector<OptionSpec> &options, int argc, char **argv,
    int first, CommonOptions &common,
    const std::function<void(std::string_view, const std::string &)> &on_option);

// Applies one common option by its long name; false when `name` is not a common option.
bool apply_common_option(CommonOptions &common, std::string_view name, const std::string &value,
                         const CommandInfo &command);
// Whether `long_name` (or the letter) is a common option, and whether it takes a value.
const OptionSpec *find_common_option(std::string_view long_name, char short_name);

[[noreturn]] void usage_error(const CommandInfo &command, const std::string &message);
// A runtime failure: prints "flume CMD: message" and exits 1.
[[noreturn]] void fail(const CommandInfo &command, const std::string &message);

unsigned long long parse_count(const CommandInfo &command, std::string_view option,
                               const std::string &text, unsigned long long min,
                               unsigned long long max);
double parse_seconds(const CommandInfo &command, std::string_view option, const std::string &text,
                     double min, double max);

// Connects with the common options, or exits 1 with the reason and what to do about it.
std::unique_ptr<Client> connect_or_exit(const CommandInfo &command, const CommonOptions &common,
                                        const std::string &default_name);
// The ClientConfig the common options describe.
ClientConfig client_config(const CommonOptions &common, const std::string &default_name);
// The error text for a failed connect: the client's reason plus the way out.
std::string explain_connect_failure(const CommonOptions &common, const ClientResult &result);

// Blocks SIGINT and SIGTERM in this thread and in every thread started after it, so they can be
// read in order (signalfd, sigtimedwait) instead of interrupting a client's loop thread. Call
// before connecting.
void block_termination_signals();
// Waits up to `wait` for SIGINT or SIGTERM (blocked as above); true when one came.
bool termination_signal_within(std::chrono::milliseconds wait);

// Fire-and-forget publishing with a bound: publish() never waits, so a fast loop could queue
// without limit inside the client. This keeps at most two windows of messages unconfirmed: at
// each window boundary it waits for the flush of the window before the previous one, which a
// helper thread runs, so the pipe never drains while waiting.
class PublishWindow {
 public:
  PublishWindow(Client &client, std::size_t window, std::chrono::milliseconds flush_timeout);
  ~PublishWindow();
  PublishWindow(const PublishWindow &) = delete;
  PublishWindow &operator=(const PublishWindow &) = delete;

  // Call after each publish of `bytes` of payload; may wait. An error when a flush failed (then
  // stop publishing). A window ends after `window` messages or 4 MiB, whichever comes first.
  ClientResult published(std::size_t bytes);
  // Waits until everything published so far has been processed by the broker.
  ClientResult finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// How flume sub prints a message (see its --help).
enum class OutputFormat : std::uint8_t { payload, line, json, raw };
std::optional<OutputFormat> parse_output_format(std::string_view name);
// Appends one message in `format` to `out`.
void format_message(OutputFormat format, std::string_view subject,
                    std::span<const std::uint8_t> payload, std::string &out);

// Entry points of the commands: argv[first] is the first argument after the command's name.
int run_pub(int argc, char **argv, int first);
int run_sub(int argc, char **argv, int first);
int run_bench(int argc, char **argv, int first);

}  // namespace flume::cli
