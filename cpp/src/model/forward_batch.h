#pragma once
// ForwardBatch: everything one model step needs besides input_ids and positions
// (sglang lineage). The scheduler fills it; the model never allocates KV slots itself.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "loupe/visual.h"

namespace loupe::model {

class KVCache;

enum class ForwardMode { Extend, Decode };  // prefill (incl. chunked / after a prefix hit) vs one token per seq

// Output of the vision tower for one item: merged-token rows in placeholder order.
struct VisionFeatures {
  Buffer main;                     // [tokens, D] activation dtype, on the backend's device
  std::vector<Buffer> deepstack;   // S levels, each [tokens, D]
  int64_t rows() const { return main.tensor().ndim ? main.tensor().dim(0) : 0; }
  size_t bytes() const;
};

// One image or video of one request, as a step sees it.
struct VisualItem {
  uint64_t hash = 0;  // pixels, grid and preprocessing: the key of the feature and prefix caches
  VisualKind kind = VisualKind::Image;
  GridTHW grid;
  const float* pixel_values = nullptr;   // [t*h*w, C*Tp*P*P] host fp32; may be null when features are given
  // The model's features (VisionFeatures for Qwen3-VL), computed by forward when null;
  // opaque to the engine, which may cache and hand them back.
  std::shared_ptr<const void> features;
  size_t feature_bytes = 0;              // set together with features
  double vision_ms = 0;                  // time spent computing them in this step
};

// The features of an item, which this model (encode_vision) produced.
inline const VisionFeatures& features_of(const VisualItem& item) {
  return *static_cast<const VisionFeatures*>(item.features.get());
}

struct ForwardBatch {
  ForwardMode mode = ForwardMode::Extend;
  int batch_size = 0;
  // per sequence
  std::vector<int32_t> seq_lens;            // cached prefix + new tokens
  std::vector<int32_t> extend_prefix_lens;  // tokens already in the KV cache
  std::vector<int32_t> extend_seq_lens;     // new tokens this step (1 for decode)
  std::vector<const int32_t*> kv_slots;     // per seq: KV pool slot of every token [0, seq_lens[b])
  // per new token (flattened over the batch, in order)
  std::vector<int32_t> out_cache_loc;       // KV slot to write
  std::vector<int32_t> visual_item;         // index into `items`, or -1 for text tokens
  std::vector<int32_t> visual_row;          // merged-token row inside that item's features
  std::vector<VisualItem*> items;
  KVCache* kv_cache = nullptr;              // set by whoever owns the pool (the model runner)
};

}  // namespace loupe::model
