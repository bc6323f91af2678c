// flume overlay: fetches each given node's state document (GET /.well-known/flume/overlay/1/state
// on its cluster port, docs/protocol.md 17.9) over HTTP/3 with a certificate from the cluster CA,
// and prints the nodes, their links with RTT and loss, and every node known with its route and
// interest.
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flume_cli.hpp"
#include "loop/event_loop.hpp"
#include "net/host_port.hpp"
#include "net/udp_socket.hpp"
#include "overlay/h3_session.hpp"
#include "overlay/overlay_resources.hpp"
#include "quic/endpoint.hpp"
#include "tls/client_trust.hpp"

namespace flume::cli {
namespace {

constexpr const char *kDescription =
    R"(show overlay nodes, their links (RTT, loss) and interest

Asks each HOST:PORT (a node's --cluster-listen address) for its state over HTTP/3 and prints
this node, its links with the probe RTT, variance, loss and probe cost, QUIC's own RTT, and
every node it knows of with the next hop towards it and its interest. Node links are mutual TLS: give the cluster CA and a certificate
it issued (for example one made with 'flume-broker cluster issue-node').)";

constexpr const char *kFooter =
    R"(RTT and loss come from the probes the dialing node sends (--cluster-probe-rate); an
accepting node shows the numbers the dialer reported. --json prints one JSON array, the
nodes' documents in the order given.

exit status: 0 every node answered, 1 one did not (unreachable, wrong CA, not a Flume node), 2 a
bad command line.

examples:
  flume overlay --cluster-ca cluster/ca.pem --cert cluster/ops.pem --key cluster/ops.key \
    127.0.0.1:7501 127.0.0.1:7502
)";

constexpr CommandInfo kOverlay{"overlay"};
constexpr std::uint16_t kDefaultClusterPort = 7338;
constexpr std::size_t kMaxDocument = 16 << 20;

struct OverlayOptions {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool json = false;
  std::vector<std::string> nodes;
};

// One GET of the state document on a connection of its own; the loop runs until done.
class StateFetch final : public quic::ConnectionHandler, public overlay::H3Events {
 public:
  bool done = false;
  std::string error;  // set when it failed
  std::string body;
  std::string authority;

