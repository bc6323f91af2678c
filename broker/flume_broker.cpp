// flume-broker: the reference broker. A thin main over BrokerServer (core/runtime): options from
// the command line and an optional TOML file, start-up lines that say where it listens and how
// clients trust it, graceful shutdown on SIGINT/SIGTERM.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "broker_logging.hpp"
#include "cluster_command.hpp"
#include "common/command_line.hpp"
#include "flume/version.hpp"
#include "overlay/cluster_node.hpp"
#include "runtime/broker_server.hpp"
#include "text/parse_number.hpp"

namespace {

constexpr const char *kDescription =
    R"(Runs a Flume broker: publish/subscribe over QUIC (UDP), one stream per subscription.
With no options it listens on [::]:7337 (IPv6 and IPv4 alike; 0.0.0.0:7337 on a machine
without IPv6) with a self-signed certificate that it creates on the
first start (in the data directory) and reuses afterwards.)";

constexpr const char *kFooter =
    R"(TOML keys have the long option names with '_' for '-' (listen, cert, key, data_dir,
max_payload, max_connections, max_connections_per_address, handshake_rate, max_subscriptions, queue_limit, max_queue_limit,
max_pending_bytes, max_memory, shutdown_grace, stats_interval, log_level, log_format,
node_name, cluster_listen, cluster_ca, node_cert, node_key, peer, cluster_lanes,
cluster_advertise, cluster_max_links, cluster_probe_rate, cluster_reorder_ms); peer may be a
list; command-line options override the file. Example:

  listen = "127.0.0.1:7337"
  max_payload = 131072
  log_level = "debug"
  node_name = "a"
  peer = ["127.0.0.1:7348", "127.0.0.1:7358"]

Overlay (docs/overlay.md): with --node-name the broker is a node of a cluster. It listens for
other nodes on --cluster-listen (HTTP/3, mutual TLS with the cluster CA) and dials each --peer.
Nodes tell each other their links and --cluster-advertise addresses, so one seed is enough: a
node dials the others it learns of (up to --cluster-max-links links) and messages are relayed
along fewest-hop routes.
Make the certificates with 'flume-broker cluster init-ca' and 'flume-broker cluster issue-node'.

SIGINT or SIGTERM shuts down gracefully: clients get SHUTTING_DOWN; a second signal exits at once.
)";

constexpr const char *kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
constexpr const char *kLogFormats[] = {"text", "json"};

struct Options {
  flume::BrokerServerConfig server;
  flume::overlay::ClusterConfig cluster;
  unsigned long stats_interval = 0;
  std::string log_level = "info";   // one of kLogLevels
  std::string log_format = "text";  // one of kLogFormats
};

// Every setting, by its long name: the command line and the TOML file accept the same ones.
struct Setting {
  const char *name;   // the long option; the TOML key has '_' for '-'
  const char *flags;  // for CLI11
  const char *value;  // what the help calls the value
  const char *help;
};

