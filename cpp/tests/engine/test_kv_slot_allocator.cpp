#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "engine/kv_slot_allocator.h"

using loupe::engine::KvSlotAllocator;
using loupe::engine::kv_slots_for_budget;

TEST(KvSlotAllocator, HandsOutDistinctSlotsNeverTheDummy) {
  KvSlotAllocator pool(9);
  EXPECT_EQ(pool.usable(), 8);
  std::vector<int32_t> slots;
  ASSERT_TRUE(pool.allocate(8, slots));
  std::set<int32_t> distinct(slots.begin(), slots.end());
  EXPECT_EQ(distinct.size(), 8u);
  EXPECT_EQ(distinct.count(0), 0u);
  EXPECT_EQ(*distinct.rbegin(), 8);
  EXPECT_EQ(pool.available(), 0);
}

TEST(KvSlotAllocator, RefusesWithoutPartialAllocation) {
  KvSlotAllocator pool(5);
  std::vector<int32_t> slots{42};
  EXPECT_FALSE(pool.allocate(5, slots));
  EXPECT_EQ(slots, std::vector<int32_t>{42});
  EXPECT_EQ(pool.available(), 4);
}

TEST(KvSlotAllocator, ReleasedSlotsAreReused) {
  KvSlotAllocator pool(4);
  std::vector<int32_t> a, b;
  ASSERT_TRUE(pool.allocate(3, a));
  pool.release(a.data() + 1, 1);
  ASSERT_TRUE(pool.allocate(1, b));
  EXPECT_EQ(b[0], a[1]);
}

TEST(KvSlotAllocator, DoubleFreeAndForeignSlotsAreErrors) {
  KvSlotAllocator pool(4);
  std::vector<int32_t> a;
  ASSERT_TRUE(pool.allocate(1, a));
  pool.release(a);
  EXPECT_THROW(pool.release(a), loupe::Error);
  int32_t dummy = 0, outside = 4;
  EXPECT_THROW(pool.release(&dummy, 1), loupe::Error);
  EXPECT_THROW(pool.release(&outside, 1), loupe::Error);
  EXPECT_EQ(pool.available(), 3);
}

TEST(KvSlotAllocator, SizesFromByteBudget) {
  EXPECT_EQ(kv_slots_for_budget(1000, 10), 100);
  EXPECT_EQ(kv_slots_for_budget(1009, 10), 100);
  EXPECT_THROW(kv_slots_for_budget(15, 10), loupe::Error);
  EXPECT_THROW(kv_slots_for_budget(100, 0), loupe::Error);
  EXPECT_THROW(KvSlotAllocator(1), loupe::Error);
}
