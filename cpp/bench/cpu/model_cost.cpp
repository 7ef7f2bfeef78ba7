#include "model_cost.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace loupe::bench {

ModelCost ModelCost::from_config(const std::string& model_dir) {
  std::ifstream in(model_dir + "/config.json");
  if (!in) throw std::runtime_error("cannot read " + model_dir + "/config.json");
  const auto cfg = nlohmann::json::parse(in);
  const auto& t = cfg.at("text_config");
  const auto& v = cfg.at("vision_config");
  ModelCost c;
  c.layers = t.at("num_hidden_layers");
  c.hidden = t.at("hidden_size");
  c.heads = t.at("num_attention_heads");
  c.kv_heads = t.at("num_key_value_heads");
  c.head_dim = t.value("head_dim", c.hidden / c.heads);
  c.intermediate = t.at("intermediate_size");
  c.vocab = t.at("vocab_size");
  c.v_depth = v.at("depth");
  c.v_hidden = v.at("hidden_size");
  c.v_intermediate = v.at("intermediate_size");
  c.v_patch = v.at("patch_size");
  c.v_temporal = v.at("temporal_patch_size");
  c.v_merge = v.at("spatial_merge_size");
  c.v_out = v.at("out_hidden_size");
  c.v_channels = v.value("in_channels", 3);
  c.v_deepstack = v.contains("deepstack_visual_indexes") ? int64_t(v.at("deepstack_visual_indexes").size()) : 0;
  return c;
}

double ModelCost::decoder_layer_params() const {
  const double q = double(heads) * head_dim, kv = double(kv_heads) * head_dim;
  return hidden * (q + 2 * kv) + q * hidden + 3.0 * hidden * intermediate;
}

double ModelCost::decode_step_bytes(int batch, int context, double kv_bytes_per_value) const {
  const double weights = (decoder_params() + lm_head_params()) * weight_bytes_per_param;
  const double kv = double(batch) * context * layers * 2.0 * kv_heads * head_dim * kv_bytes_per_value;
  return weights + kv;
}

double ModelCost::decode_step_flops(int batch, int context) const {
  const double linear = 2.0 * batch * (decoder_params() + lm_head_params());
  const double attention = 4.0 * batch * context * layers * heads * head_dim;
  return linear + attention;
}

double ModelCost::prefill_flops(int tokens) const {
  const double n = tokens;
  const double linear = 2.0 * n * decoder_params() + 2.0 * lm_head_params();
  const double attention = 4.0 * layers * heads * head_dim * (n * (n + 1) / 2);  // QK^T + PV, causal
  return linear + attention;
}

int ModelCost::vision_tokens(int height, int width) const {
  const int64_t patches = int64_t(height / v_patch) * (width / v_patch);
  return int(patches / (v_merge * v_merge));
}

double ModelCost::vision_flops(int height, int width) const {
  const double n = double(height / v_patch) * double(width / v_patch);
  const double h = v_hidden;
  const double patch_in = double(v_channels) * v_temporal * v_patch * v_patch;
  const double embed = 2.0 * n * patch_in * h;
  const double block_linear = 2.0 * n * (4.0 * h * h + 2.0 * h * v_intermediate);  // qkv+proj, fc1+fc2
  const double block_attention = 4.0 * n * n * h;                                   // full attention
  const double merged = n / double(v_merge * v_merge), wide = h * v_merge * v_merge;
  const double merger = 2.0 * merged * (wide * wide + wide * v_out);
  return embed + v_depth * (block_linear + block_attention) + double(1 + v_deepstack) * merger;
}

}  // namespace loupe::bench
