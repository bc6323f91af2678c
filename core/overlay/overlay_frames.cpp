#include "overlay/overlay_frames.hpp"

#include <algorithm>
#include <cstring>

#include "codec/frame.hpp"
#include "subject/subject.hpp"
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
  return type == 0x09 || type == 0x20 || type == 0x21 || type == 0x24 || type == 0x25 ||
         type == 0x26;
}

}  // namespace

std::uint64_t node_id_of(std::string_view node_name) {
  const tls::Sha256 digest =
      tls::sha256_of({reinterpret_cast<const std::uint8_t *>(node_name.data()), node_name.size()});
  return get_u64(digest.data());
}

std::uint64_t subject_hash(std::string_view subject) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : subject) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

SharedBuffer encode_route(const RouteHeader &route) {
  const std::size_t count = route.destinations.size();
  if (count == 0 || count > kMaxRouteDestinations) return {};
  std::uint8_t *p = nullptr;
  SharedBuffer out =
      frame_of(OverlayFrameType::route, {}, kRouteFixedSize + kRouteEntrySize * count, p);
  if (!out) return out;
  put_u64(p, route.origin);
  put_u64(p + 8, route.epoch);
  put_u64(p + 16, route.sequence);
  p[24] = route.hop_limit;
  p[25] = static_cast<std::uint8_t>(count >> 8);
  p[26] = static_cast<std::uint8_t>(count);
  p += kRouteFixedSize;
  for (const RouteDestination &destination : route.destinations) {
    put_u64(p, destination.node);
    put_u64(p + 8, destination.sequence);
    p += kRouteEntrySize;
  }
  return out;
}

SharedBuffer encode_node_hello(std::string_view node_name, std::uint8_t lanes,
                               std::uint64_t epoch) {
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::node_hello, {}, 12 + node_name.size(), p);
  if (!out) return out;
  p[0] = static_cast<std::uint8_t>(kOverlayVersion >> 8);
  p[1] = static_cast<std::uint8_t>(kOverlayVersion);
  p[2] = lanes;
  p[3] = static_cast<std::uint8_t>(node_name.size());
  std::memcpy(p + 4, node_name.data(), node_name.size());
  put_u64(p + 4 + node_name.size(), epoch);
  return out;
}

SharedBuffer encode_link_dropped(std::string_view subject, const LinkDropped &dropped) {
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::link_dropped, subject, kLinkDroppedPayloadSize, p);
  if (!out) return out;
  p[0] = static_cast<std::uint8_t>(dropped.count >> 24);
  p[1] = static_cast<std::uint8_t>(dropped.count >> 16);
  p[2] = static_cast<std::uint8_t>(dropped.count >> 8);
  p[3] = static_cast<std::uint8_t>(dropped.count);
  p[4] = dropped.hop_limit;
  return out;
}

std::optional<LinkDropped> parse_link_dropped(std::span<const std::uint8_t> payload) {
  if (payload.size() != kLinkDroppedPayloadSize) return std::nullopt;
  const std::uint32_t count = (std::uint32_t{payload[0]} << 24) |
                              (std::uint32_t{payload[1]} << 16) | (std::uint32_t{payload[2]} << 8) |
                              payload[3];
  if (count == 0) return std::nullopt;
  return LinkDropped{count, payload[4]};
}

std::optional<RouteHeader> parse_route(std::span<const std::uint8_t> payload, std::string &error) {
  if (payload.size() < kRouteFixedSize) {
    error = "ROUTE shorter than 27 bytes";
    return std::nullopt;
  }
  const std::size_t count = (std::size_t{payload[25]} << 8) | payload[26];
  if (count == 0 || count > kMaxRouteDestinations) {
    error = "ROUTE with " + std::to_string(count) + " destinations (1 to 1024)";
    return std::nullopt;
  }
  if (payload.size() != kRouteFixedSize + kRouteEntrySize * count) {
    error = "ROUTE length " + std::to_string(payload.size()) + " does not match its " +
            std::to_string(count) + " destinations";
    return std::nullopt;
  }
  RouteHeader out{get_u64(payload.data()),
                  get_u64(payload.data() + 8),
                  get_u64(payload.data() + 16),
                  payload[24],
                  {}};
  out.destinations.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t *entry = payload.data() + kRouteFixedSize + kRouteEntrySize * i;
    out.destinations.push_back({get_u64(entry), get_u64(entry + 8)});
  }
  // Few entries in practice; a sorted copy keeps a 1024-entry check at n log n.
  std::vector<std::uint64_t> nodes;
  nodes.reserve(count);
  for (const RouteDestination &destination : out.destinations)
    nodes.push_back(destination.node);
  std::sort(nodes.begin(), nodes.end());
  if (std::adjacent_find(nodes.begin(), nodes.end()) != nodes.end()) {
    error = "ROUTE lists a destination twice";
    return std::nullopt;
  }
  return out;
}

