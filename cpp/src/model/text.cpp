#include "model/text.h"

#include <cmath>

#include "model/device_util.h"

namespace loupe::model {

void decoder_layer(Backend& be, const TextLayerWeights& w, const TextConfig& c, Tensor k_cache, Tensor v_cache,
                   Tensor x, const DecoderStep& step) {
  const int64_t n = x.dim(0), D = c.hidden_size, H = c.num_attention_heads, K = c.num_key_value_heads,
                hd = c.head_dim, F = c.intermediate_size;
  const float eps = float(c.rms_norm_eps);
  const DType act = be.activation_dtype();

  Buffer a(be, act, {n, D}), qkv(be, act, {n, (H + 2 * K) * hd});
  be.rms_norm(a, x, w.input_norm, eps);
  be.linear(qkv, a, w.qkv, nullptr);
  // Split the fused projection into heads, QK-norm per head over hd, then M-RoPE (one op;
  // the cache keeps post-RoPE keys).
  Buffer q(be, act, {n, H, hd}), k(be, act, {n, K, hd}), v(be, act, {n, K, hd});
  be.qkv_norm_rope(q, k, v, qkv, w.q_norm, w.k_norm, eps, step.cos, step.sin);
  be.kv_store(k_cache, v_cache, k, v, step.out_cache_loc);
  Buffer o(be, act, {n, H, hd});
  be.attention_paged(o, q, k_cache, v_cache, step.attention);
  be.linear(a, o.tensor().view({n, H * hd}), w.o_proj, nullptr);
  be.add(x, x, a);

  be.rms_norm(a, x, w.post_attention_norm, eps);
  Buffer gate_up(be, act, {n, 2 * F}), mlp(be, act, {n, F});
  be.linear(gate_up, a, w.gate_up, nullptr);
  be.silu_mul(mlp, gate_up);
  be.linear(a, mlp, w.down, nullptr);
  be.add(x, x, a);
}

void run_decoder(Backend& be, const Weights& weights, const TextConfig& c, KVCache& cache, Tensor x,
                 const DecoderStep& step) {
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    decoder_layer(be, weights.layers[l], c, cache.k(int(l)), cache.v(int(l)), x, step);
    if (step.after_layer) step.after_layer(int(l), x);
  }
}

void final_logits(Backend& be, const Weights& weights, const TextConfig& c, Tensor hidden, Tensor logits) {
  Buffer normed(be, be.activation_dtype(), {hidden.dim(0), c.hidden_size});
  be.rms_norm(normed, hidden, weights.final_norm, float(c.rms_norm_eps));
  be.linear(logits, normed, weights.lm_head, nullptr);
}

}  // namespace loupe::model
