#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/error.h"
#include "engine/radix_cache.h"

using namespace loupe::engine;
using Keys = std::vector<TokenKey>;

namespace {

// Every cached prefix of the tree with the slot of its last token.
void collect(const RadixNode* node, Keys& path, std::map<Keys, int32_t>& out, size_t& locked_tokens) {
  for (const auto& [first, child] : node->children) {
    EXPECT_EQ(first, child->key.front());
    EXPECT_EQ(child->parent, node);
    EXPECT_FALSE(child->key.empty());
    EXPECT_EQ(child->key.size(), child->slots.size());
    EXPECT_LE(child->lock_ref, node->parent ? node->lock_ref : child->lock_ref) << "child locked more than parent";
    if (child->lock_ref > 0) locked_tokens += child->key.size();
    size_t depth = path.size();
    for (size_t i = 0; i < child->key.size(); ++i) {
      path.push_back(child->key[i]);
      out[path] = child->slots[i];
    }
    collect(child.get(), path, out, locked_tokens);
    path.resize(depth);
  }
}

Keys keys(std::initializer_list<TokenKey> k) { return Keys(k); }

}  // namespace

TEST(RadixCache, MatchSplitsAndInsertDeduplicates) {
  KvSlotAllocator pool(64);
  RadixCache cache(pool);
  Keys a = keys({1, 2, 3, 4});
  std::vector<int32_t> slots_a;
  ASSERT_TRUE(pool.allocate(4, slots_a));
  cache.insert(a.data(), a.size(), slots_a);
  EXPECT_EQ(cache.cached_tokens(), 4u);

  Keys b = keys({1, 2, 9});
  auto match = cache.match_prefix(b.data(), b.size());
  EXPECT_EQ(match.slots, std::vector<int32_t>(slots_a.begin(), slots_a.begin() + 2));
  EXPECT_EQ(match.node->key, keys({1, 2}));  // split at the divergence

  // b computed its own copy of [1, 2] too: insert frees the duplicates and repoints.
  std::vector<int32_t> slots_b;
  ASSERT_TRUE(pool.allocate(3, slots_b));
  const int available = pool.available();
  cache.insert(b.data(), b.size(), slots_b);
  EXPECT_EQ(pool.available(), available + 2);
  EXPECT_EQ(slots_b[0], slots_a[0]);
  EXPECT_EQ(slots_b[1], slots_a[1]);
  EXPECT_EQ(cache.cached_tokens(), 5u);
}

TEST(RadixCache, LockedPathsSurviveEvictionAndLruGoesFirst) {
  KvSlotAllocator pool(64);
  RadixCache cache(pool);
  auto put = [&](Keys k) {
    std::vector<int32_t> s;
    EXPECT_TRUE(pool.allocate(int32_t(k.size()), s));
    return cache.insert(k.data(), k.size(), s);
  };
  RadixNode* old_leaf = put(keys({1, 1, 1}));
  put(keys({2, 2}));
  RadixNode* locked = put(keys({3, 3, 3, 3}));
  cache.lock(locked);
  Keys touch = keys({1, 1, 1});
  cache.match_prefix(touch.data(), touch.size());  // {1,1,1} is now more recent than {2,2}
  (void)old_leaf;

  EXPECT_EQ(cache.evict(1), 2u);  // the least recently used leaf: {2, 2}
  Keys two = keys({2, 2});
  EXPECT_TRUE(cache.match_prefix(two.data(), two.size()).slots.empty());
  EXPECT_EQ(cache.evict(100), 3u);  // {1,1,1}; {3,3,3,3} is locked
  EXPECT_EQ(cache.cached_tokens(), 4u);
  EXPECT_EQ(cache.protected_tokens(), 4u);
  cache.unlock(locked);
  EXPECT_THROW(cache.unlock(locked), loupe::Error);  // more unlocks than locks
  EXPECT_EQ(cache.evict(100), 4u);
  EXPECT_EQ(pool.available(), pool.usable());
  EXPECT_EQ(cache.stats().evicted_tokens, 9);
}

