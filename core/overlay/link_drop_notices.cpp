// A node link's drops, told to the peer: a message dropped because its lane was full never
// reaches the far node, whose subscribers would otherwise miss it without a word. The link
// remembers how many it dropped per subject and sends them as LINK_DROPPED frames on the control
// stream (which data never blocks) every tick; the far node counts them as drops on each of its
// matching subscriptions, so they arrive as gaps (docs/protocol.md 17.10).
#include "log/log.hpp"
#include "overlay/node_link.hpp"

namespace flume::overlay {
namespace {

// Subjects remembered between two ticks; a drop of another subject past it is counted here only.
constexpr std::size_t kMaxDropSubjects = 1024;
// The notices wait while the control stream already holds this much unsent: a link too slow for
// its control traffic is not given more (the counts keep adding up meanwhile).
constexpr std::size_t kMaxControlBacklog = 256 * 1024;
// How far a LINK_DROPPED may be relayed: as far as a ROUTE (17.3).
constexpr std::uint8_t kDropNoticeHops = 8;

}  // namespace

void NodeLink::note_drop(std::string_view subject) {
  auto it = unreported_drops_.find(subject);
  if (it != unreported_drops_.end()) {
    ++it->second;
  } else if (unreported_drops_.size() < kMaxDropSubjects) {
    unreported_drops_.emplace(std::string(subject), 1);
  } else {
    ++counters_.drops_unreported;
  }
}

void NodeLink::send_drop_notices() {
  if (unreported_drops_.empty() || !up_ || closed_ || !h3_) return;
  if (h3_->unsent_body_bytes(control_stream_) >= kMaxControlBacklog) return;
  for (auto &[subject, count] : unreported_drops_) {
    while (count > 0) {
      const auto part = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, UINT32_MAX));
      const SharedBuffer frame = encode_link_dropped(subject, LinkDropped{part, kDropNoticeHops});
      if (!frame) {  // out of memory: counted here, not told
        counters_.drops_unreported += count;
        break;
      }
      h3_->send_body(control_stream_, frame);
      counters_.drops_reported += part;
      count -= part;
    }
  }
  unreported_drops_.clear();
}

}  // namespace flume::overlay
