#include "greedy_generate.h"

#include <algorithm>
#include <numeric>

#include "model/kv_cache.h"
#include "model/rope_index.h"

namespace loupe::model {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

engine::VisualTokenMap map_visual_tokens(std::span<const int32_t> input_ids, const std::vector<GridTHW>& image_grids,
                                         const std::vector<GridTHW>& video_grids, const ModelConfig& config) {
  std::vector<engine::VisualItem> items;
  for (const auto* grids : {&image_grids, &video_grids})
    for (const GridTHW& g : *grids) {
      engine::VisualItem item;
      item.kind = grids == &image_grids ? VisualKind::Image : VisualKind::Video;
      item.grid = g;
      items.push_back(item);
    }
  engine::RunnerInfo info;
  info.image_token_id = config.image_token_id;
  info.video_token_id = config.video_token_id;
  info.spatial_merge = int32_t(config.vision.spatial_merge_size);
  return engine::map_visual_tokens(input_ids, items, info);
}

ForwardBatch single_decode_batch(int64_t len, const int32_t* slots, KVCache& cache) {
  ForwardBatch batch;
  batch.mode = ForwardMode::Decode;
  batch.batch_size = 1;
  batch.seq_lens = {int32_t(len + 1)};
  batch.extend_prefix_lens = {int32_t(len)};
  batch.extend_seq_lens = {1};
  batch.kv_slots = {slots};
  batch.out_cache_loc = {slots[len]};
  batch.kv_cache = &cache;
  return batch;
}

int32_t argmax(std::span<const float> logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

GenerateResult greedy_generate(Qwen3VLModel& model, const Prompt& prompt, const GenerateOptions& options) {
  const ModelConfig& config = model.config();
  const int64_t L = int64_t(prompt.input_ids.size());
  LOUPE_CHECK(L > 0, InvalidArgument, "empty prompt");
  std::vector<GridTHW> image_grids, video_grids;
  for (const auto& v : prompt.images) image_grids.push_back(v.grid);
  for (const auto& v : prompt.videos) video_grids.push_back(v.grid);
  const RopePositions rope = get_rope_index(prompt.input_ids, image_grids, video_grids, config);
  const engine::VisualTokenMap map = map_visual_tokens(prompt.input_ids, image_grids, video_grids, config);

  std::vector<VisualItem> items(prompt.images);
  items.insert(items.end(), prompt.videos.begin(), prompt.videos.end());
  for (size_t k = 0; k < items.size(); ++k) items[k].hash = k;
  std::vector<VisualItem*> item_ptrs;
  for (VisualItem& it : items) item_ptrs.push_back(&it);

  GenerateResult result;
  result.rope_delta = rope.delta;
  auto t0 = std::chrono::steady_clock::now();
  for (VisualItem& it : items) it.features = model.encode_vision(it.pixel_values, it.grid);
  result.vision_ms = ms_since(t0);

  const int64_t capacity = L + options.max_new_tokens;
  KVCache cache(model.backend(), config, capacity);
  std::vector<int32_t> slots(capacity);
  std::iota(slots.begin(), slots.end(), 0);

  // Prefill, possibly in chunks; positions are sliced from the whole-prompt table.
  t0 = std::chrono::steady_clock::now();
  const int64_t chunk = options.prefill_chunk > 0 ? options.prefill_chunk : L;
  std::vector<float> logits;
  for (int64_t start = 0; start < L; start += chunk) {
    const int64_t n = std::min(chunk, L - start);
    ForwardBatch batch;
    batch.mode = ForwardMode::Extend;
    batch.batch_size = 1;
    batch.seq_lens = {int32_t(start + n)};
    batch.extend_prefix_lens = {int32_t(start)};
    batch.extend_seq_lens = {int32_t(n)};
    batch.kv_slots = {slots.data()};
    batch.out_cache_loc.assign(slots.begin() + start, slots.begin() + start + n);
    batch.visual_item.assign(map.visual_item.begin() + start, map.visual_item.begin() + start + n);
    batch.visual_row.assign(map.visual_row.begin() + start, map.visual_row.begin() + start + n);
    batch.items = item_ptrs;
    batch.kv_cache = &cache;
    std::vector<int32_t> pos(3 * n);
    for (int axis = 0; axis < 3; ++axis)
      std::copy_n(rope.positions.begin() + axis * L + start, n, pos.begin() + axis * n);
    logits = model.forward(std::span(prompt.input_ids).subspan(start, n), pos, batch);
  }
  result.prefill_ms = ms_since(t0);
  result.prefill_logits = logits;

  t0 = std::chrono::steady_clock::now();
  int64_t len = L;
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const int32_t next = argmax(logits);
    result.tokens.push_back(next);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) break;
    if (step + 1 == options.max_new_tokens) break;
    ForwardBatch batch = single_decode_batch(len, slots.data(), cache);
    const RopePositions pos = decode_positions(len, 1, rope.delta);
    const int32_t id = next;
    logits = model.forward(std::span(&id, 1), pos.positions, batch);
    ++len;
  }
  result.decode_ms = ms_since(t0);
  return result;
}

}  // namespace loupe::model