constexpr Setting kSettings[] = {
    {"listen", "-l,--listen", "ADDRESS",
     "address and UDP port to listen on: [::]:7337 (default: every\nIPv6 and IPv4 address), "
     "0.0.0.0:7337 (IPv4 only), 127.0.0.1:7337,\n[::1]:7337, :7337 (same as [::]:7337)"},
    {"cert", "--cert", "FILE", "certificate chain (PEM); needs --key"},
    {"key", "--key", "FILE", "private key (PEM) for --cert"},
    {"data-dir", "--data-dir", "DIR",
     "where the self-signed certificate lives when --cert is not given\n(default: $FLUME_DATA_DIR, "
     "else $XDG_DATA_HOME/flume, else\n~/.local/share/flume)"},
    {"max-payload", "--max-payload", "BYTES",
     "largest message payload (default 65536, at most 16777216)"},
    {"max-connections", "--max-connections", "N",
     "clients at once (default 10000); more get TOO_MANY_CONNECTIONS"},
    {"max-connections-per-address", "--max-connections-per-address", "N",
     "connections one source address (IPv4, or IPv6 /64) may hold\n(default 1000, 0: no limit); "
     "more are refused at the QUIC\nhandshake (loopback is exempt)"},
    {"handshake-rate", "--handshake-rate", "N",
     "new connections a second one source address may start, 2N at\nonce (default 100, 0: no "
     "limit); beyond it an address must prove\nitself with a QUIC Retry and is then refused "
     "(loopback is exempt)"},
    {"max-subscriptions", "--max-subscriptions", "N",
     "subscriptions per connection (default 10000)"},
    {"queue-limit", "--queue-limit", "N",
     "messages queued per subscription when the client asks for no\nsize (default 1024)"},
    {"max-queue-limit", "--max-queue-limit", "N", "the most a client may ask for (default 65536)"},
    {"max-pending-bytes", "--max-pending-bytes", "N",
     "bytes queued for one connection before its subscriptions\noverflow (default 67108864 = 64 "
     "MiB)"},
    {"max-memory", "--max-memory", "BYTES",
     "bytes the queues of all connections may hold together; past it\nthe subscriptions holding "
     "the most overflow first (default: a\nquarter of the machine's memory or cgroup limit, at "
     "least 64 MiB)"},
    {"shutdown-grace", "--shutdown-grace", "MS",
     "how long a shutdown waits for clients to hear about it\n(default 2000)"},
    {"stats-interval", "--stats-interval", "S",
     "print counters every S seconds (default 0: never)"},
    {"log-level", "--log-level", "LEVEL",
     "what the log on stderr shows: trace, debug, info (default), warn,\nerror or off. info: "
     "clients the broker refused or closed and why;\ndebug: every connection accepted and "
     "closed; trace: QUIC and TLS\ninternals, per packet (for debugging only)"},
    {"node-name", "--node-name", "NAME",
     "join an overlay cluster as this node (the CN of --node-cert)"},
    {"cluster-listen", "--cluster-listen", "ADDRESS",
     "UDP address for links from other nodes (default [::]:7338)"},
    {"cluster-ca", "--cluster-ca", "FILE", "the cluster CA certificate (PEM)"},
    {"node-cert", "--node-cert", "FILE", "this node's certificate, issued by the cluster CA"},
    {"node-key", "--node-key", "FILE", "its private key"},
    {"peer", "--peer", "HOST:PORT", "a node to link with (repeatable; port default 7338)"},
    {"cluster-lanes", "--cluster-lanes", "N",
     "lane streams per link this node dials (1-64, default 8): subjects\nspread over them, "
     "so a loss delays only the subjects of one lane"},
    {"cluster-advertise", "--cluster-advertise", "HOST:PORT",
     "the node-link address other nodes learn from this node's adverts\nand dial (default: "
     "--cluster-listen unless it is a wildcard; then\nonly nodes with this one as --peer link "
     "to it)"},
    {"cluster-max-links", "--cluster-max-links", "N",
     "dial nodes learnt from adverts while this node has fewer links\n(default 16; seeds are "
     "always dialled)"},
    {"cluster-probe-rate", "--cluster-probe-rate", "N",
     "probes a second on each link this node dials (0-10, default 2;\n0 = off): RTT, loss "
     "and noticing a dead peer within 2 s"},
    {"cluster-reorder-ms", "--cluster-reorder-ms", "MS",
     "how long a message from another node that overtook an earlier one\nwaits for it "
     "(0-10000, default 150); then the missing ones are\ncounted lost (lost_in_cluster)"},
    {"log-format", "--log-format", "FORMAT",
     "text (default): \"TIME LEVEL COMPONENT: MESSAGE\" lines; json: one\nobject per line "
     "with ts (UTC), level, component and msg"},
};

[[noreturn]] void usage_error(const std::string &message) {
  flume::command_line::usage_error("flume-broker", message);
}

unsigned long long parse_count(const std::string &name, const std::string &text,
                               unsigned long long min, unsigned long long max) {
  if (auto value = flume::text::parse_whole(text, min, max)) return *value;
  usage_error(flume::text::whole_number_error(name, text, min, max));
}

template <std::size_t N>
const std::string &one_of(const std::string &name, const std::string &value,
                          const char *const (&choices)[N]) {
  if (std::find(std::begin(choices), std::end(choices), value) != std::end(choices)) return value;
  std::string list;
  for (std::size_t i = 0; i < N; ++i)
    list += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(choices[i]);
  usage_error(name + " must be " + list + ", not '" + value + "'");
}

