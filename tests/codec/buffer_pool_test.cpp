#include "codec/buffer_pool.hpp"

#include <gtest/gtest.h>

namespace flume {
namespace {

TEST(BufferPool, ReusesReleasedBuffers) {
  BufferPool pool(4096, 4);
  std::uint8_t *first_address = nullptr;
  {
    PooledBuffer buffer = pool.acquire();
    first_address = buffer.data();
    EXPECT_EQ(buffer.capacity(), 4096u);
  }
  EXPECT_EQ(pool.cached(), 1u);
  PooledBuffer again = pool.acquire();
  EXPECT_EQ(again.data(), first_address);
  EXPECT_EQ(pool.allocations(), 1u);
}

TEST(BufferPool, KeepsAtMostMaxCachedIdleBuffers) {
  BufferPool pool(64, 2);
  {
    std::vector<PooledBuffer> burst;
    for (int i = 0; i < 10; ++i)
      burst.push_back(pool.acquire());
    EXPECT_EQ(pool.allocations(), 10u);
  }
  EXPECT_EQ(pool.cached(), 2u);
}

TEST(BufferPool, MovedBufferReturnsOnce) {
  BufferPool pool(64, 8);
  {
    PooledBuffer a = pool.acquire();
    PooledBuffer b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(b);
  }
  EXPECT_EQ(pool.cached(), 1u);
}

}  // namespace
}  // namespace flume
