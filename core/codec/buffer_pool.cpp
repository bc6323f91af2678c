#include "codec/buffer_pool.hpp"

#include <utility>

namespace flume {

PooledBuffer::PooledBuffer(PooledBuffer &&other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      bytes_(std::move(other.bytes_)),
      capacity_(std::exchange(other.capacity_, 0)) {}

PooledBuffer &PooledBuffer::operator=(PooledBuffer &&other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    bytes_ = std::move(other.bytes_);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

PooledBuffer::~PooledBuffer() {
  release();
}

void PooledBuffer::release() noexcept {
  if (pool_ != nullptr && bytes_) pool_->give_back(std::move(bytes_));
  pool_ = nullptr;
  capacity_ = 0;
}

BufferPool::BufferPool(std::size_t buffer_size, std::size_t max_cached)
    : buffer_size_(buffer_size), max_cached_(max_cached) {
  free_.reserve(max_cached);
}

PooledBuffer BufferPool::acquire() {
  if (!free_.empty()) {
    std::unique_ptr<std::uint8_t[]> bytes = std::move(free_.back());
    free_.pop_back();
    return PooledBuffer(this, std::move(bytes), buffer_size_);
  }
  ++allocations_;
  return PooledBuffer(this, std::make_unique_for_overwrite<std::uint8_t[]>(buffer_size_),
                      buffer_size_);
}

void BufferPool::give_back(std::unique_ptr<std::uint8_t[]> bytes) noexcept {
  // free_ has max_cached_ reserved, so push_back never allocates here.
  if (free_.size() < max_cached_) free_.push_back(std::move(bytes));
}

}  // namespace flume