// Applies one setting by its long name; shared by the command line and the TOML file so both
// accept exactly the same things.
void apply(Options &options, const std::string &name, const std::string &value,
           const std::string &label) {
  auto &engine = options.server.engine;
  if (name == "listen") {
    options.server.listen = value;
  } else if (name == "cert") {
    options.server.certificate_file = value;
  } else if (name == "key") {
    options.server.key_file = value;
  } else if (name == "data-dir") {
    options.server.data_dir = value;
  } else if (name == "max-payload") {
    engine.max_payload =
        static_cast<std::uint32_t>(parse_count(label, value, 1, flume::kHardMaxPayload));
  } else if (name == "max-connections") {
    engine.max_connections = parse_count(label, value, 1, 1000000);
  } else if (name == "max-connections-per-address") {
    options.server.address_limits.max_connections_per_address =
        parse_count(label, value, 0, 1000000);
  } else if (name == "handshake-rate") {
    const auto rate = static_cast<std::uint32_t>(parse_count(label, value, 0, 1000000));
    options.server.address_limits.handshakes_per_second = rate;
    options.server.address_limits.handshake_burst = 2 * rate;
  } else if (name == "max-subscriptions") {
    engine.max_subscriptions_per_connection =
        static_cast<std::uint32_t>(parse_count(label, value, 1, UINT32_MAX));
  } else if (name == "queue-limit") {
    engine.default_queue_limit =
        static_cast<std::uint32_t>(parse_count(label, value, 1, UINT32_MAX));
  } else if (name == "max-queue-limit") {
    engine.max_queue_limit = static_cast<std::uint32_t>(parse_count(label, value, 1, UINT32_MAX));
  } else if (name == "max-pending-bytes") {
    engine.max_pending_bytes_per_connection = parse_count(label, value, 1024, 1ULL << 40);
  } else if (name == "max-memory") {
    engine.max_memory_bytes = parse_count(label, value, 1ULL << 20, 1ULL << 50);
  } else if (name == "shutdown-grace") {
    options.server.shutdown_grace = std::chrono::milliseconds(parse_count(label, value, 0, 600000));
  } else if (name == "stats-interval") {
    options.stats_interval = parse_count(label, value, 0, 86400);
  } else if (name == "node-name") {
    options.cluster.node_name = value;
  } else if (name == "cluster-listen") {
    options.cluster.listen = value;
  } else if (name == "cluster-ca") {
    options.cluster.ca_file = value;
  } else if (name == "node-cert") {
    options.cluster.certificate_file = value;
  } else if (name == "node-key") {
    options.cluster.key_file = value;
  } else if (name == "peer") {
    options.cluster.peers.push_back(value);
  } else if (name == "cluster-lanes") {
    options.cluster.lanes = static_cast<std::uint8_t>(parse_count(label, value, 1, 64));
  } else if (name == "cluster-advertise") {
    options.cluster.advertise = value;
  } else if (name == "cluster-max-links") {
    options.cluster.learnt_dial_limit = parse_count(label, value, 0, 4096);
  } else if (name == "cluster-probe-rate") {
    options.cluster.probe_rate = static_cast<unsigned>(parse_count(label, value, 0, 10));
  } else if (name == "cluster-reorder-ms") {
    options.cluster.reorder_window =
        std::chrono::milliseconds(static_cast<long long>(parse_count(label, value, 0, 10000)));
  } else if (name == "log-level") {
    options.log_level = one_of(label, value, kLogLevels);
  } else if (name == "log-format") {
    options.log_format = one_of(label, value, kLogFormats);
  } else {
    usage_error("unknown option '" + label + "'");
  }
}

// "FILE line N" for messages about a key of the configuration file.
std::string where_in(const std::string &path, const toml::node &node) {
  const auto line = node.source().begin.line;
  return line > 0 ? path + " line " + std::to_string(line) : path;
}

void load_config_file(Options &options, const std::string &path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error &error) {
    usage_error("cannot read " + path + " line " + std::to_string(error.source().begin.line) +
                ": " + std::string(error.description()));
  }
  for (const auto &[key, node] : table) {
    const std::string key_text(key.str());
    const std::string where = where_in(path, node);
    if (node.is_table()) {
      usage_error(where + ": [" + key_text +
                  "] is a table, but flume-broker's keys go at the top level of the file, "
                  "without a [section]");
    }
    std::string name = key_text;
    for (char &c : name)
      c = c == '_' ? '-' : c;
    if (name == "config") usage_error(where + ": 'config' cannot be set inside a config file");
    if (std::none_of(std::begin(kSettings), std::end(kSettings),
                     [&](const Setting &setting) { return name == setting.name; })) {
      usage_error(where + ": unknown key '" + key_text +
                  "'; the keys are the long option names with '_' for '-'");
    }
    if (name == "peer" && node.is_array()) {
      for (const auto &item : *node.as_array()) {
        auto text = item.value<std::string>();
        if (!text || !item.is_string()) usage_error(where + ": 'peer' must list strings");
        apply(options, name, *text, key_text + " (" + where + ")");
      }
      continue;
    }
    std::string value;
    if (auto text = node.value<std::string>(); text && node.is_string()) {
      value = *text;
    } else if (auto number = node.value<std::int64_t>(); number && node.is_integer()) {
      value = std::to_string(*number);
    } else {
      usage_error(where + ": '" + key_text + "' must be a string or an integer");
    }
    apply(options, name, value, key_text + " (" + where + ")");
  }
}

