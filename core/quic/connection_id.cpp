#include "quic/connection_id.hpp"

namespace flume::quic {

namespace {

std::uint64_t process_seed() noexcept {
  static const std::uint64_t seed = [] {
    std::uint64_t value = 0;
    gnutls_rnd(GNUTLS_RND_NONCE, &value, sizeof value);
    return value;
  }();
  return seed;
}

}  // namespace

std::size_t CidKeyHash::operator()(const CidKey &key) const noexcept {
  // FNV-1a over the bytes, started from the secret seed, then a splitmix64 finaliser.
  std::uint64_t h = process_seed() ^ 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < key.length; ++i) {
    h ^= key.bytes[i];
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return static_cast<std::size_t>(h ^ (h >> 31));
}

}  // namespace flume::quic
