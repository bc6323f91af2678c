// Connection IDs as map keys, and making new ones.
#pragma once

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flume::quic {

// Every CID this endpoint issues has this length: short-header packets carry no DCID length,
// so the dispatcher can only find a connection if all its CIDs are one known size.
inline constexpr std::size_t kCidLength = 18;

struct CidKey {
  std::array<std::uint8_t, NGTCP2_MAX_CIDLEN> bytes{};
  std::uint8_t length = 0;

  // Callers check length <= NGTCP2_MAX_CIDLEN (packets for unknown versions may carry more).
  static CidKey of(const std::uint8_t *data, std::size_t size) noexcept {
    CidKey key;
    key.length = static_cast<std::uint8_t>(size);
    std::memcpy(key.bytes.data(), data, size);
    return key;
  }
  static CidKey of(const ngtcp2_cid &cid) noexcept { return of(cid.data, cid.datalen); }

  friend bool operator==(const CidKey &a, const CidKey &b) noexcept {
    return a.length == b.length && std::memcmp(a.bytes.data(), b.bytes.data(), a.length) == 0;
  }
};

// Seeded per process: a client picks its first DCID, so an unseeded hash would let it aim
// collisions at the connection table.
struct CidKeyHash {
  std::size_t operator()(const CidKey &key) const noexcept;
};

inline ngtcp2_cid random_cid(std::size_t length = kCidLength) noexcept {
  ngtcp2_cid cid{};
  cid.datalen = length;
  gnutls_rnd(GNUTLS_RND_RANDOM, cid.data, length);
  return cid;
}

}  // namespace flume::quic