Options parse_options(int argc, char **argv) {
  CLI::App app(kDescription, "flume-broker");
  flume::command_line::configure(app, "flume-broker", flume::kVersion);
  app.footer(kFooter);
  std::string config_file;
  bool regenerate_certificate = false;
  app.add_flag("--regenerate-certificate", regenerate_certificate,
               "make a new self-signed certificate even though one exists (the old\n"
               "cert.pem and key.pem are kept as *.<time>.bak); clients must then\n"
               "trust the new one. Without it a damaged certificate stops the broker");
  app.add_option("-c,--config", config_file,
                 "read options from a TOML file (keys below); command-line options\noverride it")
      ->type_name("FILE");
  // The values are applied after the file, whatever their place on the command line.
  std::vector<std::optional<std::string>> given(std::size(kSettings));
  std::vector<std::string> peers;  // --peer is the one repeatable setting
  for (std::size_t i = 0; i < std::size(kSettings); ++i) {
    if (std::string(kSettings[i].name) == "peer") {
      app.add_option(kSettings[i].flags, peers, kSettings[i].help)
          ->type_name(kSettings[i].value)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      continue;
    }
    app.add_option(kSettings[i].flags, given[i], kSettings[i].help)->type_name(kSettings[i].value);
  }
  flume::command_line::parse_or_exit(app, argc, argv, [] { return std::string("flume-broker"); });
  flume::command_line::reject_extras(app.remaining(), "flume-broker");

  Options options;
  if (!config_file.empty()) load_config_file(options, config_file);
  for (std::size_t i = 0; i < std::size(kSettings); ++i) {
    if (given[i])
      apply(options, kSettings[i].name, *given[i], std::string("--") + kSettings[i].name);
  }
  if (!peers.empty()) {
    options.cluster.peers.clear();  // the command line's peers replace the file's
    for (const std::string &peer : peers)
      apply(options, "peer", peer, "--peer");
  }
  options.server.regenerate_certificate = regenerate_certificate;
  return options;
}

void print_cluster_stats(const flume::overlay::ClusterNode &node) {
  const auto c = node.stats();
  std::printf(
      "cluster: links_up=%llu links_dead=%llu forwarded=%llu received=%llu delivered=%llu "
      "duplicates=%llu dropped_backlog=%llu interest_rejected=%llu handshakes_failed=%llu "
      "nodes_known=%llu node_adverts_rejected=%llu links_replaced=%llu relayed=%llu "
      "dropped_upstream=%llu lost_in_cluster=%llu late=%llu resent=%llu lost_on_link=%llu\n",
      static_cast<unsigned long long>(c.links_up), static_cast<unsigned long long>(c.links_dead),
      static_cast<unsigned long long>(c.messages_forwarded),
      static_cast<unsigned long long>(c.messages_received),
      static_cast<unsigned long long>(c.messages_delivered),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.dropped_backlog),
      static_cast<unsigned long long>(c.interest_rejected),
      static_cast<unsigned long long>(c.handshakes_failed + c.inbound_handshakes_failed),
      static_cast<unsigned long long>(c.nodes_known),
      static_cast<unsigned long long>(c.node_adverts_rejected),
      static_cast<unsigned long long>(c.links_replaced),
      static_cast<unsigned long long>(c.messages_relayed),
      static_cast<unsigned long long>(c.dropped_upstream),
      static_cast<unsigned long long>(c.lost_in_cluster), static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.resent), static_cast<unsigned long long>(c.lost_on_link));
  std::fflush(stdout);
}

