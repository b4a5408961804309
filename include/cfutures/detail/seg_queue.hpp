// An unbounded lock-free multi-producer multi-consumer FIFO of pointers.
//
// A port of crossbeam's SegQueue (crossbeam-queue, MIT/Apache-2.0; see LICENSE): a linked list of blocks
// of kBlockCap slots. Producers claim a slot with a CAS on the tail index, consumers with a
// CAS on the head index; each slot's WRITE/READ/DESTROY bits decide who frees a block, so no
// hazard pointers are needed. Items from one producer leave in the order they entered, and
// no lock is taken: workers never contend on a mutex for work. One spare block is recycled,
// so a queue in steady state allocates nothing.
//
// Index layout: bit 0 of the head index is kHasNext (the head block has a successor); the
// rest counts slots, kLap per block, of which the last (offset kBlockCap) is a marker that
// means "the next block is being installed".
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "cfutures/detail/futex.hpp"

namespace concurrent::futures::detail {

template <class T>
class SegQueue {
  static_assert(std::is_pointer_v<T>, "SegQueue holds pointers");

 public:
  SegQueue() = default;
  SegQueue(const SegQueue&) = delete;
  SegQueue& operator=(const SegQueue&) = delete;
  // Frees the blocks. The owner must have popped (and disposed of) every item first.
  ~SegQueue() {
    std::size_t head = head_.index.load(std::memory_order_relaxed) & ~kHasNext;
    const std::size_t tail = tail_.index.load(std::memory_order_relaxed) & ~kHasNext;
    Block* block = head_.block.load(std::memory_order_relaxed);
    while (head != tail) {
      if (((head >> kShift) % kLap) == kBlockCap) {
        Block* next = block->next.load(std::memory_order_relaxed);
        delete block;
        block = next;
      }
      head += std::size_t{1} << kShift;
    }
    delete block;
    delete spare_.load(std::memory_order_relaxed);
  }

  void push(T value) {
    std::size_t tail = tail_.index.load(std::memory_order_acquire);
    Block* block = tail_.block.load(std::memory_order_acquire);
    Block* next_block = nullptr;
    for (;;) {
      const std::size_t offset = (tail >> kShift) % kLap;
      if (offset == kBlockCap) {  // another producer is installing the next block
        cpu_relax();
        tail = tail_.index.load(std::memory_order_acquire);
        block = tail_.block.load(std::memory_order_acquire);
        continue;
      }
      if (offset + 1 == kBlockCap && next_block == nullptr) next_block = new_block();
      if (block == nullptr) {  // the very first push installs the first block
        Block* first = new_block();
        Block* expected = nullptr;
        if (tail_.block.compare_exchange_strong(expected, first, std::memory_order_release,
                                                std::memory_order_relaxed)) {
          head_.block.store(first, std::memory_order_release);
          block = first;
        } else {
          recycle(first);
          tail = tail_.index.load(std::memory_order_acquire);
          block = tail_.block.load(std::memory_order_acquire);
          continue;
        }
      }
      const std::size_t new_tail = tail + (std::size_t{1} << kShift);
      if (tail_.index.compare_exchange_weak(tail, new_tail, std::memory_order_seq_cst, std::memory_order_acquire)) {
        if (offset + 1 == kBlockCap) {  // we took the last slot: install the next block
          tail_.block.store(next_block, std::memory_order_release);
          tail_.index.store(new_tail + (std::size_t{1} << kShift), std::memory_order_release);
          block->next.store(next_block, std::memory_order_release);
          next_block = nullptr;
        }
        Slot& slot = block->slots[offset];
        slot.value = value;
        slot.state.fetch_or(kWrite, std::memory_order_release);
        if (next_block != nullptr) recycle(next_block);
        return;
      }
      block = tail_.block.load(std::memory_order_acquire);
      cpu_relax();
    }
  }

