#pragma once
// ForwardBatch: everything one model step needs besides input_ids and positions
// (sglang lineage). The engine fills it; the model never allocates KV slots itself.
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"

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

struct VisualItem {                                // one image, or one video, of one request
  int64_t id = 0;                                  // stable per request item (engine assigns)
  GridTHW grid;                                    // patch grid (t, h, w)
  const float* pixel_values = nullptr;             // [t*h*w, C*Tp*P*P] host fp32; may be null if features given
  std::shared_ptr<const VisionFeatures> features;  // computed by the model when null (engine may cache them)
};

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
  KVCache* kv_cache = nullptr;
};

}  // namespace loupe::model
