// One link between two overlay nodes: an HTTP/3 connection (mutual TLS, ALPN h3) carrying one
// control request stream and N lane request streams, each a pair of open-ended bodies of overlay
// frames (docs/protocol.md section 17). The dialer opens the requests; the listener answers each
// with 200. This object speaks that protocol on one connection and nothing else: which messages
// go where, and what interest means, is the ClusterNode's business (the LinkOwner).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "overlay/h3_session.hpp"
#include "overlay/interest_table.hpp"
#include "overlay/link_measurement.hpp"
#include "overlay/overlay_frames.hpp"
#include "overlay/sent_log.hpp"
#include "quic/connection.hpp"

namespace flume::overlay {

class NodeLink;

// HTTP/3 request paths of node links.
inline constexpr std::string_view kControlPath = "/.well-known/flume/overlay/1/control";
inline constexpr std::string_view kLanePathPrefix = "/.well-known/flume/overlay/1/lane/";

// Application error codes a node link is closed with (HTTP/3's, RFC 9114 8.1).
inline constexpr std::uint64_t kH3NoError = 0x100;
inline constexpr std::uint64_t kH3GeneralProtocolError = 0x101;
inline constexpr std::uint64_t kH3ExcessiveLoad = 0x107;

struct LinkCounters {
  std::uint64_t messages_forwarded = 0;  // MESSAGE frames sent on the lanes
  std::uint64_t bytes_forwarded = 0;     // their frame bytes (ROUTE not counted)
  std::uint64_t dropped_backlog = 0;     // not sent: the lane already held max_lane_backlog
  std::uint64_t messages_received = 0;   // MESSAGE frames received (before dedupe)
  // Of dropped_backlog: told to the peer in LINK_DROPPED frames, or not (the table of
  // subjects waiting to be told was full, or the link closed first): counted here only.
  std::uint64_t drops_reported = 0;
  std::uint64_t drops_unreported = 0;
  std::uint64_t drops_received = 0;  // messages the peer's LINK_DROPPED frames counted
  // When the link failed or turned unusable: (message, destination node) pairs it had sent
  // within the resend window that went out again along other routes, and those that could not
  // (no other route, or that lane full).
  std::uint64_t resent = 0;
  std::uint64_t lost_on_link = 0;
};

class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  // Both NODE_HELLOs are through and every lane is open: data may flow.
  virtual void link_up(NodeLink &link) = 0;
  // A forwarded message: `message` is the whole MESSAGE frame (valid during the call).
  virtual void link_message(NodeLink &link, const RouteHeader &route, std::string_view subject,
                            std::span<const std::uint8_t> message) = 0;
  // A NODE_ADVERT: `payload` to parse, `whole` the frame to flood on (both valid during the call).
  virtual void link_advert(NodeLink &link, std::span<const std::uint8_t> payload,
                           std::span<const std::uint8_t> whole) = 0;
  // A LINK_DROPPED: messages of `subject` the peer's side dropped before they got here.
  virtual void link_dropped(NodeLink &link, std::string_view subject,
                            const LinkDropped &dropped) = 0;
  // A NODE_INTEREST, likewise.
  virtual void link_node_interest(NodeLink &link, std::span<const std::uint8_t> payload,
                                  std::span<const std::uint8_t> whole) = 0;
  // This end is closing the link (close() on a link that is up): nothing more can be sent on
  // it from now on, before its connection is gone.
  virtual void link_closing(NodeLink &) {}
  // The body of a GET of kStatePath on this link's connection (protocol 17.9).
  virtual std::string link_state_document() { return "{}"; }
};

class NodeLink final : public H3Events {
 public:
  struct Settings {
    std::string node_name;              // ours
    std::uint8_t lanes = 8;             // dialer: lane streams to open
    std::uint32_t max_payload = 65536;  // of forwarded messages
    std::size_t max_lane_backlog = 4 << 20;
    std::uint64_t epoch = 0;  // ours, in NODE_HELLO
    unsigned probe_rate = 2;  // dialer: probes a second (0 = none; link_probes.cpp)
    std::uint64_t resend_keep_ns = 1'000'000'000;  // what sent_log() keeps
    std::size_t resend_max_bytes = std::size_t{2} << 20;
  };

  NodeLink(LinkId id, quic::Connection &connection, LinkOwner &owner, Settings settings);
  ~NodeLink() override;

  // Sets up HTTP/3; the dialer opens its requests and says NODE_HELLO. False: the connection
  // was closed (see the log).
  bool start();

