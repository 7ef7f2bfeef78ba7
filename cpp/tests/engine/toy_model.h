#pragma once
// A deterministic stand-in model for scheduler tests: the "KV" of a token is a 64-bit
// state mixed from the previous token's state (read through kv_slots), a far earlier
// token's state, the token's embedding (vision features for visual rows) and its three
// M-RoPE positions. Any wrong slot, stale or missing KV, wrong position or wrong visual
// row changes every later token, so batching/caching bugs show up as different outputs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "core/error.h"
#include "engine/model_runner.h"
#include "engine/token_key.h"

namespace loupe::engine::testing {

class ToyModel : public ModelRunner {
 public:
  static constexpr int32_t kVocab = 97;
  static constexpr int32_t kImagePad = 90;
  static constexpr int32_t kVideoPad = 91;
  static constexpr int32_t kVisionStart = 92;
  static constexpr int32_t kVisionEnd = 93;
  static constexpr int32_t kPatchDim = 3;

  ToyModel() {
    info_.vocab_size = kVocab;
    info_.image_token_id = kImagePad;
    info_.video_token_id = kVideoPad;
    info_.spatial_merge = 2;
    info_.patch_dim = kPatchDim;
    info_.kv_bytes_per_token = 64;
    info_.generation_defaults.temperature = 0;
    info_.generation_defaults.max_new_tokens = 8;
  }

  const RunnerInfo& info() const override { return info_; }
  size_t free_memory() const override { return size_t(1) << 20; }
  void allocate_kv(int32_t capacity) override {
    kv_.assign(size_t(capacity), 0);
    written_.assign(size_t(capacity), 0);
  }

  // get_rope_index for images/videos (t-major, then h, w over merged tokens).
  PromptPositions positions(const std::vector<int32_t>& ids, const std::vector<VisualItem>& items) override {
    const size_t n = ids.size();
    PromptPositions out;
    out.positions.assign(3 * n, 0);
    int32_t next = 0;
    size_t item = 0;
    for (size_t i = 0; i < n;) {
      if (ids[i] != kImagePad && ids[i] != kVideoPad) {
        for (int a = 0; a < 3; ++a) out.positions[a * n + i] = next;
        ++next, ++i;
        continue;
      }
      const GridTHW g = items.at(item++).grid;
      const int32_t gh = int32_t(g.h / 2), gw = int32_t(g.w / 2), count = int32_t(g.t) * gh * gw;
      int32_t top = next;
      for (int32_t r = 0; r < count; ++r, ++i) {
        const int32_t p[3] = {next + r / (gh * gw), next + (r / gw) % gh, next + r % gw};
        for (int a = 0; a < 3; ++a) {
          out.positions[a * n + i] = p[a];
          top = std::max(top, p[a]);
        }
      }
      next = top + 1;
    }
    out.delta = next - int32_t(n);
    return out;
  }

  void forward(Step& step, std::vector<float>& logits) override {
    const ForwardBatch& batch = step.batch;
    const int call = ++forward_calls;
    if (fail_on_call == call) throw Error(ErrorKind::Internal, "toy model failure injected");
    if (step_delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(step_delay_us));
    const size_t n = step.input_ids.size();
    LOUPE_CHECK(step.positions.size() == 3 * n && batch.out_cache_loc.size() == n && batch.visual_item.size() == n &&
                    batch.visual_row.size() == n,
                Internal, "inconsistent step batch");
    for (VisualItem* item : batch.items) {
      if (item->features) continue;
      ++vision_calls;
      item->features = encode(*item);
      item->feature_bytes = static_cast<const std::vector<uint64_t>*>(item->features.get())->size() * 8;
      item->vision_ms = 0.001;
    }
    logits.assign(size_t(batch.batch_size) * kVocab, 0.0f);
    size_t tok = 0;
    for (int32_t b = 0; b < batch.batch_size; ++b) {
      LOUPE_CHECK(batch.seq_lens[b] == batch.extend_prefix_lens[b] + batch.extend_seq_lens[b], Internal, "seq_lens");
      if (batch.mode == ForwardMode::Decode) LOUPE_CHECK(batch.extend_seq_lens[b] == 1, Internal, "decode of >1 token");
      const int32_t* slots = batch.kv_slots[b];
      uint64_t state = 0;
      for (int32_t j = 0; j < batch.extend_seq_lens[b]; ++j, ++tok) {
        const int32_t i = batch.extend_prefix_lens[b] + j;
        const int32_t slot = slots[i];
        LOUPE_CHECK(slot == batch.out_cache_loc[tok] && slot > 0, Internal, "slot table disagrees with out_cache_loc");
        const uint64_t prev = i == 0 ? 0x5eed : read(slots[i - 1]);
        const uint64_t far = i < 2 ? 0 : read(slots[i / 2]);
        uint64_t embed;
        if (batch.visual_item[tok] >= 0) {
          const auto& rows = *static_cast<const std::vector<uint64_t>*>(batch.items.at(size_t(batch.visual_item[tok]))->features.get());
          embed = rows.at(size_t(batch.visual_row[tok]));
        } else {  // generated placeholder ids are plain text tokens, as in HF decode
          embed = mix64(uint64_t(step.input_ids[tok]) * 0x100000001b3ull);
        }
        const uint64_t pos = uint64_t(step.positions[tok]) * 0x1f1f + uint64_t(step.positions[n + tok]) * 0x3e3e3 +
                             uint64_t(step.positions[2 * n + tok]) * 0x7c7c7c7;
        state = mix64(prev ^ mix64(far + 0x77) ^ mix64(embed) ^ mix64(pos + 1));
        kv_[size_t(slot)] = state;
        written_[size_t(slot)] = 1;
      }
      for (int32_t v = 0; v < kVocab; ++v)
        logits[size_t(b) * kVocab + size_t(v)] = float(mix64(state ^ uint64_t(v)) >> 40) / float(1 << 21);
    }
  }

  std::atomic<int> forward_calls{0};
  std::atomic<int> vision_calls{0};
  int fail_on_call = 0;     // 1-based forward call that throws
  int step_delay_us = 0;

 private:
  uint64_t read(int32_t slot) const {
    LOUPE_CHECK(slot > 0 && size_t(slot) < kv_.size() && written_[size_t(slot)], Internal, "read of unwritten KV slot ", slot);
    return kv_[size_t(slot)];
  }
  static std::shared_ptr<const void> encode(const VisualItem& item) {
    const size_t patches = size_t(item.grid.patches());
    auto rows = std::make_shared<std::vector<uint64_t>>(patches / 4);
    for (size_t r = 0; r < rows->size(); ++r) {
      uint64_t h = 0x9e37;
      for (size_t k = 0; k < 4 * kPatchDim; ++k) {
        uint32_t bits;
        std::memcpy(&bits, &item.pixel_values[r * 4 * kPatchDim + k], 4);
        h = mix64(h ^ bits);
      }
      (*rows)[r] = h;
    }
    return rows;
  }

  RunnerInfo info_;
  std::vector<uint64_t> kv_;
  std::vector<uint8_t> written_;
};

}  // namespace loupe::engine::testing
