#pragma once
// LRU cache of vision-tower outputs keyed by the visual item hash (token_key.h), bounded
// by bytes. A repeated image skips the vision tower even after its KV left the radix
// cache. Values are shared, so an entry evicted while a batch still uses it stays alive.
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>

namespace loupe::engine {

class FeatureCache {
 public:
  explicit FeatureCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::shared_ptr<const void> get(uint64_t key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }

  // Values larger than the whole budget are not kept.
  void put(uint64_t key, std::shared_ptr<const void> value, size_t bytes) {
    if (bytes > capacity_ || !value) return;
    if (auto it = index_.find(key); it != index_.end()) {
      used_ -= it->second->bytes;
      lru_.erase(it->second);
      index_.erase(it);
    }
    while (used_ + bytes > capacity_) {
      used_ -= lru_.back().bytes;
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{key, std::move(value), bytes});
    index_[key] = lru_.begin();
    used_ += bytes;
  }

  size_t used_bytes() const { return used_; }
  size_t entries() const { return index_.size(); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  struct Entry {
    uint64_t key;
    std::shared_ptr<const void> value;
    size_t bytes;
  };
  size_t capacity_;
  size_t used_ = 0;
  int64_t hits_ = 0, misses_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace loupe::engine
