// An immutable, reference-counted byte buffer: one allocation holds the count and the bytes.
//
// A published message is encoded once into a SharedBuffer as a complete MESSAGE frame; every
// subscription stream that delivers it holds a reference until QUIC has the bytes acknowledged,
// so fan-out to N subscribers copies the payload zero times, not N. The count is atomic so a
// buffer may be handed between loop threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace flume {

class SharedBuffer {
 public:
  SharedBuffer() noexcept = default;

  // A buffer of `size` bytes to fill through mutable_data() before sharing it. Returns an empty
  // buffer when memory is exhausted (check with operator bool).
  static SharedBuffer allocate(std::size_t size) noexcept {
    void *memory = ::operator new(sizeof(Block) + size, std::nothrow);
    if (memory == nullptr) return {};
    return SharedBuffer(new (memory) Block{{1}, {0}, size});
  }

  static SharedBuffer copy_of(std::span<const std::uint8_t> bytes) noexcept {
    SharedBuffer buffer = allocate(bytes.size());
    if (buffer && !bytes.empty()) std::memcpy(buffer.mutable_data(), bytes.data(), bytes.size());
    return buffer;
  }

  SharedBuffer(const SharedBuffer &other) noexcept : block_(other.block_) {
    if (block_ != nullptr) block_->references.fetch_add(1, std::memory_order_relaxed);
  }
  SharedBuffer(SharedBuffer &&other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  SharedBuffer &operator=(SharedBuffer other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~SharedBuffer() { release(); }

  explicit operator bool() const noexcept { return block_ != nullptr; }
  const std::uint8_t *data() const noexcept { return block_ ? bytes(block_) : nullptr; }
  std::size_t size() const noexcept { return block_ ? block_->size : 0; }
  std::span<const std::uint8_t> span() const noexcept { return {data(), size()}; }

  // Only while this is the sole reference (right after allocate()).
  std::uint8_t *mutable_data() noexcept { return block_ ? bytes(block_) : nullptr; }

  std::size_t use_count() const noexcept {
    return block_ ? block_->references.load(std::memory_order_relaxed) : 0;
  }

  // What this buffer's one allocation takes from the heap besides `size()`: the count block.
  static constexpr std::size_t kHeaderSize = 16;

  // A second count, of holders that want the buffer's memory counted once however many of them
  // hold it (the broker's delivery queues, for its memory budget: one MESSAGE shared by 1000
  // queues is one allocation). add_holder() is true for the first holder, remove_holder() for
  // the last. Only on a non-empty buffer.
  bool add_holder() const noexcept {
    return block_->holders.fetch_add(1, std::memory_order_relaxed) == 0;
  }
  bool remove_holder() const noexcept {
    return block_->holders.fetch_sub(1, std::memory_order_relaxed) == 1;
  }
  std::uint32_t holders() const noexcept {
    return block_ ? block_->holders.load(std::memory_order_relaxed) : 0;
  }

 private:
  // 32-bit counts keep the block at 16 bytes (kHeaderSize), as it was with one 64-bit count.
  struct Block {
    std::atomic<std::uint32_t> references;
    std::atomic<std::uint32_t> holders;
    std::size_t size;
  };
  static_assert(sizeof(Block) == kHeaderSize);
  static std::uint8_t *bytes(Block *block) noexcept {
    return reinterpret_cast<std::uint8_t *>(block) + sizeof(Block);
  }

  explicit SharedBuffer(Block *block) noexcept : block_(block) {}
  void release() noexcept {
    if (block_ != nullptr && block_->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      block_->~Block();
      ::operator delete(block_);
    }
    block_ = nullptr;
  }

  Block *block_ = nullptr;
};

}  // namespace flume
