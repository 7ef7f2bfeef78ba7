#include "model/kv_cache.h"

namespace loupe::model {

size_t KVCache::bytes_per_token(const ModelConfig& config, DType dtype) {
  const TextConfig& t = config.text;
  return size_t(2 * t.num_hidden_layers * t.num_key_value_heads * t.head_dim) * dtype_size(dtype);
}

KVCache::KVCache(Backend& backend, const ModelConfig& config, int64_t capacity)
    : capacity_(capacity), bytes_per_token_(bytes_per_token(config, backend.activation_dtype())) {
  LOUPE_CHECK(capacity > 0, InvalidArgument, "KV cache capacity must be positive, got ", capacity);
  const TextConfig& t = config.text;
  for (int64_t l = 0; l < t.num_hidden_layers; ++l) {
    k_.emplace_back(backend, backend.activation_dtype(), std::initializer_list<int64_t>{capacity, t.num_key_value_heads, t.head_dim});
    v_.emplace_back(backend, backend.activation_dtype(), std::initializer_list<int64_t>{capacity, t.num_key_value_heads, t.head_dim});
  }
}

}  // namespace loupe::model