std::optional<NodeHello> parse_node_hello(std::span<const std::uint8_t> payload,
                                          std::string &error) {
  if (payload.size() < 2) {
    error = "malformed NODE_HELLO";
    return std::nullopt;
  }
  const unsigned version = (unsigned{payload[0]} << 8) | payload[1];
  if (version != kOverlayVersion) {
    error = "NODE_HELLO of overlay version " + std::to_string(version) + ", this node speaks " +
            std::to_string(kOverlayVersion) + " only";
    return std::nullopt;
  }
  if (payload.size() < 4 || payload[2] > kMaxLanes || payload.size() != 12u + payload[3]) {
    error = "malformed NODE_HELLO";
    return std::nullopt;
  }
  NodeHello out;
  out.lanes = payload[2];
  out.node_name.assign(reinterpret_cast<const char *>(payload.data() + 4), payload[3]);
  out.epoch = get_u64(payload.data() + 4 + payload[3]);
  if (!tls::valid_node_name(out.node_name)) {
    error = "NODE_HELLO with an invalid node name";
    return std::nullopt;
  }
  return out;
}

SharedBuffer encode_node_advert(const NodeAdvert &advert) {
  if (!tls::valid_node_name(advert.origin) || advert.address.size() > 255 ||
      advert.links.size() > kMaxAdvertLinks) {
    return {};
  }
  std::size_t size = 1 + advert.origin.size() + 16 + 1 + advert.address.size() + 2;
  for (const AdvertLink &link : advert.links) {
    if (!tls::valid_node_name(link.peer)) return {};
    size += 1 + link.peer.size() + kAdvertLinkCostSize;
  }
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::node_advert, {}, size, p);
  if (!out) return out;
  *p++ = static_cast<std::uint8_t>(advert.origin.size());
  std::memcpy(p, advert.origin.data(), advert.origin.size());
  p += advert.origin.size();
  put_u64(p, advert.epoch);
  put_u64(p + 8, advert.sequence);
  p += 16;
  *p++ = static_cast<std::uint8_t>(advert.address.size());
  if (!advert.address.empty()) std::memcpy(p, advert.address.data(), advert.address.size());
  p += advert.address.size();
  *p++ = static_cast<std::uint8_t>(advert.links.size() >> 8);
  *p++ = static_cast<std::uint8_t>(advert.links.size());
  for (const AdvertLink &link : advert.links) {
    *p++ = static_cast<std::uint8_t>(link.peer.size());
    std::memcpy(p, link.peer.data(), link.peer.size());
    p += link.peer.size();
    *p++ = static_cast<std::uint8_t>(link.cost >> 8);
    *p++ = static_cast<std::uint8_t>(link.cost);
    for (int shift = 24; shift >= 0; shift -= 8)
      *p++ = static_cast<std::uint8_t>(link.rtt_us >> shift);
    *p++ = static_cast<std::uint8_t>(link.loss_permille >> 8);
    *p++ = static_cast<std::uint8_t>(link.loss_permille);
  }
  return out;
}

namespace {

// Reads the advert's fields front to back; every read checks the bytes are there.
class AdvertCursor {
 public:
  explicit AdvertCursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool u8(std::uint8_t &out) {
    if (bytes_.empty()) return false;
    out = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return true;
  }
  bool u16(std::uint16_t &out) {
    if (bytes_.size() < 2) return false;
    out = static_cast<std::uint16_t>((unsigned{bytes_[0]} << 8) | bytes_[1]);
    bytes_ = bytes_.subspan(2);
    return true;
  }
  bool u32(std::uint32_t &out) {
    if (bytes_.size() < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i)
      out = (out << 8) | bytes_[static_cast<std::size_t>(i)];
    bytes_ = bytes_.subspan(4);
    return true;
  }
  bool u64(std::uint64_t &out) {
    if (bytes_.size() < 8) return false;
    out = get_u64(bytes_.data());
    bytes_ = bytes_.subspan(8);
    return true;
  }
  // A string with a one-byte length in front.
  bool text(std::string &out) {
    std::uint8_t length = 0;
    if (!u8(length) || bytes_.size() < length) return false;
    out.assign(reinterpret_cast<const char *>(bytes_.data()), length);
    bytes_ = bytes_.subspan(length);
    return true;
  }
  bool done() const noexcept { return bytes_.empty(); }

 private:
  std::span<const std::uint8_t> bytes_;
};

}  // namespace

