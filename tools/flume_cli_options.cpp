// The common options of every flume command, the option parser and connecting with errors that
// say what to do next.
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "flume/version.hpp"
#include "flume_cli.hpp"

namespace flume::cli {

const char *const kCommonHelp = R"(
common options:
  -s, --server URL            the broker (default flume://127.0.0.1:7337, or $FLUME_SERVER)
      --ca FILE               trust the broker certificate(s) in FILE (PEM), e.g.
                              <broker data dir>/cert.pem for a self-signed broker
                              (default: $FLUME_CA)
      --pin SHA256            trust exactly the certificate with this SHA-256 fingerprint, as
                              flume-broker prints it at start-up (AB:CD:...)
      --insecure              do not verify the certificate at all (testing only: anyone on the
                              path can read and change the traffic)
      --name NAME             the client name the broker shows
      --timeout MS            connect timeout and the longest wait for the broker (default:
                              5000 to connect, 10000 for confirmations)
  -q, --quiet                 no informational lines on stderr (errors and drops still appear)
  -V, --version               print the version
  -h, --help                  show this help

With none of --ca, --pin and --insecure, a broker on this machine (127.0.0.1, ::1, localhost)
is trusted through the self-signed cert.pem in the local data directory ($FLUME_DATA_DIR, else
~/.local/share/flume), and any other broker through the system's certificate store.
Exit status: 0 success, 1 runtime failure (unreachable, refused, certificate...), 2 usage error.
)";

namespace {

const OptionSpec kCommon[] = {
    {"server", 's', true}, {"ca", 0, true},      {"pin", 0, true},      {"insecure", 0, false},
    {"name", 0, true},     {"timeout", 0, true}, {"quiet", 'q', false},
};

std::string command_label(const CommandInfo &command) {
  return *command.name ? std::string("flume ") + command.name : std::string("flume");
}

const OptionSpec *find_in(const std::vector<OptionSpec> &options, std::string_view long_name,
                          char short_name) {
  for (const auto &option : options) {
    if (short_name != 0 ? option.short_name == short_name : long_name == option.long_name) {
      return &option;
    }
  }
  return nullptr;
}

}  // namespace

const OptionSpec *find_common_option(std::string_view long_name, char short_name) {
  for (const auto &option : kCommon) {
    if (short_name != 0 ? option.short_name == short_name : long_name == option.long_name) {
      return &option;
    }
  }
  return nullptr;
}

void usage_error(const CommandInfo &command, const std::string &message) {
  const std::string label = command_label(command);
  std::cerr << label << ": " << message << "\n(see " << label << " --help)\n";
  std::exit(kExitUsage);
}

void fail(const CommandInfo &command, const std::string &message) {
  std::cerr << command_label(command) << ": " << message << "\n";
  // A client's loop thread may still run: exit without running destructors under it.
  std::fflush(nullptr);
  std::_Exit(kExitRuntime);
}

unsigned long long parse_count(const CommandInfo &command, std::string_view option,
                               const std::string &text, unsigned long long min,
                               unsigned long long max) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || errno != 0 || *end != '\0' || value < min || value > max) {
    usage_error(command, std::string(option) + " must be a whole number from " +
                             std::to_string(min) + " to " + std::to_string(max) + ", not '" + text +
                             "'");
  }
  return value;
}

double parse_seconds(const CommandInfo &command, std::string_view option, const std::string &text,
                     double min, double max) {
  char *end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(value) || value < min ||
      value > max) {
    usage_error(command, std::string(option) + " must be a number of seconds from " +
                             std::to_string(static_cast<long>(min)) + " to " +
                             std::to_string(static_cast<long>(max)) + ", not '" + text + "'");
  }
  return value;
}

