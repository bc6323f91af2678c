#include "overlay/overlay_frames.hpp"

#include <algorithm>
#include <cstring>

#include "codec/frame.hpp"
#include "tls/cluster_certificates.hpp"
#include "tls/fingerprint.hpp"

namespace flume::overlay {

namespace {

void put_u64(std::uint8_t *out, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(value);
    value >>= 8;
  }
}

std::uint64_t get_u64(const std::uint8_t *in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | in[i];
  return value;
}

SharedBuffer frame_of(OverlayFrameType type, std::string_view subject, std::size_t payload_size,
                      std::uint8_t *&payload) {
  SharedBuffer out = SharedBuffer::allocate(kFrameHeaderSize + subject.size() + payload_size);
  if (!out) return out;
  std::uint8_t *bytes = out.mutable_data();
  write_header(bytes, static_cast<FrameType>(type), static_cast<std::uint8_t>(subject.size()),
               static_cast<std::uint32_t>(payload_size));
  if (!subject.empty()) std::memcpy(bytes + kFrameHeaderSize, subject.data(), subject.size());
  payload = bytes + kFrameHeaderSize + subject.size();
  return out;
}

bool known_type(std::uint8_t type) {
  return type == 0x09 || (type >= 0x20 && type <= 0x23);
}

}  // namespace

std::uint64_t node_id_of(std::string_view node_name) {
  const tls::Sha256 digest =
      tls::sha256_of({reinterpret_cast<const std::uint8_t *>(node_name.data()), node_name.size()});
  return get_u64(digest.data());
}

SharedBuffer encode_route(const RouteHeader &route) {
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::route, {}, kRoutePayloadSize, p);
  if (!out) return out;
  put_u64(p, route.origin);
  put_u64(p + 8, route.epoch);
  put_u64(p + 16, route.sequence);
  p[24] = route.hop_limit;
  return out;
}

SharedBuffer encode_node_hello(std::string_view node_name, std::uint8_t lanes) {
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::node_hello, {}, 4 + node_name.size(), p);
  if (!out) return out;
  p[0] = static_cast<std::uint8_t>(kOverlayVersion >> 8);
  p[1] = static_cast<std::uint8_t>(kOverlayVersion);
  p[2] = lanes;
  p[3] = static_cast<std::uint8_t>(node_name.size());
  std::memcpy(p + 4, node_name.data(), node_name.size());
  return out;
}

SharedBuffer encode_interest(bool add, std::string_view pattern, std::uint64_t advert_sequence) {
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(add ? OverlayFrameType::interest : OverlayFrameType::uninterest,
                              pattern, kInterestPayloadSize, p);
  if (out) put_u64(p, advert_sequence);
  return out;
}

std::optional<RouteHeader> parse_route(std::span<const std::uint8_t> payload) {
  if (payload.size() != kRoutePayloadSize) return std::nullopt;
  return RouteHeader{get_u64(payload.data()), get_u64(payload.data() + 8),
                     get_u64(payload.data() + 16), payload[24]};
}

std::optional<NodeHello> parse_node_hello(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4) return std::nullopt;
  const unsigned version = (unsigned{payload[0]} << 8) | payload[1];
  if (version != kOverlayVersion || payload[2] > kMaxLanes || payload.size() != 4u + payload[3]) {
    return std::nullopt;
  }
  NodeHello out;
  out.lanes = payload[2];
  out.node_name.assign(reinterpret_cast<const char *>(payload.data() + 4), payload[3]);
  if (!tls::valid_node_name(out.node_name)) return std::nullopt;
  return out;
}

std::optional<std::uint64_t> parse_interest(std::span<const std::uint8_t> payload) {
  if (payload.size() != kInterestPayloadSize) return std::nullopt;
  return get_u64(payload.data());
}

OverlayFrameReader::Status OverlayFrameReader::fail(std::string why) {
  error_ = std::move(why);
  return Status::error;
}

OverlayFrameReader::Status OverlayFrameReader::next(std::span<const std::uint8_t> &input,
                                                    OverlayFrame &frame) {
  if (!error_.empty()) return Status::error;
  while (!input.empty()) {
    if (capacity_ < need_) {
      auto bigger = std::make_unique<std::uint8_t[]>(need_);
      if (have_ > 0) std::memcpy(bigger.get(), buffer_.get(), have_);
      buffer_ = std::move(bigger);
      capacity_ = need_;
    }
    const std::size_t take = std::min(need_ - have_, input.size());
    std::memcpy(buffer_.get() + have_, input.data(), take);
    have_ += take;
    input = input.subspan(take);
    if (have_ < need_) break;

    const FrameHeader header = read_header(buffer_.get());
    if (need_ == kFrameHeaderSize) {
      // The header is complete: check it before reading (or buffering) anything more.
      if (!known_type(header.type))
        return fail("unknown node-link frame type " + std::to_string(header.type));
      if (header.payload_length > max_payload_) return fail("payload over the limit");
      const auto type = static_cast<OverlayFrameType>(header.type);
      const bool wants_subject = type == OverlayFrameType::message ||
                                 type == OverlayFrameType::interest ||
                                 type == OverlayFrameType::uninterest;
      if (wants_subject != (header.subject_length > 0)) {
        return fail(wants_subject ? "frame without its subject" : "unexpected subject");
      }
      need_ = kFrameHeaderSize + header.subject_length + header.payload_length;
      if (need_ > kFrameHeaderSize) continue;
    }
    // A whole frame.
    frame.type = static_cast<OverlayFrameType>(header.type);
    frame.subject = {reinterpret_cast<const char *>(buffer_.get() + kFrameHeaderSize),
                     header.subject_length};
    frame.payload = {buffer_.get() + kFrameHeaderSize + header.subject_length,
                     header.payload_length};
    frame.whole = {buffer_.get(), need_};
    have_ = 0;
    need_ = kFrameHeaderSize;
    return Status::frame;
  }
  return Status::need_more;
}

}  // namespace flume::overlay