  // Pops the oldest item into `out`; returns false if the queue was empty.
  bool pop(T& out) {
    std::size_t head = head_.index.load(std::memory_order_acquire);
    Block* block = head_.block.load(std::memory_order_acquire);
    for (;;) {
      const std::size_t offset = (head >> kShift) % kLap;
      if (offset == kBlockCap) {  // the next block is being installed
        cpu_relax();
        head = head_.index.load(std::memory_order_acquire);
        block = head_.block.load(std::memory_order_acquire);
        continue;
      }
      std::size_t new_head = head + (std::size_t{1} << kShift);
      if ((new_head & kHasNext) == 0) {
        // seq_cst (crossbeam uses a fence + relaxed load; TSan does not model fences): orders
        // this check against pushes and the pool's seq_cst spinning/parked counters.
        const std::size_t tail = tail_.index.load(std::memory_order_seq_cst);
        if ((head >> kShift) == (tail >> kShift)) return false;  // empty
        if ((head >> kShift) / kLap != (tail >> kShift) / kLap) new_head |= kHasNext;
      }
      if (block == nullptr) {  // the first block is being installed
        cpu_relax();
        head = head_.index.load(std::memory_order_acquire);
        block = head_.block.load(std::memory_order_acquire);
        continue;
      }
      if (head_.index.compare_exchange_weak(head, new_head, std::memory_order_seq_cst, std::memory_order_acquire)) {
        if (offset + 1 == kBlockCap) {  // we took the last slot: move head to the next block
          Block* next = block->wait_next();
          std::size_t next_index = (new_head & ~kHasNext) + (std::size_t{1} << kShift);
          if (next->next.load(std::memory_order_relaxed) != nullptr) next_index |= kHasNext;
          head_.block.store(next, std::memory_order_release);
          head_.index.store(next_index, std::memory_order_release);
        }
        Slot& slot = block->slots[offset];
        while ((slot.state.load(std::memory_order_acquire) & kWrite) == 0) cpu_relax();
        out = slot.value;
        if (offset + 1 == kBlockCap) {
          destroy(block, 0);
        } else if (slot.state.fetch_or(kRead, std::memory_order_acq_rel) & kDestroy) {
          destroy(block, offset + 1);
        }
        return true;
      }
      block = head_.block.load(std::memory_order_acquire);
      cpu_relax();
    }
  }

  // A snapshot: true if no item was in the queue at some instant during the call.
  bool empty() const noexcept {
    const std::size_t head = head_.index.load(std::memory_order_seq_cst);
    const std::size_t tail = tail_.index.load(std::memory_order_seq_cst);
    return (head >> kShift) == (tail >> kShift);
  }

 private:
  static constexpr std::size_t kShift = 1;
  static constexpr std::size_t kHasNext = 1;
  static constexpr std::size_t kLap = 64;
  static constexpr std::size_t kBlockCap = kLap - 1;
  static constexpr std::uint32_t kWrite = 1;
  static constexpr std::uint32_t kRead = 2;
  static constexpr std::uint32_t kDestroy = 4;

  struct Slot {
    T value{};
    std::atomic<std::uint32_t> state{0};
  };
  struct Block {
    std::atomic<Block*> next{nullptr};
    Slot slots[kBlockCap];
    Block* wait_next() noexcept {
      for (;;) {
        if (Block* n = next.load(std::memory_order_acquire)) return n;
        cpu_relax();
      }
    }
  };
  struct alignas(64) Position {
    std::atomic<std::size_t> index{0};
    std::atomic<Block*> block{nullptr};
  };

  Block* new_block() {
    if (Block* spare = spare_.exchange(nullptr, std::memory_order_acquire)) {
      spare->next.store(nullptr, std::memory_order_relaxed);
      for (Slot& slot : spare->slots) slot.state.store(0, std::memory_order_relaxed);
      return spare;
    }
    return new Block;
  }
  void recycle(Block* block) noexcept { delete spare_.exchange(block, std::memory_order_acq_rel); }
  // Frees `block` once every slot from `start` on has been read; a reader still in a slot
  // sees kDestroy and continues the destruction itself.
  void destroy(Block* block, std::size_t start) noexcept {
    for (std::size_t i = start; i + 1 < kBlockCap; ++i) {
      Slot& slot = block->slots[i];
      if ((slot.state.load(std::memory_order_acquire) & kRead) == 0 &&
          (slot.state.fetch_or(kDestroy, std::memory_order_acq_rel) & kRead) == 0) {
        return;
      }
    }
    recycle(block);
  }

  Position head_;
  Position tail_;
  alignas(64) std::atomic<Block*> spare_{nullptr};
};

}  // namespace concurrent::futures::detail
