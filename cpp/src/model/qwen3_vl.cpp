#include "model/qwen3_vl.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "model/device_util.h"
#include "model/kv_cache.h"
#include "model/safetensors.h"
#include "model/text.h"
#include "model/weights.h"

namespace loupe::model {

Qwen3VLModel::Qwen3VLModel(Backend& backend, const std::filesystem::path& dir, const LoadOptions& options)
    : backend_(backend), config_(load_model_config(dir)) {
  try {
    checkpoint_ = std::make_unique<Checkpoint>(Checkpoint::open(dir));
    weights_ = std::make_unique<Weights>(backend, config_, *checkpoint_, WeightOptions{options.upcast_to_f32, options.int8_text_linears});
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::ModelLoad) throw;
    throw Error(ErrorKind::ModelLoad, dir.string() + ": " + e.what());  // say which model
  }
  pos_table_.resize(weights_->pos_embed.numel());
  backend.to_host_f32(pos_table_.data(), weights_->pos_embed);
  decode_graphs_ = std::make_unique<DecodeGraphs>(backend, *weights_, config_.text, options.decode_graphs);
}

Qwen3VLModel::~Qwen3VLModel() = default;

const std::vector<std::string>& Qwen3VLModel::unused_tensors() const { return weights_->unused(); }

std::shared_ptr<VisionFeatures> Qwen3VLModel::encode_vision(const float* pixel_values, const GridTHW& grid) {
  return std::make_shared<VisionFeatures>(
      vision_tower(backend_, *weights_, config_.vision, pos_table_, pixel_values, grid, vision_variant));
}

std::vector<float> Qwen3VLModel::forward(std::span<const int32_t> input_ids, std::span<const int32_t> positions,
                                         ForwardBatch& batch) {
  Tensor logits = forward_logits(input_ids, positions, batch);
  std::vector<float> out(size_t(logits.numel()));
  backend_.to_host_f32(out.data(), logits);
  backend_.synchronize();
  return out;
}

bool Qwen3VLModel::can_generate() const { return weights_->has_lm_head(); }

Tensor Qwen3VLModel::forward_logits(std::span<const int32_t> input_ids, std::span<const int32_t> positions,
                                   ForwardBatch& batch) {
  LOUPE_CHECK(can_generate(), InvalidArgument,
              "this checkpoint has no output head (lm_head.weight, untied): it computes embeddings, not tokens");
  return forward_step(input_ids, positions, batch, false).logits;
}

