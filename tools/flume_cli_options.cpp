// The common options of every flume command and connecting with errors that say what to do next.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "flume/version.hpp"
#include "flume_cli.hpp"

namespace flume::cli {

const char *const kCommonTrailer = R"(
With none of --ca, --pin and --insecure, a broker on this machine (127.0.0.1, ::1, localhost)
is trusted through the self-signed cert.pem in the local data directory ($FLUME_DATA_DIR, else
~/.local/share/flume), and any other broker through the system's certificate store.
Exit status: 0 success, 1 runtime failure (unreachable, refused, certificate...), 2 usage error.
)";

namespace {

std::string command_label(const CommandInfo &command) {
  return *command.name ? std::string("flume ") + command.name : std::string("flume");
}

}  // namespace

void add_common_options(CLI::App &app, CommonOptions &common) {
  auto add = [&](const char *flags, const char *value, const char *help,
                 std::function<void(const std::string &)> apply) {
    app.add_option_function<std::string>(flags, std::move(apply), help)
        ->type_name(value)
        ->group(command_line::kSharedGroup);
  };
  auto flag = [&](const char *flags, bool &target, const char *help) {
    app.add_flag(flags, target, help)->group(command_line::kSharedGroup);
  };
  add("-s,--server", "URL",
      "the broker (default flume://127.0.0.1:7337, or $FLUME_SERVER);\nnodes of a cluster: "
      "URL,URL,... (the nearest is used)",
      [&common](const std::string &value) {
        if (value.empty())
          throw CLI::ValidationError("--server needs a URL such as flume://host:7337");
        common.server = value;
      });
  add("--ca", "FILE",
      "trust the broker certificate(s) in FILE (PEM), e.g.\n<broker data dir>/cert.pem for a "
      "self-signed broker\n(default: $FLUME_CA)",
      [&common](const std::string &value) { common.ca_file = value; });
  add("--pin", "SHA256",
      "trust exactly the certificate with this SHA-256 fingerprint, as\nflume-broker prints it "
      "at start-up (AB:CD:...)",
      [&common](const std::string &value) { common.pin = value; });
  flag("--insecure", common.insecure,
       "do not verify the certificate at all (testing only: anyone on the\npath can read and "
       "change the traffic)");
  add("--name", "NAME", "the client name the broker shows",
      [&common](const std::string &value) { common.name = value; });
  add("--token", "TOKEN",
      "access token (flt1...) for a broker that requires one\n(default: $FLUME_TOKEN; see "
      "'flume token issue')",
      [&common](const std::string &value) { common.token = value; });
  add("--timeout", "MS",
      "connect timeout and the longest wait for the broker (default:\n5000 to connect, 10000 for "
      "confirmations)",
      [&common](const std::string &value) {
        common.timeout = std::chrono::milliseconds(whole_number("--timeout", value, 1, 86400000));
      });
  flag("-q,--quiet", common.quiet,
       "no informational lines on stderr (errors and drops still appear)");
}

CLI::App &add_command(CLI::App &flume, const char *name, const char *description,
                      const char *footer, CommonOptions &common) {
  CLI::App &app = *flume.add_subcommand(name, description);
  command_line::configure(app, "flume", kVersion, {}, kCommonTrailer);
  app.group("commands");
  app.footer(footer);
  add_common_options(app, common);
  return app;
}

void finish_common_options(const CommandInfo &command, CommonOptions &common) {
  // An explicit way to trust the broker replaces the one from the environment.
  if (common.ca_file.empty() && common.pin.empty() && !common.insecure) {
    if (const char *ca = std::getenv("FLUME_CA"); ca != nullptr && *ca != '\0') common.ca_file = ca;
  }
  if (common.token.empty()) {
    if (const char *token = std::getenv("FLUME_TOKEN"); token != nullptr) common.token = token;
  }
  if (!common.ca_file.empty() + !common.pin.empty() + common.insecure > 1) {
    usage_error(command, "--ca, --pin and --insecure are alternatives: give only one");
  }
}

void usage_error(const CommandInfo &command, const std::string &message) {
  command_line::usage_error(command_label(command), message);
}

void fail(const CommandInfo &command, const std::string &message) {
  std::cerr << command_label(command) << ": " << message << "\n";
  // A client's loop thread may still run: exit without running destructors under it.
  std::fflush(nullptr);
  std::_Exit(kExitRuntime);
}

ClientConfig client_config(const CommonOptions &common, const std::string &default_name) {
  ClientConfig config;
  config.client_name = common.name.empty() ? default_name : common.name;
  config.ca_file = common.ca_file;
  config.pin_sha256 = common.pin;
  config.insecure = common.insecure;
  config.token.assign(common.token.begin(), common.token.end());
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
