// Bad input against the real flume-broker process (docs/protocol.md 3.4, 11): malformed frames
// on a raw QUIC connection close that connection with the documented code while a normal client
// keeps publishing and receiving throughout; a client that does not trust the certificate is told
// so clearly, and the broker serves everyone else.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "broker_process.hpp"
#include "raw_connection.hpp"
#include "tls/server_credentials.hpp"

namespace flume::e2e {
namespace {

constexpr std::uint32_t kMaxPayload = 8192;

// A normal client doing publish/receive round trips on its own thread for as long as it lives.
class Bystander {
 public:
  explicit Bystander(const BrokerProcess &broker) {
    std::string error;
    client_ = connect_client(broker, error);
    if (!client_) {
      failure_ = error;
      return;
    }
    ClientResult result;
    subscription_ = client_->subscribe("bystander.echo", {}, nullptr, result);
    if (!subscription_ || !client_->flush(5s).ok()) {
      failure_ = "cannot subscribe: " + result.message;
      return;
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Bystander() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t round_trips() const { return round_trips_; }
  std::string failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  void run() {
    for (std::uint64_t seq = 0; !stop_; ++seq) {
      ClientResult result = client_->publish("bystander.echo", make_payload(seq));
      Message message;
      if (result.ok()) result = subscription_->recv(message, 5000ms);
      if (!result.ok() || payload_sequence(message.payload()) != seq) {
        std::lock_guard lock(mutex_);
        failure_ = "round trip " + std::to_string(seq) + " failed: " + result.message;
        return;
      }
      ++round_trips_;
      std::this_thread::sleep_for(2ms);
    }
  }

  std::unique_ptr<Client> client_;
  std::shared_ptr<Subscription> subscription_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> round_trips_{0};
  mutable std::mutex mutex_;
  std::string failure_;
};

class E2eMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(broker.start(error)) << error;
    bystander = std::make_unique<Bystander>(broker);
    ASSERT_EQ(bystander->failure(), "");
    ASSERT_TRUE(wait_until([&] { return bystander->round_trips() >= 5; }, 10s));

    ASSERT_TRUE(raw.connect(broker.port(), broker.certificate(), error)) << error;
    raw.send_control(RawConnection::hello());
    ASSERT_TRUE(raw.wait_frame(FrameType::ok, 0, 5s)) << "no OK to HELLO";
  }

  // The raw connection was closed by the broker with `code`, after an ERROR carrying the same
  // code; the bystander went on publishing and receiving before, during and after.
  void expect_closed_with(ErrorCode code) {
    const auto info = raw.wait_closed(5s);
    ASSERT_TRUE(info.has_value()) << "the broker did not close the offending connection";
    EXPECT_EQ(info->reason, quic::CloseReason::application) << info->message;
    EXPECT_TRUE(info->by_peer) << info->message;
    EXPECT_EQ(info->error_code, static_cast<std::uint64_t>(code)) << info->message;
    const auto error = raw.wait_frame(FrameType::error, 0, 1s);
    ASSERT_TRUE(error.has_value()) << "no ERROR frame before the close";
    EXPECT_EQ(raw.frames()[*error].error_code(), static_cast<std::uint16_t>(code));
    EXPECT_FALSE(raw.frames()[*error].error_message().empty());

    const std::uint64_t at_close = bystander->round_trips();
    EXPECT_TRUE(wait_until([&] { return bystander->round_trips() >= at_close + 20; }, 10s))
        << "the bystander stalled after the offender was closed";
    bystander->stop();
    EXPECT_EQ(bystander->failure(), "");
  }

