#pragma once
// Text decoder (spec §8): embeddings, decoder layers with RMSNorm, QK-norm, GQA attention
// over the token-slot KV pool, interleaved M-RoPE and SwiGLU; final norm and logits.
#include <functional>

#include "backend/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace loupe::model {

struct DecoderStep {
  Tensor cos, sin;              // [n, hd/2] M-RoPE tables of the new tokens
  Tensor out_cache_loc;         // [n] I32: KV slot written by each new token
  PagedAttentionParams attention;
  // Called after each layer with the hidden state [n, D] (deepstack injection, §8.6).
  std::function<void(int layer, Tensor hidden)> after_layer;
};

// One decoder layer in place on x [n, D].
void decoder_layer(Backend& backend, const TextLayerWeights& w, const TextConfig& config, Tensor k_cache,
                   Tensor v_cache, Tensor x, const DecoderStep& step);

// All layers in place on x [n, D] (embeddings in, pre-norm hidden state out).
void run_decoder(Backend& backend, const Weights& weights, const TextConfig& config, KVCache& cache, Tensor x,
                 const DecoderStep& step);

// logits [B, vocab] = lm_head(RMSNorm(hidden [B, D])).
void final_logits(Backend& backend, const Weights& weights, const TextConfig& config, Tensor hidden, Tensor logits);

}  // namespace loupe::model
