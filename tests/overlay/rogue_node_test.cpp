// A node that sends bad frames over a real node link: a certificate from the cluster CA, a
// proper NODE_HELLO and lane, then malformed and stale adverts, malformed interest, a drop notice
// for an invalid subject and finally an unknown frame type. The node it talks to counts and
// ignores each (or closes that one link, for the unknown type) and goes on serving its other
// link. Embedded brokers over real HTTP/3 on 127.0.0.1 (cluster_harness.hpp).
#include <string>
#include <vector>

#include "cluster_harness.hpp"
#include "overlay/h3_session.hpp"
#include "overlay/node_link.hpp"
#include "tls/client_trust.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;
using namespace testing;

// Header (type, subject length 0, payload length u32) + payload, whatever the payload says.
SharedBuffer raw_frame(std::uint8_t type, const std::vector<std::uint8_t> &payload) {
  std::vector<std::uint8_t> bytes = {type, 0};
  const auto size = static_cast<std::uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<std::uint8_t>(size >> shift));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return SharedBuffer::copy_of(bytes);
}

// The dialing side of one node link, driven by hand on the test's own loop.
class RogueNode final : public quic::ConnectionHandler, public H3Events {
 public:
  RogueNode(const ClusterFiles &files, const std::string &name) : name_(name) {
    std::string error;
    auto trust = tls::ClientTrust::from_ca_file_with_identity(
        files.path("one-ca.pem"), files.path(name + ".pem"), files.path(name + ".key"), error);
    if (!trust) throw std::runtime_error(error);
    quic::EndpointConfig config = quic::EndpointConfig::client(trust);
    config.alpn = "h3";
    config.max_peer_bidi_streams = 0;
    config.max_peer_uni_streams = 3;
    endpoint_ = std::make_unique<quic::Endpoint>(loop_, config, *this);
    if (endpoint_->open(&error)) throw std::runtime_error(error);
  }

  bool connect(const std::string &address) {
    std::string error;
    const auto colon = address.rfind(':');
    auto target = parse_address(address.substr(0, colon),
                                static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    if (!target || endpoint_->connect(*target, "localhost", &error) == nullptr) return false;
    return pump_until([&] { return control_ >= 0; }, 3s);
  }

  void send_control(const SharedBuffer &frame) {
    if (h3_ && control_ >= 0) h3_->send_body(control_, frame);
    pump(100ms);
  }

  bool closed() const { return closed_; }
  // Runs the loop (bounded) until `done` or the time is up.
  bool pump_until(const std::function<bool()> &done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      loop_.run_once(10ms);
    return done();
  }
  void pump(std::chrono::milliseconds for_how_long) {
    pump_until([] { return false; }, for_how_long);
  }

  // quic::ConnectionHandler
  void on_connected(quic::Connection &connection) override {
    std::string why;
    h3_ = H3Session::create(connection, *this, why);
    if (!h3_) return;
    control_ = h3_->open_request("rogue", kControlPath);
    lane_ = h3_->open_request("rogue", std::string(kLanePathPrefix) + "0");
    h3_->send_body(control_, encode_node_hello(name_, 1, 42));
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
  void on_closed(quic::Connection &, const quic::CloseInfo &) override {
    h3_.reset();
    closed_ = true;
  }
  // H3Events: what the node answers is not looked at.
  void on_request(std::int64_t, std::string_view) override {}
  void on_response(std::int64_t, unsigned) override {}
  void on_body(std::int64_t, std::span<const std::uint8_t>) override {}
  void on_body_end(std::int64_t) override {}

 private:
  std::string name_;
  EventLoop loop_;
  std::unique_ptr<quic::Endpoint> endpoint_;
  std::unique_ptr<H3Session> h3_;
  std::int64_t control_ = -1;
  std::int64_t lane_ = -1;
  bool closed_ = false;
};

TEST(ClusterRogueNode, BadFramesOverARealLinkAreCountedAndNothingElseIsDisturbed) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "r"})
    files.issue("one", name);
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }));

  RogueNode rogue(files, "r");
  ASSERT_TRUE(rogue.connect(a.cluster_address())) << "the rogue node could not link";
  ASSERT_TRUE(rogue.pump_until([&] { return a.stats().links_up == 2; }, 5s))
      << "a did not take the rogue node's link up";
  const ClusterStats before = a.stats();

  // A NODE_ADVERT whose payload is garbage; a valid one from "q", then an older one from it; one
  // claiming to be a itself.
  rogue.send_control(raw_frame(0x24, {1, 2, 3}));
  rogue.send_control(encode_node_advert(NodeAdvert{"q", 7, 5, "", {}}));
  rogue.send_control(encode_node_advert(NodeAdvert{"q", 7, 3, "", {}}));
  rogue.send_control(encode_node_advert(NodeAdvert{"a", 1, 1, "", {}}));
  // A NODE_INTEREST whose pattern count runs past its payload.
  rogue.send_control(
      raw_frame(0x25, {1, 'r', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9}));
  // A LINK_DROPPED for a subject that is not one.
  rogue.send_control(encode_link_dropped("a..b", LinkDropped{5, 8}));
  ASSERT_TRUE(rogue.pump_until(
      [&] {
        const ClusterStats now = a.stats();
        return now.node_adverts_rejected > before.node_adverts_rejected &&
               now.node_adverts_stale >= before.node_adverts_stale + 2 &&
               now.interest_rejected > before.interest_rejected &&
               now.drop_notices_rejected > before.drop_notices_rejected;
      },
      5s))
      << "not every bad frame was counted";
  EXPECT_FALSE(rogue.closed()) << "a bad advert closed the link (it should be counted, ignored)";
  EXPECT_EQ(a.stats().dropped_upstream, before.dropped_upstream);

  // An unknown frame type is a link error: a closes that link, and only that one.
  rogue.send_control(raw_frame(0x77, {}));
  EXPECT_TRUE(rogue.pump_until([&] { return rogue.closed(); }, 5s))
      << "an unknown frame type did not end the link";

  // a and b still forward as before.
  ClientResult result;
  auto subscriber = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("after.rogue", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(3000ms).ok());
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));
  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  ASSERT_TRUE(publisher->publish("after.rogue", bytes("still here")).ok());
  Message message;
  ASSERT_TRUE(subscription->recv(message, 3000ms).ok());
  EXPECT_EQ(text(message), "still here");
}

}  // namespace
}  // namespace flume::overlay
