#pragma once
// Work the Qwen3-VL forward passes must do, from the checkpoint's config.json: bytes of
// weights a decode step streams, and the FLOPs of prefill and of the vision tower. The
// physical ceilings of the benchmark are these divided by measured bandwidth / GEMM peak.
#include <cstdint>
#include <string>

namespace loupe::bench {

struct ModelCost {
  // Text decoder.
  int64_t layers = 0, hidden = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0, vocab = 0;
  // Vision tower.
  int64_t v_depth = 0, v_hidden = 0, v_intermediate = 0, v_patch = 0, v_temporal = 0, v_merge = 0;
  int64_t v_out = 0, v_deepstack = 0, v_channels = 3;
  double weight_bytes_per_param = 2;  // bf16 checkpoint weights stay bf16 in memory

  static ModelCost from_config(const std::string& model_dir);

  // Linear-layer parameters of one decoder layer, and of the whole decoder (no lm_head).
  double decoder_layer_params() const;
  double decoder_params() const { return double(layers) * decoder_layer_params(); }
  double lm_head_params() const { return double(vocab) * hidden; }

  // Weight bytes one decode step reads (every decoder matrix + lm_head, once per step
  // whatever the batch), plus the KV it attends over.
  double decode_step_bytes(int batch, int context, double kv_bytes_per_value = 2) const;
  double decode_step_flops(int batch, int context) const;
  // Prefill of `tokens` new tokens (causal attention, logits for the last token only).
  double prefill_flops(int tokens) const;
  // Vision tower for an image of `height` x `width` pixels (patch embed, full-attention
  // blocks, the merger and the deepstack mergers).
  double vision_flops(int height, int width) const;
  int vision_tokens(int height, int width) const;  // merged tokens the decoder sees
};

}  // namespace loupe::bench