  LinkId id() const noexcept { return id_; }
  bool dialer() const noexcept { return connection_.role() == quic::Role::client; }
  bool up() const noexcept { return up_; }
  // The peer's node name, once its NODE_HELLO matched its certificate ("" before).
  const std::string &peer_name() const noexcept { return peer_name_; }
  // The peer's epoch from its NODE_HELLO: a new one means a new process of that node.
  std::uint64_t peer_epoch() const noexcept { return peer_epoch_; }
  quic::Connection &connection() const noexcept { return connection_; }
  const LinkCounters &counters() const noexcept { return counters_; }

  // Lane stream chosen by the subject (so one subject keeps its order and a loss delays only
  // the subjects of one lane): ROUTE then the MESSAGE frame. False when dropped (backlog full).
  // Control stream: a frame encoded elsewhere (NODE_ADVERT, NODE_INTEREST: ours or flooded
  // on), once up.
  void send_control(const SharedBuffer &frame);
  bool forward(std::string_view subject, const SharedBuffer &route, const SharedBuffer &message);

  // Probes (link_probes.cpp): the dialer sends those due, both ends settle timeouts and close a
  // link its probes show dead. Called every few tens of milliseconds.
  void tick(std::uint64_t now);
  const LinkMeasurement &measurement() const noexcept { return measurement_; }
  // Closed because the probes showed the peer gone (counted as links_dead).
  bool dead() const noexcept { return dead_; }

  // The ROUTE + MESSAGE copies sent recently, for the owner to re-send when the link fails.
  SentLog &sent_log() noexcept { return sent_log_; }
  const SentLog &sent_log() const noexcept { return sent_log_; }
  void count_failover(std::uint64_t resent, std::uint64_t lost) noexcept {
    counters_.resent += resent;
    counters_.lost_on_link += lost;
  }

  // Closes the connection (once) with an application error and a reason for the log.
  void close(std::uint64_t code, const std::string &reason);

  // From the ClusterNode's ConnectionHandler.
  void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data, bool fin);
  void on_stream_reset(std::int64_t stream_id, std::uint64_t code);
  void on_stream_closed(std::int64_t stream_id, std::uint64_t code);

 private:
  enum class StreamKind : std::uint8_t { control, lane };
  struct StreamState {
    StreamState(StreamKind k, std::uint32_t max_payload) : kind(k), reader(max_payload) {}
    StreamKind kind;
    OverlayFrameReader reader;
    std::optional<RouteHeader> route;  // a ROUTE waiting for its MESSAGE
  };

  // H3Events
  void on_request(std::int64_t stream_id, std::string_view path) override;
  void on_response(std::int64_t stream_id, unsigned status) override;
  void on_body(std::int64_t stream_id, std::span<const std::uint8_t> data) override;
  void on_body_end(std::int64_t stream_id) override;

  void on_frame(std::int64_t stream_id, StreamState &stream, const OverlayFrame &frame);
  void on_control_frame(const OverlayFrame &frame);
  void on_lane_frame(StreamState &stream, const OverlayFrame &frame);
  void check_up();
  // Adverts may be larger than a small broker's max_payload: the control stream accepts at
  // least kMaxControlPayload.
  std::uint32_t control_limit() const noexcept {
    return std::max<std::uint32_t>(settings_.max_payload, kMaxControlPayload);
  }
  // Drops for a full lane (link_drop_notices.cpp): remembered per subject and told to the peer
  // in LINK_DROPPED frames every tick, so its subscribers count them as gaps.
  void note_drop(std::string_view subject);
  void send_drop_notices();
  // Probe and state requests and probe responses; false when the stream is none of those.
  bool on_resource_request(std::int64_t stream_id, std::string_view path);
  bool on_probe_response(std::int64_t stream_id, unsigned status);

  LinkId id_;
  quic::Connection &connection_;
  LinkOwner &owner_;
  Settings settings_;
  std::unique_ptr<H3Session> h3_;
  std::unordered_map<std::int64_t, StreamState> streams_;
  std::int64_t control_stream_ = -1;
  std::vector<std::int64_t> lanes_;  // stream id by lane number (-1: not open yet)
  bool hello_received_ = false;
  bool up_ = false;
  bool closed_ = false;
  std::string peer_name_;
  std::uint64_t peer_epoch_ = 0;
  LinkCounters counters_;
  LinkMeasurement measurement_;
  SentLog sent_log_;
  bool dead_ = false;
  std::map<std::string, std::uint64_t, std::less<>> unreported_drops_;  // subject -> count
};

}  // namespace flume::overlay
