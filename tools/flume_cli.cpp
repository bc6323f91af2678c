// flume: the command-line client. This file only picks the command; each command lives in its
// own flume_cli_<command>.cpp, the shared options in flume_cli_options.cpp.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "flume/version.hpp"
#include "flume_cli.hpp"
#include "log/log.hpp"

namespace {

using namespace flume::cli;

constexpr const char *kDescription =
    "The Flume command-line client: publish, subscribe, measure a broker, show an overlay, and "
    "issue access tokens.";

constexpr const char *kFooter =
    R"('flume COMMAND --help' lists a command's own options. The common options below go before or
after the command's name; pub, sub and bench use them all, overlay only --timeout, and token
(offline) none.

examples:
  flume sub 'orders.>'
  flume pub orders.eu.created '{"id": 42}'
  seq 3 | flume pub numbers
  flume bench --subscribers 2 --rate 10000
  flume token keygen --out keys
  flume overlay --cluster-ca ca.pem --cert ops.pem --key ops.key 127.0.0.1:7338
)";

constexpr CommandInfo kFlume{""};

// The library prints nothing by itself; the tool shows its warnings (a lost connection, the
// insecure mode) and errors on stderr, one line each.
void print_log_line(void *, flume::log::Level level, const char *, const char *message) {
  std::fprintf(stderr, "flume: %s: %s\n", level == flume::log::Level::warn ? "WARNING" : "ERROR",
               message);
}

}  // namespace

int main(int argc, char **argv) {
  flume::log::set_sink(flume::log::Level::warn, flume::log::Sink{&print_log_line, nullptr});
  CLI::App flume(kDescription, "flume");
  flume::command_line::configure(flume, "flume", flume::kVersion,
                                 "usage: flume COMMAND [options] [arguments]", kCommonTrailer);
  flume.footer(kFooter);
  CommonOptions common;
  if (const char *server = std::getenv("FLUME_SERVER"); server != nullptr && *server != '\0') {
    common.server = server;
  }
  // Common options before the command land in the same place as after it.
  add_common_options(flume, common);
  const Command commands[] = {add_pub(flume, common), add_sub(flume, common),
                              add_bench(flume, common), add_overlay(flume, common),
                              add_token(flume, common)};

  auto label = [&] {
    for (const Command &command : commands) {
      if (command.app->parsed()) return "flume " + command.app->get_name();
    }
    return std::string("flume");
  };
  flume::command_line::parse_or_exit(flume, argc, argv, label);
  for (const Command &command : commands) {
    if (!command.app->parsed()) continue;
    const CommandInfo info{command.app->get_name().c_str()};
    flume::command_line::reject_extras(flume.remaining(), label());  // the command checks its own
    finish_common_options(info, common);
    return command.run();
  }
  const auto extras = flume.remaining();
  if (extras.empty()) usage_error(kFlume, "no command given (pub, sub, bench, overlay or token)");
  if (extras.front().size() > 1 && extras.front()[0] == '-') {
    usage_error(kFlume, "unknown option '" + extras.front() + "' before the command");
  }
  usage_error(kFlume, "unknown command '" + extras.front() +
                          "' (commands: pub, sub, bench, overlay, token)");
}
