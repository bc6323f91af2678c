// flume: the command-line client. This file only picks the command; each command lives in its
// own flume_cli_<command>.cpp, the shared options in flume_cli_options.cpp.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "flume/version.hpp"
#include "flume_cli.hpp"

namespace {

using namespace flume::cli;

constexpr const char *kUsage = R"(usage: flume COMMAND [options] [arguments]

The Flume command-line client: publish, subscribe, and measure a broker.

commands:
  pub SUBJECT [MESSAGE]       publish MESSAGE, or each line of standard input, to SUBJECT
  sub PATTERN                 print the messages whose subjects match PATTERN
  bench                       measure throughput and latency with many clients at once

'flume COMMAND --help' lists a command's own options. The common options below work with
every command, before or after its name.

examples:
  flume sub 'orders.>'
  flume pub orders.eu.created '{"id": 42}'
  seq 3 | flume pub numbers
  flume bench --subscribers 2 --rate 10000
)";

constexpr CommandInfo kFlume{"", kUsage};

struct Command {
  const char *name;
  int (*run)(int argc, char **argv, int first);
};

constexpr Command kCommands[] = {
    {"pub", run_pub},
    {"sub", run_sub},
    {"bench", run_bench},
};

}  // namespace

int main(int argc, char **argv) {
  // Common options may come before the command; they are handed on to it, in front of its own.
  std::vector<char *> leading;
  int command_index = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage << kCommonHelp;
      return kExitOk;
    }
    if (arg == "-V" || arg == "--version") {
      std::cout << "flume " << flume::kVersion << "\n";
      return kExitOk;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      command_index = i;
      break;
    }
    const OptionSpec *spec = nullptr;
    if (arg[1] == '-') {
      spec = find_common_option(arg.substr(2, arg.find('=') - 2), 0);
    } else {
      spec = find_common_option("", arg[1]);
    }
    if (spec == nullptr) usage_error(kFlume, "unknown option '" + arg + "' before the command");
    leading.push_back(argv[i]);
    const bool inline_value =
        arg.find('=') != std::string::npos || (arg[1] != '-' && arg.size() > 2);
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) usage_error(kFlume, arg + " needs a value");
      leading.push_back(argv[++i]);
    }
  }
  if (command_index < 0) usage_error(kFlume, "no command given (pub, sub or bench)");

  const std::string name = argv[command_index];
  for (const Command &command : kCommands) {
    if (name != command.name) continue;
    std::vector<char *> args;
    args.push_back(argv[0]);
    args.insert(args.end(), leading.begin(), leading.end());
    args.insert(args.end(), argv + command_index + 1, argv + argc);
    args.push_back(nullptr);
    return command.run(static_cast<int>(args.size() - 1), args.data(), 1);
  }
  usage_error(kFlume, "unknown command '" + name + "' (commands: pub, sub, bench)");
}