  void on_connected(quic::Connection &connection) override {
    std::string why;
    h3_ = overlay::H3Session::create(connection, *this, why);
    if (!h3_ || (stream_ = h3_->open_get(authority, overlay::kStatePath, {})) < 0) {
      finish(h3_ ? "cannot send the request" : why);
      connection.close(0x100, "", quic::CloseMode::immediate);
    }
    connection_ = &connection;
  }
  void on_stream_data(quic::Connection &, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override {
    if (h3_) h3_->on_stream_data(stream_id, data, fin);
  }
  void on_stream_reset(quic::Connection &, std::int64_t stream_id, std::uint64_t code) override {
    if (h3_) h3_->on_stream_reset(stream_id, code);
  }
  void on_stream_closed(quic::Connection &, std::int64_t stream_id, std::uint64_t code) override {
    if (h3_) h3_->on_stream_closed(stream_id, code);
  }
  void on_closed(quic::Connection &, const quic::CloseInfo &info) override {
    h3_.reset();
    connection_ = nullptr;
    if (!info.handshake_completed && info.message.find("ALPN") != std::string::npos) {
      finish("not a Flume node's cluster port (" + info.message + ")");
    } else if (!info.handshake_completed &&
               info.message.find("certificate rejected") != std::string::npos) {
      finish(info.message + "; the node accepts only certificates its cluster CA issued");
    } else {
      finish(info.message.empty() ? "connection closed" : info.message);
    }
  }

  void on_request(std::int64_t, std::string_view) override {}
  void on_response(std::int64_t stream_id, unsigned status) override {
    if (stream_id == stream_ && status != 200) {
      finish("not a Flume node (it answered " + std::to_string(status) + ")");
      close();
    }
  }
  void on_body(std::int64_t stream_id, std::span<const std::uint8_t> data) override {
    if (stream_id != stream_ || done) return;
    if (body.size() + data.size() > kMaxDocument) {
      finish("not a Flume node (the answer is larger than 16 MiB)");
      close();
      return;
    }
    body.append(reinterpret_cast<const char *>(data.data()), data.size());
  }
  void on_body_end(std::int64_t stream_id) override {
    if (stream_id != stream_ || done) return;
    done = true;
    close();
  }

 private:
  void finish(const std::string &why) {
    if (done) return;
    done = true;
    error = why;
  }
  void close() {
    if (connection_ != nullptr) connection_->close(0x100, "", quic::CloseMode::immediate);
  }
  std::unique_ptr<overlay::H3Session> h3_;
  quic::Connection *connection_ = nullptr;
  std::int64_t stream_ = -1;
};

// The state document of one node, or exits 1 saying why not.
nlohmann::ordered_json fetch_state(const std::shared_ptr<tls::ClientTrust> &trust,
                                   const std::string &node, std::chrono::milliseconds timeout) {
  HostPort parsed;
  std::string error;
  if (!parse_host_port(node, 1, parsed, error) || parsed.host.empty()) {
    usage_error(kOverlay, "'" + node + "': " + (error.empty() ? "no host" : error));
  }
  auto address = parse_address(parsed.host, parsed.port.value_or(kDefaultClusterPort));
  if (!address) {
    usage_error(kOverlay, "'" + node + "': not a numeric IPv4 or IPv6 address (or localhost)");
  }
  EventLoop loop;
  StateFetch fetch;
  fetch.authority = node;
  quic::EndpointConfig config = quic::EndpointConfig::client(trust);
  config.alpn = "h3";
  config.max_peer_bidi_streams = 0;
  config.max_peer_uni_streams = 3;
  config.handshake_timeout = timeout;
  quic::Endpoint endpoint(loop, config, fetch);
  if (endpoint.open(&error)) fail(kOverlay, error);
  if (endpoint.connect(*address, parsed.host, &error) == nullptr) {
    fail(kOverlay, node + ": " + error);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Bounded: until the document is in (or the connection failed), at most `timeout`, then a
  // short drain so the node sees the connection close.
  while (!fetch.done && std::chrono::steady_clock::now() < deadline)
    loop.run_once(std::chrono::milliseconds(50));
  if (!fetch.done)
    fail(kOverlay, node + ": no answer within " + std::to_string(timeout.count()) + " ms");
  for (int i = 0; i < 20 && endpoint.connection_count() > 0; ++i)
    loop.run_once(std::chrono::milliseconds(10));
  if (!fetch.error.empty()) fail(kOverlay, node + ": " + fetch.error);
  nlohmann::ordered_json document = nlohmann::ordered_json::parse(fetch.body, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("node")) {
    fail(kOverlay, node + ": not a Flume node (its answer is not a state document)");
  }
  return document;
}

std::string millis(const nlohmann::ordered_json &us) {
  if (!us.is_number_unsigned() || us.get<std::uint64_t>() == 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(us.get<std::uint64_t>()) / 1000);
  return text;
}

std::string cost_ms(const nlohmann::ordered_json &us) {
  if (!us.is_number_unsigned()) return "?";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(us.get<std::uint64_t>()) / 1000);
  return text;
}

std::string path_text(const nlohmann::ordered_json &path) {
  std::string out;
  if (!path.is_array()) return out;
  for (const nlohmann::ordered_json &hop : path) {
    if (!out.empty()) out += '>';
    out += hop.is_string() ? hop.get<std::string>() : "?";
  }
  return out;
}

// "via b (path a>b>c, 41.2 ms; direct 80.5 ms)": the route and why, the best alternative
// through another next hop beside it. An older document (no path): "via b (2 hops)".
std::string route_text(const nlohmann::ordered_json &node) {
  if (!node.contains("next_hop") || !node["next_hop"].is_string()) return "no route";
  std::string out = "via " + node["next_hop"].get<std::string>() + " (";
  if (!node.contains("path") || !node["path"].is_array()) {
    const int hops = node.value("hops", 0);
    return out + std::to_string(hops) + (hops == 1 ? " hop)" : " hops)");
  }
  out += "path " + path_text(node["path"]) + ", " + cost_ms(node["cost_us"]);
  if (node.contains("alternative") && node["alternative"].is_string()) {
    const nlohmann::ordered_json &alt = node["alternative_path"];
    out += "; ";
    out += alt.is_array() && alt.size() == 2 ? "direct" : "via " + path_text(alt);
    out += " " + cost_ms(node["alternative_cost_us"]);
  }
  return out + ")";
}

void print_route_changes(const nlohmann::ordered_json &doc) {
  if (!doc.contains("route_changes") || !doc["route_changes"].is_array() ||
      doc["route_changes"].empty())
    return;
  std::printf("  route changes:\n");
  for (const nlohmann::ordered_json &change : doc["route_changes"]) {
    const std::uint64_t unix_ms = change.value("unix_ms", std::uint64_t{0});
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char when[32];
    std::strftime(when, sizeof when, "%H:%M:%S", &utc);
    const std::string from = change.value("from", "");
    const std::string to = change.value("to", "");
    std::printf("    %s.%03u  %s: %s -> %s (%s -> %s): %s\n", when,
                static_cast<unsigned>(unix_ms % 1000), change.value("destination", "?").c_str(),
                from.empty() ? "(none)" : from.c_str(), to.empty() ? "(none)" : to.c_str(),
                from.empty() ? "-" : cost_ms(change["from_cost_us"]).c_str(),
                to.empty() ? "-" : cost_ms(change["to_cost_us"]).c_str(),
                change.value("reason", "?").c_str());
  }
}

void print_node(const std::string &asked, const nlohmann::ordered_json &doc) {
  const nlohmann::ordered_json &node = doc["node"];
  std::printf("node %s  epoch %s  cluster %s  (asked %s)\n", node.value("name", "?").c_str(),
              node.value("epoch", "?").c_str(), node.value("cluster_address", "?").c_str(),
              asked.c_str());
  const nlohmann::ordered_json links = doc.value("links", nlohmann::ordered_json::array());
  if (links.empty()) {
    std::printf("  no links\n");
  } else {
    std::printf("  %-16s %-8s %-8s %9s %9s %7s %9s %9s %10s %10s\n", "PEER", "DIR", "STATE",
                "RTT_MS", "RTTVAR_MS", "LOSS", "COST_B/S", "QUIC_MS", "FORWARDED", "RECEIVED");
    for (const nlohmann::ordered_json &link : links) {
      // The dialer measures; an accepting node shows what its dialer reported.
      const bool dialed = link.value("direction", "") == "dialed";
      const nlohmann::ordered_json m =
          dialed || link["peer_measured"].is_null() ? link["measured"] : link["peer_measured"];
      const unsigned settled = m.value("settled", 0u);
      char loss[16] = "-";
      if (settled > 0)
        std::snprintf(loss, sizeof loss, "%.1f%%", 100.0 * m.value("lost", 0u) / settled);
      std::printf(
          "  %-16s %-8s %-8s %9s %9s %7s %9llu %9s %10llu %10llu\n",
          link.value("peer", "?").c_str(), link.value("direction", "?").c_str(),
          link.value("usable", true) ? link.value("state", "?").c_str() : "unusable",
          millis(m["srtt_us"]).c_str(), millis(m["rttvar_us"]).c_str(), loss,
          static_cast<unsigned long long>(m.value("cost_bytes_per_second", 0ull)),
          millis(link["quic"]["srtt_us"]).c_str(),
          static_cast<unsigned long long>(link["counters"].value("messages_forwarded", 0ull)),
          static_cast<unsigned long long>(link["counters"].value("messages_received", 0ull)));
    }
  }
  const nlohmann::ordered_json local = doc.value("local_interest", nlohmann::ordered_json::array());
  std::printf("  interest here:");
  if (local.empty()) std::printf(" (none)");
  for (const nlohmann::ordered_json &p : local)
    std::printf(" %s", p.get<std::string>().c_str());
  std::printf("\n");
  // Every node this one knows of (a document without "nodes": its linked peers), with the next
  // hop towards it and its interest.
  const bool has_nodes = doc.contains("nodes") && doc["nodes"].is_array();
  const nlohmann::ordered_json others = has_nodes ? doc["nodes"] : links;
  for (const nlohmann::ordered_json &other : others) {
    const std::string name = other.value(has_nodes ? "name" : "peer", "?");
    const std::string route = has_nodes ? route_text(other) : std::string();
    std::printf("  node %s%s%s, interest:", name.c_str(), route.empty() ? "" : " ", route.c_str());
    const nlohmann::ordered_json patterns =
        other.value("interest", nlohmann::ordered_json::array());
    if (patterns.empty()) std::printf(" (none)");
    for (const nlohmann::ordered_json &p : patterns)
      std::printf(" %s", p.get<std::string>().c_str());
    if (other.value("interest_count", std::size_t{0}) > patterns.size())
      std::printf(" ... (%zu in all)", other.value("interest_count", std::size_t{0}));
    std::printf("\n");
  }
  print_route_changes(doc);
}

int run_overlay(const CommonOptions &common, const OverlayOptions &options) {
  if (options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty()) {
    usage_error(kOverlay,
                "--cluster-ca, --cert and --key are needed (node links are mutual TLS with the "
                "cluster CA)");
  }
  std::string error;
  auto trust = tls::ClientTrust::from_ca_file_with_identity(options.ca_file, options.cert_file,
                                                            options.key_file, error);
  if (!trust) fail(kOverlay, error);
  const auto timeout = common.timeout.value_or(std::chrono::milliseconds(5000));
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const std::string &node : options.nodes)
    all.push_back(fetch_state(trust, node, timeout));
  if (options.json) {
    std::printf("%s\n", all.dump(2).c_str());
    return kExitOk;
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) std::printf("\n");
    print_node(options.nodes[i], all[i]);
  }
  return kExitOk;
}

}  // namespace

Command add_overlay(CLI::App &flume, CommonOptions &common) {
  auto options = std::make_shared<OverlayOptions>();
  CLI::App &app = add_command(flume, "overlay", kDescription, kFooter, common);
  app.add_option("--cluster-ca", options->ca_file, "the cluster CA certificate (PEM)")
      ->option_text("FILE");
  app.add_option("--cert", options->cert_file, "a certificate issued by that CA")
      ->option_text("FILE");
  app.add_option("--key", options->key_file, "its private key")->option_text("FILE");
  app.add_flag("--json", options->json, "print the state documents as JSON");
  app.add_option("HOST:PORT", options->nodes, "nodes' cluster addresses (port default 7338)")
      ->required();
  return {&app, [options, &common, &app] {
            command_line::reject_extras(app.remaining(), "flume overlay");
            return run_overlay(common, *options);
          }};
}

}  // namespace flume::cli