bool apply_common_option(CommonOptions &common, std::string_view name, const std::string &value,
                         const CommandInfo &command) {
  if (name == "server") {
    if (value.empty()) usage_error(command, "--server needs a URL such as flume://host:7337");
    common.server = value;
  } else if (name == "ca") {
    common.ca_file = value;
  } else if (name == "pin") {
    common.pin = value;
  } else if (name == "insecure") {
    common.insecure = true;
  } else if (name == "name") {
    common.name = value;
  } else if (name == "timeout") {
    common.timeout =
        std::chrono::milliseconds(parse_count(command, "--timeout", value, 1, 86400000));
  } else if (name == "quiet") {
    common.quiet = true;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> parse_command_line(
    const CommandInfo &command, const std::vector<OptionSpec> &options, int argc, char **argv,
    int first, CommonOptions &common,
    const std::function<void(std::string_view, const std::string &)> &on_option) {
  if (const char *server = std::getenv("FLUME_SERVER"); server != nullptr && *server != '\0') {
    common.server = server;
  }
  std::string ca_from_environment;
  if (const char *ca = std::getenv("FLUME_CA"); ca != nullptr && *ca != '\0') {
    ca_from_environment = ca;
  }
  std::vector<std::string> positionals;
  bool only_positionals = false;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (only_positionals || arg.size() < 2 || arg[0] != '-') {
      positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << command.usage << kCommonHelp;
      std::exit(kExitOk);
    }
    if (arg == "-V" || arg == "--version") {
      std::cout << "flume " << kVersion << "\n";
      std::exit(kExitOk);
    }
    std::string name;
    std::optional<std::string> value;
    const OptionSpec *spec = nullptr;
    if (arg[1] == '-') {
      name = arg.substr(2);
      if (const auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      spec = find_in(options, name, 0);
      if (spec == nullptr) spec = find_common_option(name, 0);
    } else {
      spec = find_in(options, "", arg[1]);
      if (spec == nullptr) spec = find_common_option("", arg[1]);
      if (spec != nullptr && arg.size() > 2) {
        if (!spec->takes_value) usage_error(command, "unknown option '" + arg + "'");
        value = arg.substr(2);  // -s127.0.0.1:7337
      }
    }
    if (spec == nullptr) usage_error(command, "unknown option '" + arg + "'");
    const std::string shown = std::string("--") + spec->long_name;
    if (spec->takes_value && !value) {
      if (i + 1 >= argc) usage_error(command, shown + " needs a value");
      value = argv[++i];
    } else if (!spec->takes_value && value) {
      usage_error(command, shown + " takes no value");
    }
    if (!apply_common_option(common, spec->long_name, value.value_or(""), command)) {
      on_option(spec->long_name, value.value_or(""));
    }
  }
  // An explicit way to trust the broker replaces the one from the environment.
  if (common.ca_file.empty() && common.pin.empty() && !common.insecure) {
    common.ca_file = ca_from_environment;
  }
  if (!common.ca_file.empty() + !common.pin.empty() + common.insecure > 1) {
    usage_error(command, "--ca, --pin and --insecure are alternatives: give only one");
  }
  return positionals;
}

ClientConfig client_config(const CommonOptions &common, const std::string &default_name) {
  ClientConfig config;
  config.client_name = common.name.empty() ? default_name : common.name;
  config.ca_file = common.ca_file;
  config.pin_sha256 = common.pin;
  config.insecure = common.insecure;
  if (common.timeout) config.connect_timeout = *common.timeout;
  return config;
}

std::string explain_connect_failure(const CommonOptions &common, const ClientResult &result) {
  const std::string &url = common.server;
  switch (result.status) {
    case ClientStatus::unreachable:
      return "cannot reach a broker at " + url + ": " + result.message +
             "\n  Is flume-broker running there? Choose the broker with -s/--server URL "
             "(or FLUME_SERVER).";
    case ClientStatus::tls:
      return "certificate check failed for " + url + ": " + result.message +
             "\n  Trust the broker with --ca <broker data dir>/cert.pem (flume-broker prints the "
             "path when it starts) or --pin <the SHA-256 fingerprint it prints>.";
    case ClientStatus::timeout:
      return "no answer from " + url + " in time: " + result.message +
             "\n  Is a firewall dropping UDP, or the broker overloaded? --timeout MS waits longer.";
    case ClientStatus::alpn:
      return url + " does not speak the flume protocol: " + result.message +
             "\n  Is it a flume broker, and of a compatible version?";
    case ClientStatus::rejected:
      return "the broker at " + url + " refused the connection: " + result.message;
    default:
      return "cannot connect to " + url + ": " + result.message;
  }
}

std::unique_ptr<Client> connect_or_exit(const CommandInfo &command, const CommonOptions &common,
                                        const std::string &default_name) {
  ClientResult result;
  auto client = Client::connect(common.server, client_config(common, default_name), result);
  if (client) return client;
  if (result.status == ClientStatus::invalid_argument) usage_error(command, result.message);
  fail(command, explain_connect_failure(common, result));
}

namespace {
sigset_t termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}
}  // namespace

void block_termination_signals() {
  const sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

bool termination_signal_within(std::chrono::milliseconds wait) {
  const sigset_t signals = termination_signals();
  const long ms = std::max<long>(0, static_cast<long>(wait.count()));
  const timespec timeout{ms / 1000, (ms % 1000) * 1'000'000};
  return sigtimedwait(&signals, nullptr, &timeout) > 0;
}

}  // namespace flume::cli