  BrokerProcess broker{{"--max-payload", std::to_string(kMaxPayload)}};
  std::unique_ptr<Bystander> bystander;
  RawConnection raw;
};

TEST_F(E2eMalformed, UnknownFrameTypeClosesTheConnectionWithUnknownFrameType) {
  raw.send_control({0x0d, 0x00, 0x00, 0x00, 0x00, 0x00});
  expect_closed_with(ErrorCode::unknown_frame_type);
}

TEST_F(E2eMalformed, PublishOverMaxPayloadClosesWithPayloadTooLargeFromTheHeaderAlone) {
  // Only the header and subject go out: the broker must refuse from the announced length.
  raw.send_control(RawConnection::header_only(0x08, "big.one", kMaxPayload + 1));
  expect_closed_with(ErrorCode::payload_too_large);
}

TEST_F(E2eMalformed, PublishOfExactlyMaxPayloadIsAccepted) {
  // The boundary the previous test is measured against: exactly max_payload is fine.
  const std::vector<std::uint8_t> payload(kMaxPayload, 0x61);
  raw.send_control(RawConnection::frame(0x08, "big.one", payload));
  raw.send_control(RawConnection::ping("after"));
  EXPECT_TRUE(raw.wait_frame(FrameType::pong, 0, 5s));
  EXPECT_FALSE(raw.closed());
}

TEST_F(E2eMalformed, SubscribeWithTruncatedPropertiesClosesWithProtocolError) {
  // subscription_id announces 4 bytes of value; only 1 follows.
  const std::array<std::uint8_t, 4> properties = {0x06, 0x00, 0x04, 0x00};
  raw.send_control(RawConnection::frame(0x06, "a.b", properties));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(E2eMalformed, SubscribeWithSubscriptionIdZeroClosesWithProtocolError) {
  const std::array<std::uint8_t, 7> properties = {0x06, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};
  raw.send_control(RawConnection::frame(0x06, "a.b", properties));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(E2eMalformed, PublishToAnInvalidSubjectGetsInvalidSubjectAndTheConnectionStays) {
  raw.send_control(RawConnection::frame(0x08, "a..b", bytes("x")));
  raw.send_control(RawConnection::ping("after"));
  const auto error = raw.wait_frame(FrameType::error, 0, 5s);
  ASSERT_TRUE(error.has_value()) << "no ERROR for the invalid subject";
  EXPECT_EQ(raw.frames()[*error].error_code(),
            static_cast<std::uint16_t>(ErrorCode::invalid_subject));
  // PING after the bad PUBLISH is answered: the connection is open and in sync.
  const auto pong = raw.wait_frame(FrameType::pong, *error, 5s);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(raw.frames()[*pong].payload, std::vector<std::uint8_t>({'a', 'f', 't', 'e', 'r'}));
  EXPECT_FALSE(raw.closed());
  // And it can still publish validly.
  raw.send_control(RawConnection::frame(0x08, "raw.valid", make_payload(1)));
  raw.send_control(RawConnection::ping("again"));
  EXPECT_TRUE(raw.wait_frame(FrameType::pong, *pong + 1, 5s));
  EXPECT_FALSE(raw.closed());
  bystander->stop();
  EXPECT_EQ(bystander->failure(), "");
}

class E2eTrust : public BrokerTest {};

TEST_F(E2eTrust, ClientTrustingAnotherCertificateGetsACertificateErrorAndOthersAreServed) {
  // A different self-signed certificate: valid, but not this broker's.
  TempDir other;
  std::string error;
  auto stranger = tls::ServerCredentials::load_or_create_self_signed(other.path(), error);
  ASSERT_TRUE(stranger) << error;

  std::string ok_error;
  auto good = connect_client(broker, ok_error);
  ASSERT_TRUE(good) << ok_error;

  ClientConfig config = trusting(broker);
  config.ca_file = stranger->certificate_path();
  ClientResult result;
  const auto start = std::chrono::steady_clock::now();
  auto client = Client::connect(broker.url(), config, result);
  EXPECT_FALSE(client);
  EXPECT_EQ(result.status, ClientStatus::tls) << result.message;
  EXPECT_NE(result.message.find("certificate"), std::string::npos) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s) << "a refusal should not wait it out";

  // A pinned fingerprint that does not match is refused the same way.
  ClientConfig pinned;
  pinned.pin_sha256 = stranger->fingerprint();
  pinned.connect_timeout = 5000ms;
  client = Client::connect(broker.url(), pinned, result);
  EXPECT_FALSE(client);
  EXPECT_EQ(result.status, ClientStatus::tls) << result.message;
  EXPECT_NE(result.message.find("certificate"), std::string::npos) << result.message;

  // The broker keeps serving: the connection made before and a new one both work.
  auto fresh = connect_client(broker, ok_error);
  ASSERT_TRUE(fresh) << ok_error;
  auto subscription = fresh->subscribe("trust.check", {}, nullptr, result);
  ASSERT_TRUE(subscription);
  ASSERT_TRUE(fresh->flush(5s).ok());
  ASSERT_TRUE(good->publish("trust.check", bytes("fine")).ok());
  const auto messages = receive(*subscription, 1, 5s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(text(messages[0]), "fine");
}

}  // namespace
}  // namespace flume::e2e
