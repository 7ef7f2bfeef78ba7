#pragma once
// Radix prefix cache over token keys (sglang RadixCache, page size 1). Each node holds a
// run of keys and the KV slots computed for them; a request that matches a prefix reuses
// those slots and only computes the rest. Locked nodes (in use by a running request) are
// never evicted; unlocked leaves are evicted in LRU order and their slots freed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/kv_slot_allocator.h"
#include "engine/token_key.h"

namespace loupe::engine {

struct RadixNode {
  std::vector<TokenKey> key;
  std::vector<int32_t> slots;  // one KV slot per key
  RadixNode* parent = nullptr;
  std::unordered_map<TokenKey, std::unique_ptr<RadixNode>> children;  // by first key
  int32_t lock_ref = 0;
  uint64_t last_access = 0;
};

struct RadixStats {
  int64_t hit_tokens = 0;
  int64_t miss_tokens = 0;
  int64_t evicted_tokens = 0;
  int64_t evicted_nodes = 0;
};

class RadixCache {
 public:
  // Slots stored in the tree belong to the tree and go back to `allocator` on eviction.
  explicit RadixCache(KvSlotAllocator& allocator);
  ~RadixCache();
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  struct Match {
    std::vector<int32_t> slots;  // KV slots of the matched prefix, in order
    RadixNode* node;             // deepest node of the match (root when nothing matched)
  };
  // Longest cached prefix of key[0, n). Splits a node when the match ends inside it, so
  // the returned node covers exactly the matched prefix and can be locked.
  Match match_prefix(const TokenKey* key, size_t n);

  // Stores key[0, n) with slots[0, n). Where the tree already holds a prefix, the
  // caller's duplicate slots are freed and slots[i] is repointed to the tree's slot, so
  // afterwards slots[0, n) is exactly what the tree holds. Returns the node ending at n.
  RadixNode* insert(const TokenKey* key, size_t n, std::vector<int32_t>& slots);

  // Reference counts along the path node -> root.
  void lock(RadixNode* node);
  void unlock(RadixNode* node);

  // Evicts unlocked leaves, least recently used first, until `tokens` slots were freed or
  // nothing evictable is left. Returns the number of slots freed.
  size_t evict(size_t tokens);

  void record_lookup(size_t hit, size_t miss);

  RadixNode* root() { return &root_; }
  size_t cached_tokens() const { return evictable_ + protected_; }
  size_t evictable_tokens() const { return evictable_; }
  size_t protected_tokens() const { return protected_; }
  const RadixStats& stats() const { return stats_; }

 private:
  RadixNode* split(RadixNode* node, size_t at);
  void touch(RadixNode* node) { node->last_access = ++clock_; }

  KvSlotAllocator& allocator_;
  RadixNode root_;
  uint64_t clock_ = 0;  // logical LRU clock: deterministic, unlike wall time
  size_t evictable_ = 0;
  size_t protected_ = 0;
  RadixStats stats_;
};

}  // namespace loupe::engine
