#include "runtime/client_stream_credit.hpp"

namespace flume {

void StreamCredit::delivered_on(std::uint32_t subscription_id, std::int64_t stream_id) {
  stream_of_[subscription_id] = stream_id;
}

void StreamCredit::hold(std::int64_t stream_id) {
  owed_.try_emplace(stream_id, 0);
}

std::size_t StreamCredit::received(std::int64_t stream_id, std::size_t bytes) {
  auto owed = owed_.find(stream_id);
  if (owed == owed_.end()) return bytes;
  owed->second += bytes;
  return 0;
}

std::optional<StreamCredit::Owed> StreamCredit::release(std::uint32_t subscription_id) {
  auto stream = stream_of_.find(subscription_id);
  if (stream == stream_of_.end()) return std::nullopt;
  auto owed = owed_.find(stream->second);
  if (owed == owed_.end()) return std::nullopt;
  Owed result{owed->first, owed->second};
  owed_.erase(owed);
  return result;
}

void StreamCredit::stream_closed(std::int64_t stream_id) {
  owed_.erase(stream_id);
}

void StreamCredit::forget(std::uint32_t subscription_id) {
  stream_of_.erase(subscription_id);
}

void StreamCredit::clear() {
  stream_of_.clear();
  owed_.clear();
}

}  // namespace flume