std::optional<NodeAdvert> parse_node_advert(std::span<const std::uint8_t> payload,
                                            std::string &error) {
  AdvertCursor in(payload);
  NodeAdvert out;
  std::uint16_t count = 0;
  if (!in.text(out.origin) || !in.u64(out.epoch) || !in.u64(out.sequence) ||
      !in.text(out.address) || !in.u16(count)) {
    error = "NODE_ADVERT shorter than its fields";
    return std::nullopt;
  }
  if (!tls::valid_node_name(out.origin)) {
    error = "NODE_ADVERT from an invalid node name";
    return std::nullopt;
  }
  if (count > kMaxAdvertLinks) {
    error = "NODE_ADVERT with " + std::to_string(count) + " links (at most " +
            std::to_string(kMaxAdvertLinks) + ")";
    return std::nullopt;
  }
  out.links.resize(count);
  for (AdvertLink &link : out.links) {
    if (!in.text(link.peer) || !in.u16(link.cost) || !in.u32(link.rtt_us) ||
        !in.u16(link.loss_permille)) {
      error = "NODE_ADVERT shorter than its links";
      return std::nullopt;
    }
    if (!tls::valid_node_name(link.peer)) {
      error = "NODE_ADVERT names an invalid peer";
      return std::nullopt;
    }
  }
  if (!in.done()) {
    error = "NODE_ADVERT longer than its fields";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < out.links.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (out.links[i].peer == out.links[j].peer) {
        error = "NODE_ADVERT lists peer '" + out.links[i].peer + "' twice";
        return std::nullopt;
      }
    }
  }
  return out;
}

SharedBuffer encode_node_interest(const NodeInterest &interest) {
  if (!tls::valid_node_name(interest.origin)) return {};
  std::size_t size = 1 + interest.origin.size() + 16 + 4;
  for (const std::string &pattern : interest.patterns) {
    if (validate_pattern(pattern) != SubjectError::ok) return {};
    size += 1 + pattern.size();
  }
  if (size > kMaxControlPayload) return {};
  std::uint8_t *p = nullptr;
  SharedBuffer out = frame_of(OverlayFrameType::node_interest, {}, size, p);
  if (!out) return out;
  *p++ = static_cast<std::uint8_t>(interest.origin.size());
  std::memcpy(p, interest.origin.data(), interest.origin.size());
  p += interest.origin.size();
  put_u64(p, interest.epoch);
  put_u64(p + 8, interest.sequence);
  p += 16;
  const auto count = static_cast<std::uint32_t>(interest.patterns.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    *p++ = static_cast<std::uint8_t>(count >> shift);
  for (const std::string &pattern : interest.patterns) {
    *p++ = static_cast<std::uint8_t>(pattern.size());
    std::memcpy(p, pattern.data(), pattern.size());
    p += pattern.size();
  }
  return out;
}

std::optional<NodeInterest> parse_node_interest(std::span<const std::uint8_t> payload,
                                                std::string &error) {
  AdvertCursor in(payload);
  NodeInterest out;
  std::uint32_t count = 0;
  if (!in.text(out.origin) || !in.u64(out.epoch) || !in.u64(out.sequence) || !in.u32(count)) {
    error = "NODE_INTEREST shorter than its fields";
    return std::nullopt;
  }
  if (!tls::valid_node_name(out.origin)) {
    error = "NODE_INTEREST from an invalid node name";
    return std::nullopt;
  }
  // Each pattern takes at least 2 bytes: a count the payload cannot hold is refused before
  // anything is reserved for it.
  if (count > payload.size() / 2) {
    error = "NODE_INTEREST counts more patterns than it can hold";
    return std::nullopt;
  }
  out.patterns.resize(count);
  for (std::string &pattern : out.patterns) {
    if (!in.text(pattern)) {
      error = "NODE_INTEREST shorter than its patterns";
      return std::nullopt;
    }
    if (validate_pattern(pattern) != SubjectError::ok) {
      error = "NODE_INTEREST with an invalid pattern";
      return std::nullopt;
    }
  }
  if (!in.done()) {
    error = "NODE_INTEREST longer than its fields";
    return std::nullopt;
  }
  return out;
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
      const auto type = static_cast<OverlayFrameType>(header.type);
      // A ROUTE listing many destinations may be larger than a small node's max_payload.
      const std::uint32_t limit =
          type == OverlayFrameType::route ? std::max(max_payload_, kMaxRoutePayload) : max_payload_;
      if (header.payload_length > limit) return fail("payload over the limit");
      const bool wants_subject =
          type == OverlayFrameType::message || type == OverlayFrameType::link_dropped;
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
