#pragma once
// KVCache: per-layer K and V buffers of `capacity` token slots [capacity, kv_heads, head_dim],
// allocated through the backend. Keys are stored after QK-norm and M-RoPE. Which slot a
// token occupies is decided by the engine (ForwardBatch::out_cache_loc / kv_slots).
// One more row past the capacity is the padding slot: padded rows of a recorded decode
// step (decode_graphs.h) write and read there, never in a slot the engine hands out.
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"

namespace loupe::model {

class KVCache {
 public:
  KVCache(Backend& backend, const ModelConfig& config, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  int32_t padding_slot() const { return int32_t(capacity_); }
  // Unique per cache instance: step graphs recorded against one cache's buffers must not
  // replay against another that happens to live at the same address.
  uint64_t id() const { return id_; }
  int num_layers() const { return int(k_.size()); }
  Tensor k(int layer) const { return k_.at(layer).tensor(); }
  Tensor v(int layer) const { return v_.at(layer).tensor(); }
  // Bytes one token slot costs over all layers (K and V).
  size_t bytes_per_token() const { return bytes_per_token_; }
  static size_t bytes_per_token(const ModelConfig& config, DType dtype);

 private:
  int64_t capacity_;
  uint64_t id_;
  size_t bytes_per_token_;
  std::vector<Buffer> k_, v_;
};

}  // namespace loupe::model
