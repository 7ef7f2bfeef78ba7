#pragma once
// Token-level KV slot allocator: every cached token owns one slot (row) of the per-layer
// K/V pool buffers, so sequences need no contiguous memory and prefixes can be shared
// slot by slot (sglang TokenToKVPoolAllocator). Slot 0 is reserved as a dummy that padded
// or ignored writes may target; usable slots are [1, capacity).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace loupe::engine {

class KvSlotAllocator {
 public:
  explicit KvSlotAllocator(int32_t capacity);

  int32_t capacity() const { return capacity_; }
  int32_t usable() const { return capacity_ - 1; }
  int32_t available() const { return int32_t(free_.size()); }

  // Appends n slots to out, or returns false and leaves out unchanged when fewer are free.
  bool allocate(int32_t n, std::vector<int32_t>& out);
  // Returns slots to the pool; a slot freed twice or never allocated is an Internal error.
  void release(const int32_t* slots, size_t n);
  void release(const std::vector<int32_t>& slots) { release(slots.data(), slots.size()); }

 private:
  int32_t capacity_;
  std::vector<int32_t> free_;    // LIFO stack: recently freed slots are reused first
  std::vector<uint8_t> in_use_;  // guards against double frees that would corrupt KV
};

// Pool size in token slots for a byte budget (at least 2: the dummy plus one usable slot).
int32_t kv_slots_for_budget(size_t budget_bytes, size_t bytes_per_token);

}  // namespace loupe::engine
