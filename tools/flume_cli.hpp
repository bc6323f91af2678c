// flume: the command-line client. What the command files (pub, sub, bench) share: the common
// options, connecting with errors that say what to do, and exit codes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/command_line.hpp"
#include "runtime/client.hpp"

namespace flume::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // the broker could not be reached, refused, lost...
inline constexpr int kExitUsage = 2;    // a bad command line; nothing was attempted
// Done, but not everything arrived: flume sub missed messages, flume pub could not confirm all
// it published.
inline constexpr int kExitMissed = 3;

// The options every command takes (see add_common_options).
struct CommonOptions {
  std::string server = "flume://127.0.0.1:7337";
  std::string ca_file;
  std::string pin;
  bool insecure = false;
  std::string name;
  std::string token;  // access token sent in HELLO (--token, else $FLUME_TOKEN)
  std::optional<std::chrono::milliseconds> timeout;
  bool quiet = false;
};

// What a command is called; usage errors and failures name it.
struct CommandInfo {
  const char *name;  // "pub"; "" for flume itself
};

// A command: its CLI11 subcommand, whose options fill the command's own state, and what runs it
// once the command line is parsed.
struct Command {
  CLI::App *app;
  std::function<int()> run;
};

// Adds a command to `flume`, with the look, -h/-V and common options of every command.
// `description` is "SUMMARY\n\nTEXT" (see command_line::HelpFormatter).
CLI::App &add_command(CLI::App &flume, const char *name, const char *description,
                      const char *footer, CommonOptions &common);
// The common options (kCommonTrailer explains the trust ones), on flume itself and on each
// command, so they work before or after the command's name.
void add_common_options(CLI::App &app, CommonOptions &common);
// After parsing: $FLUME_CA unless the command line chose a trust, and one trust at most.
void finish_common_options(const CommandInfo &command, CommonOptions &common);
// What follows the common options in every help.
extern const char *const kCommonTrailer;

[[noreturn]] void usage_error(const CommandInfo &command, const std::string &message);
// A runtime failure: prints "flume CMD: message" and exits 1.
[[noreturn]] void fail(const CommandInfo &command, const std::string &message);

// For option callbacks: the value or a usage error naming the option (see command_line).
using command_line::seconds;
using command_line::whole_number;

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
// What the broker confirmed of what a PublishWindow published.
struct PublishAccount {
  std::uint64_t confirmed = 0;  // processed by the broker (a flush on the same connection)
  // Handed to a connection that was lost (or a flush failed or timed out) before the broker
  // confirmed them: they may or may not have reached it.
  std::uint64_t in_doubt = 0;
  std::string first_doubt;  // why the first of them is in doubt
};

// What a failed flush does to a PublishWindow.
enum class FlushFailure {
  stop,      // published() and finish() return the error: stop publishing
  count_on,  // its window's messages are counted in doubt, and publishing goes on
};

// Bounded fire-and-forget publishing: a flush after every `window` messages (or 4 MiB, or 200 ms),
// at most two windows unconfirmed, and an account of what the broker confirmed.
class PublishWindow {
 public:
  PublishWindow(Client &client, std::size_t window, std::chrono::milliseconds flush_timeout,
                FlushFailure on_failure = FlushFailure::stop);
  ~PublishWindow();
  PublishWindow(const PublishWindow &) = delete;
  PublishWindow &operator=(const PublishWindow &) = delete;

  // Call after each publish of `bytes` of payload; may wait. An error when a flush failed
  // (FlushFailure::stop; then stop publishing).
  ClientResult published(std::size_t bytes);
  // Waits until everything published so far has been processed by the broker (or, with
  // FlushFailure::count_on, counted in doubt).
  ClientResult finish();
  PublishAccount account() const;

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

// The commands (flume_cli_<command>.cpp); `common` is filled by the time they run.
Command add_pub(CLI::App &flume, CommonOptions &common);
Command add_sub(CLI::App &flume, CommonOptions &common);
Command add_bench(CLI::App &flume, CommonOptions &common);
Command add_token(CLI::App &flume, CommonOptions &common);
Command add_overlay(CLI::App &flume, CommonOptions &common);  // flume_cli_overlay.cpp

}  // namespace flume::cli
