#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "engine/feature_cache.h"
#include "engine/token_key.h"

using namespace loupe::engine;
using loupe::VisualKind;

TEST(TokenKey, VisualKeysAreDisjointFromVocabulary) {
  std::set<TokenKey> seen;
  for (uint32_t row = 0; row < 4096; ++row) {
    TokenKey key = visual_key(0x1234, row);
    EXPECT_TRUE(is_visual_key(key));
    EXPECT_TRUE(seen.insert(key).second) << "offsets of one item collided at " << row;
  }
  EXPECT_FALSE(is_visual_key(text_key(151655)));
  EXPECT_FALSE(is_visual_key(text_key(0x7fffffff)));
  EXPECT_NE(visual_key(1, 0), visual_key(2, 0));
}

TEST(TokenKey, ItemHashCoversPixelsGridAndPreprocessing) {
  std::vector<float> pixels(64);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = float(i) * 0.25f;
  const uint64_t base = hash_visual_item(VisualKind::Image, {1, 2, 2}, "min=65536", pixels.data(), pixels.size());
  EXPECT_EQ(base, hash_visual_item(VisualKind::Image, {1, 2, 2}, "min=65536", pixels.data(), pixels.size()));
  EXPECT_NE(base, hash_visual_item(VisualKind::Video, {1, 2, 2}, "min=65536", pixels.data(), pixels.size()));
  EXPECT_NE(base, hash_visual_item(VisualKind::Image, {1, 4, 1}, "min=65536", pixels.data(), pixels.size()));
  EXPECT_NE(base, hash_visual_item(VisualKind::Image, {1, 2, 2}, "min=1024", pixels.data(), pixels.size()));
  auto changed = pixels;
  changed[63] = std::nextafter(changed[63], 100.0f);  // one ulp in the last value
  EXPECT_NE(base, hash_visual_item(VisualKind::Image, {1, 2, 2}, "min=65536", changed.data(), changed.size()));
}

TEST(FeatureCache, EvictsLeastRecentlyUsedWithinByteBudget) {
  FeatureCache cache(100);
  auto value = [](int v) { return std::make_shared<const int>(v); };
  cache.put(1, value(1), 40);
  cache.put(2, value(2), 40);
  ASSERT_NE(cache.get(1), nullptr);  // 1 becomes most recent
  cache.put(3, value(3), 40);        // evicts 2
  EXPECT_EQ(cache.get(2), nullptr);
  EXPECT_EQ(*std::static_pointer_cast<const int>(cache.get(1)), 1);
  EXPECT_EQ(*std::static_pointer_cast<const int>(cache.get(3)), 3);
  EXPECT_EQ(cache.used_bytes(), 80u);
  cache.put(4, value(4), 101);  // larger than the budget: not kept
  EXPECT_EQ(cache.get(4), nullptr);
  EXPECT_EQ(cache.hits(), 3);
  EXPECT_EQ(cache.misses(), 2);
}