Qwen3VLModel::StepOutput Qwen3VLModel::forward_step(std::span<const int32_t> input_ids,
                                                    std::span<const int32_t> positions, ForwardBatch& batch,
                                                    bool want_hidden) {
  Backend& be = backend_;
  const TextConfig& tc = config_.text;
  const int64_t n = int64_t(input_ids.size()), D = tc.hidden_size, B = batch.batch_size;
  const DType act = be.activation_dtype();

  // ---- validate the batch -------------------------------------------------------------
  LOUPE_CHECK(n > 0 && B > 0, InvalidArgument, "forward: empty batch");
  LOUPE_CHECK(int64_t(positions.size()) == 3 * n, InvalidArgument, "forward: positions must be [3, ", n, "]");
  LOUPE_CHECK(batch.kv_cache != nullptr, InvalidArgument, "forward: batch has no KV cache");
  LOUPE_CHECK(int64_t(batch.seq_lens.size()) == B && int64_t(batch.extend_seq_lens.size()) == B &&
                  int64_t(batch.kv_slots.size()) == B,
              InvalidArgument, "forward: per-sequence vectors must have batch_size entries");
  LOUPE_CHECK(int64_t(batch.out_cache_loc.size()) == n, InvalidArgument, "forward: out_cache_loc must have ", n,
              " entries");
  const bool has_visual = !batch.visual_item.empty();
  LOUPE_CHECK(!has_visual || (int64_t(batch.visual_item.size()) == n && int64_t(batch.visual_row.size()) == n),
              InvalidArgument, "forward: visual_item/visual_row must have one entry per token");
  int64_t total = 0, max_len = 0;
  for (int64_t b = 0; b < B; ++b) {
    LOUPE_CHECK(batch.extend_seq_lens[b] > 0 && batch.extend_seq_lens[b] <= batch.seq_lens[b], InvalidArgument,
                "forward: sequence ", b, " has ", batch.extend_seq_lens[b], " new of ", batch.seq_lens[b], " tokens");
    LOUPE_CHECK(batch.kv_slots[b] != nullptr, InvalidArgument, "forward: sequence ", b, " has no KV slots");
    total += batch.extend_seq_lens[b];
    max_len = std::max<int64_t>(max_len, batch.seq_lens[b]);
  }
  LOUPE_CHECK(total == n, InvalidArgument, "forward: extend_seq_lens sum to ", total, " but ", n, " ids were given");
  for (int64_t i = 0; i < n; ++i) {
    LOUPE_CHECK(input_ids[i] >= 0 && input_ids[i] < tc.vocab_size, InvalidArgument, "forward: token id ",
                input_ids[i], " outside the vocabulary of ", tc.vocab_size);
    const bool placeholder = input_ids[i] == config_.image_token_id || input_ids[i] == config_.video_token_id;
    const int32_t item = has_visual ? batch.visual_item[i] : -1;
    LOUPE_CHECK(placeholder == (item >= 0), InvalidArgument, "forward: token ", i,
                placeholder ? " is an image/video placeholder without visual features"
                            : " has visual features but is not a placeholder token");
    LOUPE_CHECK(item < int32_t(batch.items.size()), InvalidArgument, "forward: token ", i, " names visual item ",
                item, " of ", batch.items.size());
  }

  for (int64_t b = 0, start = 0; b < B; start += batch.extend_seq_lens[b], ++b)
    for (int32_t i = 0; i < batch.extend_seq_lens[b]; ++i)
      LOUPE_CHECK(batch.out_cache_loc[start + i] ==
                      batch.kv_slots[b][batch.seq_lens[b] - batch.extend_seq_lens[b] + i],
                  InvalidArgument, "forward: out_cache_loc of token ", start + i, " differs from its kv_slots entry");

  // ---- text-only decode: a recorded step where the backend has graphs --------------------
  RopeTable rope = mrope_table(positions, n, tc, text_variant.mrope_layout);
  if (!want_hidden)
    if (Tensor logits = decode_graphs_->run(input_ids, rope, batch); logits.data) return {logits, {}};

  // ---- vision features for the items in this step ---------------------------------------
  const int64_t M = config_.vision.spatial_merge_size;
  std::map<int32_t, std::pair<std::vector<int32_t>, std::vector<int32_t>>> per_item;  // item -> (token, row)
  for (int64_t i = 0; i < n && has_visual; ++i)
    if (batch.visual_item[i] >= 0) {
      per_item[batch.visual_item[i]].first.push_back(int32_t(i));
      per_item[batch.visual_item[i]].second.push_back(batch.visual_row[i]);
    }
  for (auto& [index, rows] : per_item) {
    VisualItem* item = batch.items[index];
    LOUPE_CHECK(item != nullptr, InvalidArgument, "forward: visual item ", index, " is null");
    if (!item->features) item->features = encode_vision(item->pixel_values, item->grid);
    const VisionFeatures& features = features_of(*item);
    const int64_t expected = item->grid.merged_tokens(M);
    LOUPE_CHECK(features.rows() == expected &&
                    features.deepstack.size() == config_.vision.deepstack_visual_indexes.size(),
                InvalidArgument, "forward: visual item ", index, " has ", features.rows(),
                " feature rows, its grid needs ", expected);
    for (int32_t r : rows.second)
      LOUPE_CHECK(r >= 0 && r < expected, InvalidArgument, "forward: visual row ", r, " outside item ", index,
                  " with ", expected, " rows");
  }

  // ---- embeddings, with visual rows overwritten -----------------------------------------
  Buffer x(be, act, {n, D});
  be.embedding(x, weights_->embed_tokens, upload_i32(be, std::vector<int32_t>(input_ids.begin(), input_ids.end())));
  struct Placement {
    Buffer tokens, rows;
    const VisionFeatures* features;
    int64_t count;
  };
  std::vector<Placement> placements;
  for (auto& [index, rows] : per_item) {
    Placement p{upload_i32(be, rows.first), upload_i32(be, rows.second), &features_of(*batch.items[index]),
                int64_t(rows.first.size())};
    Buffer tmp(be, act, {p.count, D});
    be.gather_rows(tmp, p.features->main, p.rows);
    be.scatter_rows(x, p.tokens, tmp, /*accumulate=*/false);
    placements.push_back(std::move(p));
  }

  // ---- attention metadata -----------------------------------------------------------------
  std::vector<int32_t> q_start(B), q_len(B), kv_len(B), slots(B * max_len, 0);
  for (int64_t b = 0, start = 0; b < B; ++b) {
    q_start[b] = int32_t(start);
    q_len[b] = batch.extend_seq_lens[b];
    kv_len[b] = batch.seq_lens[b];
    std::copy(batch.kv_slots[b], batch.kv_slots[b] + batch.seq_lens[b], slots.begin() + b * max_len);
    start += q_len[b];
  }
  Buffer q_start_d = upload_i32(be, q_start), q_len_d = upload_i32(be, q_len), kv_len_d = upload_i32(be, kv_len);
  Buffer slots_d = upload_i32(be, slots), loc_d = upload_i32(be, batch.out_cache_loc);
  Buffer cos = upload_f32(be, rope.cos, {n, rope.half}), sin = upload_f32(be, rope.sin, {n, rope.half});

  DecoderStep step;
  step.cos = cos;
  step.sin = sin;
  step.out_cache_loc = loc_d;
  step.attention.q_start = q_start_d;
  step.attention.q_len = q_len_d;
  step.attention.kv_len = kv_len_d;
  step.attention.kv_slots = slots_d.tensor().view({B, max_len});
  step.attention.batch = int(B);
  step.attention.max_q_len = *std::max_element(q_len.begin(), q_len.end());
  step.attention.max_kv_len = int(max_len);
  step.attention.scale = 1.0f / std::sqrt(float(tc.head_dim));
  const int64_t levels = int64_t(config_.vision.deepstack_visual_indexes.size());
  if (!placements.empty() && text_variant.deepstack)
    step.after_layer = [&](int layer, Tensor hidden) {
      if (layer >= levels) return;
      for (const Placement& p : placements) {
        Buffer tmp(be, act, {p.count, D});
        be.gather_rows(tmp, p.features->deepstack[layer], p.rows);
        be.scatter_rows(hidden, p.tokens, tmp, /*accumulate=*/true);
      }
    };
  run_decoder(be, *weights_, tc, *batch.kv_cache, x, step);

  // ---- final norm and logits of the last new token of each sequence ------------------------
  std::vector<int32_t> last(B);
  for (int64_t b = 0; b < B; ++b) last[b] = q_start[b] + q_len[b] - 1;
  Buffer hidden_last(be, act, {B, D});
  be.gather_rows(hidden_last, x, upload_i32(be, last));
  if (!eager_hidden_.tensor().data || eager_hidden_.tensor().dim(0) != B) eager_hidden_ = Buffer(be, act, {B, D});
  be.rms_norm(eager_hidden_, hidden_last, weights_->final_norm, float(tc.rms_norm_eps));
  StepOutput out;
  if (want_hidden) out.hidden = eager_hidden_;
  if (can_generate()) {
    if (!eager_logits_.tensor().data || eager_logits_.tensor().dim(0) != B)
      eager_logits_ = Buffer(be, act, {B, tc.vocab_size});
    be.linear(eager_logits_, eager_hidden_, weights_->lm_head, nullptr);
    out.logits = eager_logits_;
  }
  return out;
}

}  // namespace loupe::model
