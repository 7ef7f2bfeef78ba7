#pragma once
// Qwen3VLModel: the whole Qwen3-VL forward pass, written against the Backend interface.
//
//   logits = model.forward(input_ids, positions, batch)
//
// input_ids [n] and positions [3, n] (M-RoPE t/h/w rows) are host arrays covering the new
// tokens of every sequence in the batch, flattened in order. Positions come from the caller
// (get_rope_index once per request; decode = p + delta) and are never recomputed from a
// chunk. Visual tokens are located by batch.visual_item / visual_row, so a chunk or a prefix
// hit may start or end inside an image. Returns logits [batch_size, vocab] (F32, host) of the
// last new token of each sequence.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/decode_graphs.h"
#include "model/forward_batch.h"
#include "model/rope_tables.h"
#include "model/vision.h"

namespace loupe::model {

class Weights;
class Checkpoint;

// Deliberately wrong text-side variants, so tests can prove spec §11 pitfalls are caught.
struct TextVariant {
  MropeLayout mrope_layout = MropeLayout::Interleaved;
  bool deepstack = true;
};

struct LoadOptions {
  bool upcast_to_f32 = false;  // keep bf16 weights as stored unless asked
  bool int8_text_linears = false;  // CPU: text decoder linears quantised to int8 (WeightOptions)
  DecodeGraphOptions decode_graphs;  // text-only decode steps as step graphs where the backend has them
};

class Qwen3VLModel {
 public:
  Qwen3VLModel(Backend& backend, const std::filesystem::path& model_dir, const LoadOptions& options = {});
  ~Qwen3VLModel();

  const ModelConfig& config() const { return config_; }
  Backend& backend() const { return backend_; }

  // Runs the vision tower for one item; pixel_values [grid.patches(), patch_dim] host fp32.
  std::shared_ptr<VisionFeatures> encode_vision(const float* pixel_values, const GridTHW& grid);

  std::vector<float> forward(std::span<const int32_t> input_ids, std::span<const int32_t> positions,
                             ForwardBatch& batch);
  // The same step with the logits left on the backend's device ([batch_size, vocab] in the
  // activation dtype), for sampling there (Backend::sample). The tensor belongs to the model
  // and stays valid until the next forward call.
  Tensor forward_logits(std::span<const int32_t> input_ids, std::span<const int32_t> positions,
                        ForwardBatch& batch);
  // The same step, also keeping h = the final-norm hidden state of the last new token of
  // each sequence ([batch_size, D], activation dtype, on the device) when want_hidden
  // (embeddings, reranker scores). Logits are empty when the checkpoint has no output head.
  struct StepOutput {
    Tensor logits, hidden;
  };
  StepOutput forward_step(std::span<const int32_t> input_ids, std::span<const int32_t> positions,
                          ForwardBatch& batch, bool want_hidden);
  bool can_generate() const;  // the checkpoint has an output head
  const DecodeGraphStats& decode_graph_stats() const { return decode_graphs_->stats(); }

  const Weights& weights() const { return *weights_; }
  const std::vector<std::string>& unused_tensors() const;

  // Test hooks for the pitfall tests; defaults are the correct model.
  VisionVariant vision_variant;
  TextVariant text_variant;

 private:
  Backend& backend_;
  ModelConfig config_;
  std::unique_ptr<Checkpoint> checkpoint_;  // mapped files the CPU weights may point into
  std::unique_ptr<Weights> weights_;
  std::vector<float> pos_table_;            // pos_embed as host fp32 for the interpolation
  std::unique_ptr<DecodeGraphs> decode_graphs_;
  Buffer eager_logits_;                     // the last eager step's logits
  Buffer eager_hidden_;                     // ... and its final-norm hidden rows
};

}  // namespace loupe::model