// Random request lifecycles against a naive model (a map from every cached prefix to its
// slot): matches, slot sharing, eviction of only unlocked data, and no leaked slots.
TEST(RadixCache, PropertyAgainstNaiveReference) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    KvSlotAllocator pool(96);
    RadixCache cache(pool);
    std::map<Keys, int32_t> ref;
    struct Active {
      Keys key;
      std::vector<int32_t> slots;
      size_t matched;
      RadixNode* node;
    };
    std::vector<Active> active;
    auto rand = [&](int n) { return int(rng() % uint64_t(n)); };

    auto check_accounting = [&] {
      size_t own = 0;
      for (const auto& a : active) own += a.slots.size() - a.matched;
      ASSERT_EQ(size_t(pool.available()) + cache.cached_tokens() + own, size_t(pool.usable()));
      std::map<Keys, int32_t> tree;
      Keys path;
      size_t locked_tokens = 0;
      collect(cache.root(), path, tree, locked_tokens);
      ASSERT_EQ(tree.size(), cache.cached_tokens());
      ASSERT_EQ(locked_tokens, cache.protected_tokens());
      // The tree only holds what was inserted, with the slots first inserted.
      for (const auto& [prefix, slot] : tree) {
        auto it = ref.find(prefix);
        ASSERT_TRUE(it != ref.end());
        ASSERT_EQ(it->second, slot);
      }
      // Everything a running request locked is still there.
      for (const auto& a : active)
        for (size_t n = 1; n <= a.matched; ++n) ASSERT_TRUE(tree.count(Keys(a.key.begin(), a.key.begin() + ptrdiff_t(n))));
      ref = tree;  // eviction may have dropped unlocked data
    };

    for (int op = 0; op < 400; ++op) {
      const int kind = rand(10);
      if (kind < 5) {  // start a request
        Keys key(size_t(1 + rand(10)));
        for (auto& k : key) k = TokenKey(rand(3)) | (rand(4) == 0 ? kVisualKeyTag : 0);
        size_t expect = 0;
        while (expect < key.size() && ref.count(Keys(key.begin(), key.begin() + ptrdiff_t(expect + 1)))) ++expect;
        auto match = cache.match_prefix(key.data(), key.size());
        ASSERT_EQ(match.slots.size(), expect);
        for (size_t i = 0; i < expect; ++i) ASSERT_EQ(match.slots[i], ref[Keys(key.begin(), key.begin() + ptrdiff_t(i + 1))]);
        cache.lock(match.node);
        Active a{key, match.slots, expect, match.node};
        const int32_t need = int32_t(key.size() - expect);
        if (pool.available() < need) cache.evict(size_t(need - pool.available()));
        if (!pool.allocate(need, a.slots)) {
          cache.unlock(match.node);
        } else {
          active.push_back(std::move(a));
        }
      } else if (kind < 9 && !active.empty()) {  // finish one
        const size_t i = size_t(rand(int(active.size())));
        Active a = std::move(active[i]);
        active.erase(active.begin() + ptrdiff_t(i));
        for (size_t n = 1; n <= a.key.size(); ++n) {
          Keys prefix(a.key.begin(), a.key.begin() + ptrdiff_t(n));
          if (!ref.count(prefix)) ref[prefix] = a.slots[n - 1];
        }
        cache.insert(a.key.data(), a.key.size(), a.slots);
        for (size_t n = 1; n <= a.key.size(); ++n) ASSERT_EQ(a.slots[n - 1], ref[Keys(a.key.begin(), a.key.begin() + ptrdiff_t(n))]);
        cache.unlock(a.node);
      } else {  // evict
        const size_t want = size_t(rand(20));
        const size_t before = cache.evictable_tokens();
        const size_t freed = cache.evict(want);
        if (freed < want) {
          ASSERT_EQ(cache.evictable_tokens(), 0u);
        }
        ASSERT_EQ(before - freed, cache.evictable_tokens());
      }
      check_accounting();
      if (HasFatalFailure()) return;
    }
    for (auto& a : active) {
      cache.insert(a.key.data(), a.key.size(), a.slots);
      cache.unlock(a.node);
    }
    active.clear();
    cache.evict(1u << 30);
    EXPECT_EQ(cache.cached_tokens(), 0u);
    EXPECT_EQ(pool.available(), pool.usable()) << "leaked slots, seed " << seed;
  }
}
