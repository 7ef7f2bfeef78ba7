#include "engine/kv_slot_allocator.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace loupe::engine {

KvSlotAllocator::KvSlotAllocator(int32_t capacity) : capacity_(capacity) {
  LOUPE_CHECK(capacity >= 2, InvalidArgument, "KV pool needs at least 2 slots, got ", capacity);
  free_.reserve(size_t(capacity - 1));
  // Highest first so that allocation hands out ascending slots from a fresh pool.
  for (int32_t slot = capacity - 1; slot >= 1; --slot) free_.push_back(slot);
  in_use_.assign(size_t(capacity), 0);
  in_use_[0] = 1;  // the dummy slot is never handed out
}

bool KvSlotAllocator::allocate(int32_t n, std::vector<int32_t>& out) {
  LOUPE_CHECK(n >= 0, InvalidArgument, "negative KV slot count ", n);
  if (size_t(n) > free_.size()) return false;
  for (int32_t i = 0; i < n; ++i) {
    int32_t slot = free_.back();
    free_.pop_back();
    in_use_[size_t(slot)] = 1;
    out.push_back(slot);
  }
  return true;
}

void KvSlotAllocator::release(const int32_t* slots, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    int32_t slot = slots[i];
    LOUPE_CHECK(slot >= 1 && slot < capacity_ && in_use_[size_t(slot)], Internal,
                "KV slot ", slot, " released but not allocated");
    in_use_[size_t(slot)] = 0;
    free_.push_back(slot);
  }
}

int32_t kv_slots_for_budget(size_t budget_bytes, size_t bytes_per_token) {
  LOUPE_CHECK(bytes_per_token > 0, InvalidArgument, "KV bytes per token must be positive");
  size_t slots = budget_bytes / bytes_per_token;
  LOUPE_CHECK(slots >= 2, OutOfMemory, "KV budget of ", budget_bytes, " bytes holds fewer than 2 tokens (",
              bytes_per_token, " bytes each)");
  return int32_t(std::min<size_t>(slots, size_t(std::numeric_limits<int32_t>::max())));
}

}  // namespace loupe::engine