void print_stats(const flume::BrokerServer &server) {
  const auto s = server.stats();
  std::printf(
      "stats: connections=%llu subscriptions=%llu messages_in=%llu messages_out=%llu "
      "dropped=%llu queued=%llu\n",
      static_cast<unsigned long long>(s.connections),
      static_cast<unsigned long long>(s.subscriptions),
      static_cast<unsigned long long>(s.messages_in),
      static_cast<unsigned long long>(s.messages_out),
      static_cast<unsigned long long>(s.dropped_oldest + s.dropped_newest +
                                      s.dropped_slow_consumer + s.dropped_no_memory),
      static_cast<unsigned long long>(s.queued_messages));
  const auto t = server.transport_stats();
  if (t.connections_refused + t.refused_address_connections + t.refused_address_rate +
          t.retries_for_address_rate + t.dropped_address_rate !=
      0) {
    std::printf(
        "admission: refused_at_limit=%llu refused_per_address=%llu refused_rate=%llu "
        "retries_for_rate=%llu dropped_for_rate=%llu\n",
        static_cast<unsigned long long>(t.connections_refused),
        static_cast<unsigned long long>(t.refused_address_connections),
        static_cast<unsigned long long>(t.refused_address_rate),
        static_cast<unsigned long long>(t.retries_for_address_rate),
        static_cast<unsigned long long>(t.dropped_address_rate));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "cluster") {
    return flume::broker_cli::run_cluster_command(argc - 1, argv + 1);
  }
  Options options = parse_options(argc, argv);
  flume::broker_cli::install_logging(*flume::broker_cli::parse_log_level(options.log_level),
                                     options.log_format);

  // Signals arrive through a signalfd on the loop, never as asynchronous handlers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::cerr << "flume-broker: signalfd: " << std::strerror(errno) << "\n";
    return 1;
  }

  flume::EventLoop loop;
  flume::BrokerServer server(loop, options.server);
  std::string message;
  if (server.open(message)) {
    std::cerr << "flume-broker: " << message << "\n";
    return 1;
  }

  const auto &credentials = server.credentials();
  std::printf("flume-broker %s listening on %s (QUIC over UDP, %s, ALPN %s)\n",
              std::string(flume::kVersion).c_str(), server.local_address().to_string().c_str(),
              server.listen_note().c_str(), std::string(flume::kAlpn).c_str());
  std::printf(
      "certificate: %s%s\n", credentials.certificate_path().c_str(),
      credentials.self_signed()
          ? (credentials.generated_now() ? " (self-signed, created now)" : " (self-signed, reused)")
          : "");
  if (credentials.generated_now() && !credentials.generation_note().empty()) {
    std::printf("  (%s)\n", credentials.generation_note().c_str());
  }
  std::printf("  SHA-256 fingerprint %s\n", credentials.fingerprint().c_str());
  std::printf("  %s\n", credentials.trust_hint().c_str());
  std::unique_ptr<flume::overlay::ClusterNode> node;
  if (!options.cluster.node_name.empty()) {
    node = std::make_unique<flume::overlay::ClusterNode>(loop, server.engine(), options.cluster);
    if (node->open(message)) {
      std::cerr << "flume-broker: " << message << "\n";
      return 1;
    }
    std::printf(
        "cluster node %s listening for nodes on %s (HTTP/3, mutual TLS with %s), %zu "
        "peer(s) to dial\n",
        options.cluster.node_name.c_str(), node->local_address().to_string().c_str(),
        options.cluster.ca_file.c_str(), options.cluster.peers.size());
  }
  std::printf("memory budget for queued messages: %llu MiB (--max-memory)\n",
              static_cast<unsigned long long>(server.stats().memory_budget_bytes >> 20));
  std::fflush(stdout);
  // The same in the log, for whoever reads only the log (the lines above are for people and for
  // scripts that parse them).
  FLUME_LOG(flume::log::Level::info, "flume-broker", "started: version %s, address %s, pid %d",
            std::string(flume::kVersion).c_str(), server.local_address().to_string().c_str(),
            static_cast<int>(getpid()));

  int signals_seen = 0;
  loop.watch(signal_fd, flume::EventLoop::kReadable, [&](std::uint32_t) {
    signalfd_siginfo info{};
    while (read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (++signals_seen > 1) {
        std::printf("second signal: exiting now\n");
        std::fflush(stdout);
        std::_Exit(1);
      }
      std::printf("%s: shutting down (clients get SHUTTING_DOWN; signal again to exit now)\n",
                  strsignal(static_cast<int>(info.ssi_signo)));
      std::fflush(stdout);
      FLUME_LOG(flume::log::Level::info, "flume-broker", "%s: shutting down",
                strsignal(static_cast<int>(info.ssi_signo)));
      if (node) node->close();
      server.shutdown([&loop] { loop.stop(); });
    }
  });

  flume::TimerId stats_timer;
  if (options.stats_interval > 0) {
    stats_timer = loop.add_timer([&] {
      print_stats(server);
      if (node) print_cluster_stats(*node);
      loop.arm_after(stats_timer, std::chrono::seconds(options.stats_interval));
    });
    loop.arm_after(stats_timer, std::chrono::seconds(options.stats_interval));
  }

  loop.run();
  loop.unwatch(signal_fd);
  close(signal_fd);
  print_stats(server);
  if (node) print_cluster_stats(*node);
  node.reset();
  std::printf("flume-broker stopped\n");
  std::fflush(stdout);
  FLUME_LOG(flume::log::Level::info, "flume-broker", "stopped");
  return 0;
}
