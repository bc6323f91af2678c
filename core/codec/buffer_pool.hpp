// A pool of equally sized byte buffers, so encoding frames on the hot path allocates nothing once
// the pool is warm. One pool per event-loop thread: not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace flume {

class BufferPool;

// A buffer on loan from a BufferPool; goes back to the pool when destroyed. Move-only.
class PooledBuffer {
 public:
  PooledBuffer() noexcept = default;
  PooledBuffer(PooledBuffer &&other) noexcept;
  PooledBuffer &operator=(PooledBuffer &&other) noexcept;
  PooledBuffer(const PooledBuffer &) = delete;
  PooledBuffer &operator=(const PooledBuffer &) = delete;
  ~PooledBuffer();

  std::uint8_t *data() const noexcept { return bytes_.get(); }
  std::size_t capacity() const noexcept { return capacity_; }
  std::span<std::uint8_t> span() const noexcept { return {bytes_.get(), capacity_}; }
  explicit operator bool() const noexcept { return bytes_ != nullptr; }

 private:
  friend class BufferPool;
  PooledBuffer(BufferPool *pool, std::unique_ptr<std::uint8_t[]> bytes, std::size_t capacity)
      : pool_(pool), bytes_(std::move(bytes)), capacity_(capacity) {}
  void release() noexcept;

  BufferPool *pool_ = nullptr;
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t capacity_ = 0;
};

class BufferPool {
 public:
  // Buffers of `buffer_size` bytes; at most `max_cached` idle buffers are kept, the rest freed,
  // so a burst does not pin its peak memory forever.
  BufferPool(std::size_t buffer_size, std::size_t max_cached);
  BufferPool(const BufferPool &) = delete;
  BufferPool &operator=(const BufferPool &) = delete;

  // Must outlive every buffer it lent.
  ~BufferPool() = default;

  PooledBuffer acquire();
  std::size_t buffer_size() const noexcept { return buffer_size_; }
  std::size_t cached() const noexcept { return free_.size(); }
  std::size_t allocations() const noexcept { return allocations_; }

 private:
  friend class PooledBuffer;
  void give_back(std::unique_ptr<std::uint8_t[]> bytes) noexcept;

  std::size_t buffer_size_;
  std::size_t max_cached_;
  std::size_t allocations_ = 0;
  std::vector<std::unique_ptr<std::uint8_t[]>> free_;
};

}  // namespace flume
