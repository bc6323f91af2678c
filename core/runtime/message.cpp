// Message: a received item; here, the gap items that stand in the order of messages where some
// were missed.
#include <cstring>

#include "runtime/client.hpp"

namespace flume {

Message Message::gap(const Gap &gap, std::uint32_t subscription_id, std::uint64_t sequence) {
  SharedBuffer bytes = SharedBuffer::allocate(sizeof(Gap));
  if (!bytes) return {};
  std::memcpy(bytes.mutable_data(), &gap, sizeof(Gap));
  Message item(std::move(bytes), 0, subscription_id, sequence);
  item.subject_length_ = kGapMarker;
  return item;
}

Gap Message::gap() const noexcept {
  Gap gap;
  if (is_gap()) std::memcpy(&gap, bytes_.data(), sizeof(Gap));
  return gap;
}

void Message::merge_gap(const Gap &later) noexcept {
  Gap merged = gap();
  merged.merge(later);
  std::memcpy(bytes_.mutable_data(), &merged, sizeof(Gap));
}

}  // namespace flume
