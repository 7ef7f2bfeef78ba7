#include "engine/radix_cache.h"

#include <algorithm>
#include <queue>

#include "core/error.h"

namespace loupe::engine {
namespace {

size_t common_prefix(const std::vector<TokenKey>& a, const TokenKey* b, size_t n) {
  size_t limit = std::min(a.size(), n);
  size_t i = 0;
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

RadixCache::RadixCache(KvSlotAllocator& allocator) : allocator_(allocator) { root_.lock_ref = 1; }

RadixCache::~RadixCache() = default;  // the pool outlives nothing: slots die with it

RadixNode* RadixCache::split(RadixNode* node, size_t at) {
  // node keeps the tail [at, len); a new parent takes the head [0, at).
  RadixNode* parent = node->parent;
  auto head = std::make_unique<RadixNode>();
  head->key.assign(node->key.begin(), node->key.begin() + ptrdiff_t(at));
  head->slots.assign(node->slots.begin(), node->slots.begin() + ptrdiff_t(at));
  head->parent = parent;
  head->lock_ref = node->lock_ref;
  head->last_access = node->last_access;
  node->key.erase(node->key.begin(), node->key.begin() + ptrdiff_t(at));
  node->slots.erase(node->slots.begin(), node->slots.begin() + ptrdiff_t(at));

  auto& slot_in_parent = parent->children.at(head->key.front());
  std::unique_ptr<RadixNode> tail = std::move(slot_in_parent);
  tail->parent = head.get();
  RadixNode* head_ptr = head.get();
  head->children.emplace(tail->key.front(), std::move(tail));
  slot_in_parent = std::move(head);
  return head_ptr;
}

RadixCache::Match RadixCache::match_prefix(const TokenKey* key, size_t n) {
  Match match{{}, &root_};
  RadixNode* node = &root_;
  size_t i = 0;
  while (i < n) {
    auto it = node->children.find(key[i]);
    if (it == node->children.end()) break;
    RadixNode* child = it->second.get();
    size_t common = common_prefix(child->key, key + i, n - i);
    if (common < child->key.size()) child = split(child, common);
    touch(child);
    match.slots.insert(match.slots.end(), child->slots.begin(), child->slots.end());
    i += common;
    node = child;
  }
  match.node = node;
  return match;
}

RadixNode* RadixCache::insert(const TokenKey* key, size_t n, std::vector<int32_t>& slots) {
  LOUPE_CHECK(slots.size() >= n, Internal, "radix insert of ", n, " keys with ", slots.size(), " slots");
  RadixNode* node = &root_;
  size_t i = 0;
  while (i < n) {
    auto it = node->children.find(key[i]);
    if (it == node->children.end()) {
      auto leaf = std::make_unique<RadixNode>();
      leaf->key.assign(key + i, key + n);
      leaf->slots.assign(slots.begin() + ptrdiff_t(i), slots.begin() + ptrdiff_t(n));
      leaf->parent = node;
      touch(leaf.get());
      evictable_ += n - i;
      RadixNode* leaf_ptr = leaf.get();
      node->children.emplace(key[i], std::move(leaf));
      return leaf_ptr;
    }
    RadixNode* child = it->second.get();
    size_t common = common_prefix(child->key, key + i, n - i);
    if (common < child->key.size()) child = split(child, common);
    touch(child);
    for (size_t j = 0; j < common; ++j) {
      int32_t tree_slot = child->slots[j];
      if (slots[i + j] != tree_slot) {
        allocator_.release(&slots[i + j], 1);  // computed twice: keep the tree's copy
        slots[i + j] = tree_slot;
      }
    }
    i += common;
    node = child;
  }
  return node;
}

void RadixCache::lock(RadixNode* node) {
  for (RadixNode* x = node; x != &root_; x = x->parent) {
    if (x->lock_ref++ == 0) {
      evictable_ -= x->key.size();
      protected_ += x->key.size();
    }
  }
}

void RadixCache::unlock(RadixNode* node) {
  for (RadixNode* x = node; x != &root_; x = x->parent) {
    LOUPE_CHECK(x->lock_ref > 0, Internal, "radix node unlocked more often than locked");
    if (--x->lock_ref == 0) {
      protected_ -= x->key.size();
      evictable_ += x->key.size();
    }
  }
}

size_t RadixCache::evict(size_t tokens) {
  auto older = [](const RadixNode* a, const RadixNode* b) { return a->last_access > b->last_access; };
  std::priority_queue<RadixNode*, std::vector<RadixNode*>, decltype(older)> leaves(older);
  std::vector<RadixNode*> stack{&root_};
  while (!stack.empty()) {
    RadixNode* x = stack.back();
    stack.pop_back();
    if (x != &root_ && x->children.empty() && x->lock_ref == 0) leaves.push(x);
    for (auto& [first, child] : x->children) stack.push_back(child.get());
  }
  size_t freed = 0;
  while (freed < tokens && !leaves.empty()) {
    RadixNode* leaf = leaves.top();
    leaves.pop();
    allocator_.release(leaf->slots);
    freed += leaf->slots.size();
    evictable_ -= leaf->key.size();
    stats_.evicted_tokens += int64_t(leaf->key.size());
    stats_.evicted_nodes += 1;
    RadixNode* parent = leaf->parent;
    parent->children.erase(leaf->key.front());  // destroys leaf
    if (parent != &root_ && parent->children.empty() && parent->lock_ref == 0) leaves.push(parent);
  }
  return freed;
}

void RadixCache::record_lookup(size_t hit, size_t miss) {
  stats_.hit_tokens += int64_t(hit);
  stats_.miss_tokens += int64_t(miss);
}

}  // namespace loupe::engine
