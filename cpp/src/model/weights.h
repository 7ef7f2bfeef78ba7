#pragma once
// Runtime weights of Qwen3-VL: HF tensor names remapped onto the fused layout the model
// code uses (sglang/pymllm load_weights): text q/k/v -> qkv [(H+2K)·hd, D] and
// gate/up -> gate_up [2F, D] with GQA-aware row offsets, vision qkv as stored, the Conv3d
// patch weight viewed as a [V, C·Tp·P·P] GEMM matrix, lm_head = embed_tokens when tied.
// Shapes are checked against the config; missing tensors are one error listing them all;
// unused ones are reported in unused().
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/safetensors.h"

namespace loupe::model {

struct LinearWeights {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or empty (data == nullptr)
  const Tensor* bias_or_null() const { return bias.data ? &bias : nullptr; }
};

struct NormWeights {
  Tensor weight, bias;  // bias only for LayerNorm
};

struct VisionBlockWeights {
  NormWeights norm1, norm2;
  LinearWeights qkv, proj, fc1, fc2;
};

struct MergerWeights {
  NormWeights norm;  // over V (main merger, pre-shuffle) or 4V (deepstack, post-shuffle)
  LinearWeights fc1, fc2;
};

struct TextLayerWeights {
  Tensor input_norm, post_attention_norm, q_norm, k_norm;
  Tensor qkv;      // [(H + 2K)·hd, D]: q rows, then k rows, then v rows
  Tensor o_proj;   // [D, H·hd]
  Tensor gate_up;  // [2F, D]: gate rows then up rows
  Tensor down;     // [D, F]
};

struct WeightOptions {
  bool upcast_to_f32 = false;  // bf16 checkpoints stay bf16 unless asked (fp16 is always upcast)
  // Text decoder linears (q|k|v, o, gate|up, down) quantised to int8 at load, per-row
  // scales (backend/int8_weights.h); CPU only. Embeddings, lm_head and vision stay as stored.
  bool int8_text_linears = false;
};

class Weights {
 public:
  Weights(Backend& backend, const ModelConfig& config, const Checkpoint& checkpoint, const WeightOptions& options);
  ~Weights();

  LinearWeights patch_embed;        // weight [V, C·Tp·P·P]
  Tensor pos_embed;                 // [num_position_embeddings, V]
  std::vector<VisionBlockWeights> vision_blocks;
  MergerWeights merger;
  std::vector<MergerWeights> deepstack_mergers;
  Tensor embed_tokens;              // [vocab, D]
  std::vector<TextLayerWeights> layers;
  Tensor final_norm;                // [D]
  Tensor lm_head;                   // [vocab, D] (== embed_tokens when tied); empty when the checkpoint has none
  bool has_lm_head() const { return lm_head.data != nullptr; }

  const std::vector<std::string>& unused() const { return unused_; }
  size_t bytes() const { return bytes_; }

 private:
  class Loader;
  std::vector<Buffer> owned_;
  std::vector<std::string> unused_;
  size_t bytes_ = 0;
};

// Maps an HF tensor name (or a known alias) to the canonical form used by the loader:
// "visual.<...>", "text.<...>" or "lm_head.weight"; "" for tensors to skip (rotary caches).
std::string canonical_tensor_name(const std::string& hf_name);

}  // namespace loupe::model
