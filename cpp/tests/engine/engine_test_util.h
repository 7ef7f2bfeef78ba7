#pragma once
// Prompts, attachments and engine helpers shared by the engine tests and benchmark.
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "loupe/engine.h"
#include "toy_model.h"

namespace loupe::engine::testing {

struct Case {
  std::vector<int32_t> ids;
  std::vector<VisualAttachment> visuals;
};

inline VisualAttachment toy_image(int32_t h, int32_t w, float seed, int32_t t = 1,
                                  VisualKind kind = VisualKind::Image) {
  VisualAttachment a;
  a.kind = kind;
  a.grid = {t, h, w};
  a.pixel_values.resize(size_t(t) * h * w * ToyModel::kPatchDim);
  for (size_t i = 0; i < a.pixel_values.size(); ++i) a.pixel_values[i] = std::sin(seed * 7.3f + float(i) * 0.61f);
  a.preprocess_key = "toy";
  return a;
}

inline std::vector<int32_t> toy_text(int32_t len, int32_t seed) {
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < len; ++i) ids.push_back((seed * 31 + i * 13 + i * i) % 89);
  return ids;
}

// prefix text, <vision_start>, placeholders for `image`, <vision_end>, suffix text
inline Case toy_image_case(std::vector<int32_t> prefix, VisualAttachment image, std::vector<int32_t> suffix) {
  Case c;
  c.ids = std::move(prefix);
  c.ids.push_back(ToyModel::kVisionStart);
  const int32_t pads = int32_t(image.grid.patches() / 4);
  const int32_t pad = image.kind == VisualKind::Image ? ToyModel::kImagePad : ToyModel::kVideoPad;
  c.ids.insert(c.ids.end(), size_t(pads), pad);
  c.ids.push_back(ToyModel::kVisionEnd);
  c.ids.insert(c.ids.end(), suffix.begin(), suffix.end());
  c.visuals.push_back(std::move(image));
  return c;
}

inline Request make_request(const Case& c, int32_t max_new = 8, std::optional<SamplingParams> sampling = {}) {
  Request r;
  r.token_ids = c.ids;
  r.visuals = c.visuals;
  SamplingParams p = sampling ? *sampling : SamplingParams{};
  if (!sampling) p.temperature = 0;
  p.max_new_tokens = max_new;
  r.sampling = p;
  return r;
}

inline EngineOptions toy_options(int32_t kv_slots = 4096) {
  EngineOptions o;
  o.kv_cache_bytes = size_t(kv_slots) * 64;
  return o;
}

inline std::unique_ptr<Engine> toy_engine(const EngineOptions& options, ToyModel** model = nullptr) {
  auto toy = std::make_unique<ToyModel>();
  if (model) *model = toy.get();
  return Engine::create(std::move(toy), options);
}

// A toy engine whose forward steps each take `step_delay_us`, so requests overlap in time.
inline std::unique_ptr<Engine> slow_toy_engine(const EngineOptions& options, int step_delay_us) {
  ToyModel* toy = nullptr;
  auto engine = toy_engine(options, &toy);
  toy->step_delay_us = step_delay_us;
  return engine;
}

// Submits every case at once and waits for all results.
inline std::vector<Result> run_all(Engine& engine, const std::vector<Case>& cases, int32_t max_new = 8) {
  std::vector<RequestHandle> handles;
  for (const auto& c : cases) handles.push_back(engine.submit(make_request(c, max_new)));
  std::vector<Result> results;
  for (auto& h : handles) results.push_back(h.wait());
  return results;
}

// Waits until the scheduler went idle and reports whether every KV slot is accounted for
// (free or held by the prefix cache): no slot leaked by any request.
inline bool idle_without_leaks(Engine& engine) {
  for (int i = 0; i < 400; ++i) {
    EngineStats s = engine.stats();
    if (s.running == 0 && s.waiting == 0 && s.kv_free_tokens + s.kv_cached_tokens == s.kv_capacity_tokens) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace loupe::engine::testing
