// The frames of node links (docs/protocol.md section 17): the six-byte Flume header with a type
// space of its own. MESSAGE (0x09) is the client protocol's frame, byte for byte, so a forwarded
// message is the very frame the origin encoded for its own subscribers; ROUTE, NODE_HELLO,
// NODE_ADVERT and NODE_INTEREST exist only on node links. Bytes in, frames out: no I/O here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/shared_buffer.hpp"

namespace flume::overlay {

// 2: NODE_HELLO carries the sender's epoch; NODE_ADVERT (link state) and NODE_INTEREST
// (interest per origin, flooded) replace version 1's neighbour-only INTEREST / UNINTEREST.
// 3: ROUTE lists the destination nodes of its copy, each with the origin's sequence number for
// that destination (in-order delivery across path switches, re-sending on link loss).
inline constexpr std::uint16_t kOverlayVersion = 3;

enum class OverlayFrameType : std::uint8_t {
  message = 0x09,     // lane: a forwarded message (the client protocol's MESSAGE frame)
  route = 0x20,       // lane: origin, sequence, hop limit and destinations of the next MESSAGE
  node_hello = 0x21,  // control, first frame each way: overlay version and node name
  // 0x22 and 0x23 were version 1's INTEREST and UNINTEREST; unknown since version 2.
  node_advert = 0x24,    // control, flooded: a node's address and links (link state)
  node_interest = 0x25,  // control, flooded: the patterns a node's subscribers hold, all of them
  link_dropped = 0x26,   // control: messages of a subject a link dropped on the way here
};

// ROUTE (docs/protocol.md 17.3): origin u64, epoch u64, sequence u64, hop_limit u8, count u16,
// then count x (node u64, dest_sequence u64). 1..kMaxRouteDestinations entries; a ROUTE is read
// up to kMaxRoutePayload whatever the node's max_payload.
inline constexpr std::size_t kRouteFixedSize = 27;
inline constexpr std::size_t kRouteEntrySize = 16;
inline constexpr std::size_t kMaxRouteDestinations = 1024;
inline constexpr std::uint32_t kMaxRoutePayload =
    kRouteFixedSize + kRouteEntrySize * kMaxRouteDestinations;
// The largest NODE_ADVERT / NODE_INTEREST payload a node sends, and the least every node
// accepts on the control stream whatever its max_payload (as HELLO in section 3.3).
inline constexpr std::size_t kMaxControlPayload = 65536;
inline constexpr std::size_t kMaxLanes = 64;           // lane streams per link, at most
inline constexpr std::size_t kMaxAdvertLinks = 256;    // links one NODE_ADVERT may list
inline constexpr std::size_t kAdvertLinkCostSize = 8;  // cost u16, rtt_us u32, loss_permille u16

// One destination node of a ROUTE copy and the origin's number for it: the origin numbers the
// messages it sends to each node 0, 1, 2, ... per epoch and order class of the subject, so that
// node sees gaps and order.
struct RouteDestination {
  std::uint64_t node = 0;  // node_id_of its name
  std::uint64_t sequence = 0;
  bool operator==(const RouteDestination &) const = default;
};

struct RouteHeader {
  std::uint64_t origin = 0;  // the origin node's id (node_id_of its name)
  std::uint64_t epoch = 0;   // the origin's start time
  std::uint64_t sequence = 0;
  std::uint8_t hop_limit = 0;
  std::vector<RouteDestination> destinations;  // the nodes this copy is for, each once
};

// First 8 bytes of SHA-256 of the node name, big-endian.
std::uint64_t node_id_of(std::string_view node_name);

// FNV-1a-64 of the subject's bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the
// lane a subject takes on a link (mod the link's lanes) and its order class (mod 64).
std::uint64_t subject_hash(std::string_view subject);
// An origin numbers the messages for each destination per order class (docs/protocol.md 17.3),
// so a message missing in one class holds back only the subjects of that class, as a lost
// packet on a lane holds back only that lane's subjects (with 1, 2, 4, ... 64 lanes a class
// always travels on one lane).
inline constexpr std::size_t kOrderClasses = 64;
inline std::uint8_t order_class_of(std::string_view subject) {
  return static_cast<std::uint8_t>(subject_hash(subject) % kOrderClasses);
}

// Empty buffer when the route lists no destination or more than kMaxRouteDestinations.
SharedBuffer encode_route(const RouteHeader &route);
// `lanes`: how many lane streams the sender opens (the dialer: 1..kMaxLanes; the listener: 0).
// `epoch`: the sender's epoch (new each start), so a peer tells a restarted node from the old one.
SharedBuffer encode_node_hello(std::string_view node_name, std::uint8_t lanes, std::uint64_t epoch);

struct OverlayFrame {
  OverlayFrameType type;
  std::string_view subject;
  std::span<const std::uint8_t> payload;
  std::span<const std::uint8_t> whole;  // header, subject and payload
};

// nullopt, with `error`, when the payload is truncated or too long for its count, the count is
// 0 or over kMaxRouteDestinations, or a node is listed twice.
std::optional<RouteHeader> parse_route(std::span<const std::uint8_t> payload, std::string &error);

// LINK_DROPPED (docs/protocol.md 17.10): `count` messages of `subject` that a node link dropped
// (its lane was full) before they reached the receiver; relayed towards interested nodes while
// `hop_limit` lasts, so subscribers everywhere count them as drops.
inline constexpr std::size_t kLinkDroppedPayloadSize = 5;  // count u32, hop_limit u8
struct LinkDropped {
  std::uint32_t count = 0;
  std::uint8_t hop_limit = 0;
};
SharedBuffer encode_link_dropped(std::string_view subject, const LinkDropped &dropped);
// nullopt when the payload is not 5 bytes or counts nothing.
std::optional<LinkDropped> parse_link_dropped(std::span<const std::uint8_t> payload);
struct NodeHello {
  std::string node_name;
  std::uint8_t lanes = 0;
  std::uint64_t epoch = 0;
};
// nullopt, with `error` saying why, if the payload is malformed, the version not
// kOverlayVersion, the name invalid or lanes > 64.
std::optional<NodeHello> parse_node_hello(std::span<const std::uint8_t> payload,
                                          std::string &error);

// One link in a NODE_ADVERT: the peer and what the link costs. Today cost is 1 per hop and the
// measurements are 0 (placeholders until links are measured); the fields are on the wire already.
struct AdvertLink {
  std::string peer;
  std::uint16_t cost = 1;
  std::uint32_t rtt_us = 0;
  std::uint16_t loss_permille = 0;
  bool operator==(const AdvertLink &) const = default;
};

// A node's link state (docs/protocol.md 17.7): flooded to the whole cluster, newest
// (epoch, sequence) wins.
struct NodeAdvert {
  std::string origin;  // node name
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;
  std::string address;  // "host:port" to dial for a node link; "" when the node has none to give
  std::vector<AdvertLink> links;
};

// Empty buffer when the advert cannot be encoded (invalid name, address over 255 bytes, more
// than kMaxAdvertLinks links) or memory ran out.
SharedBuffer encode_node_advert(const NodeAdvert &advert);
// nullopt, with `error` saying why, when the payload is malformed, lists more than
// kMaxAdvertLinks links, names an invalid node or repeats a peer.
std::optional<NodeAdvert> parse_node_advert(std::span<const std::uint8_t> payload,
                                            std::string &error);

// What one node's local subscribers hold (docs/protocol.md 17.8): the whole set each time,
// flooded, newest (epoch, sequence) wins, as NODE_ADVERT.
struct NodeInterest {
  std::string origin;
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;
  std::vector<std::string> patterns;
};

// Empty buffer when it cannot be encoded: an invalid origin or pattern, or a payload over
// kMaxControlPayload (the caller then advertises `>` instead: more traffic, never less).
SharedBuffer encode_node_interest(const NodeInterest &interest);
// nullopt, with `error`, when the payload is malformed or names an invalid origin or pattern.
std::optional<NodeInterest> parse_node_interest(std::span<const std::uint8_t> payload,
                                                std::string &error);

// Reads overlay frames from one direction of one stream, in any split. Header checks (type,
// subject rule, payload limit) come before any payload is buffered; a frame is assembled in a
// buffer that grows to the largest frame seen (at most 6 + 255 + max_payload bytes).
class OverlayFrameReader {
 public:
  enum class Status { frame, need_more, error };

  explicit OverlayFrameReader(std::uint32_t max_payload) : max_payload_(max_payload) {}

  // Consumes bytes from the front of `input` until a frame is complete, the input is used up or
  // an error is found (then error() says what, and the reader stays failed).
  Status next(std::span<const std::uint8_t> &input, OverlayFrame &frame);
  const std::string &error() const noexcept { return error_; }
  bool mid_frame() const noexcept { return have_ > 0; }

 private:
  Status fail(std::string why);

  std::uint32_t max_payload_;
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t have_ = 0;
  std::size_t need_ = 6;  // the header first, then the whole frame
  std::string error_;
};

}  // namespace flume::overlay
