#include "model/kv_cache.h"

#include <atomic>

namespace loupe::model {

size_t KVCache::bytes_per_token(const ModelConfig& config, DType dtype) {
  const TextConfig& t = config.text;
  return size_t(2 * t.num_hidden_layers * t.num_key_value_heads * t.head_dim) * dtype_size(dtype);
}

namespace {
uint64_t next_id() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}
}  // namespace

KVCache::KVCache(Backend& backend, const ModelConfig& config, int64_t capacity)
    : capacity_(capacity), id_(next_id()), bytes_per_token_(bytes_per_token(config, backend.activation_dtype())) {
  LOUPE_CHECK(capacity > 0 && capacity < INT32_MAX, InvalidArgument, "KV cache capacity must be in [1, 2^31 - 1), got ", capacity);
  const int64_t rows = capacity + 1;  // the padding slot
  const TextConfig& t = config.text;
  for (int64_t l = 0; l < t.num_hidden_layers; ++l) {
    k_.emplace_back(backend, backend.activation_dtype(), std::initializer_list<int64_t>{rows, t.num_key_value_heads, t.head_dim});
    v_.emplace_back(backend, backend.activation_dtype(), std::initializer_list<int64_t>{rows, t.num_key_value_heads, t.head_dim});
  }
}

}  // namespace loupe::model
