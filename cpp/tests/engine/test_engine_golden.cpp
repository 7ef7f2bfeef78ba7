// The real Qwen3-VL model through the engine on the golden kit: every scheduling mode
// must give HF's greedy tokens (tiny fp32 checkpoint, CPU).
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "golden_inputs.h"
#include "test_backend_choices.h"

using namespace loupe;
using namespace loupe::engine::testing;

namespace {

const std::vector<std::string> kCases = {"text_only", "one_image", "two_images", "video", "long_prompt"};
constexpr int32_t kNewTokens = 20;

std::string model_dir() { return golden_dir() + "/models/tiny-tied"; }

EngineOptions cpu_options() {
  EngineOptions o;
  o.device = "cpu";
  o.threads = 2;
  o.cpu_bf16_activations = loupe::test::cpu_bf16_activations();
  return o;
}

// KV budget in bytes for `tokens` slots of the tiny model (4 layers, 2 KV heads, head_dim 32, fp32 K and V).
size_t kv_bytes_for(int64_t tokens) { return size_t(tokens) * 4 * 2 * 2 * 32 * 4; }

Request greedy(Request r) {
  SamplingParams p;
  p.temperature = 0;
  p.max_new_tokens = kNewTokens;
  r.sampling = p;
  return r;
}

std::vector<Result> submit_all(Engine& engine, const std::vector<std::string>& names) {
  std::vector<RequestHandle> handles;
  for (const auto& name : names) handles.push_back(engine.submit(greedy(golden_request(name))));
  std::vector<Result> out;
  for (auto& h : handles) out.push_back(h.wait());
  return out;
}

void expect_hf(const std::vector<Result>& results, const char* mode) {
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << mode << " " << kCases[i] << ": " << results[i].error;
    EXPECT_EQ(results[i].token_ids, golden_generated_ids(kCases[i], "tiny-tied")) << mode << " " << kCases[i];
  }
}

}  // namespace

TEST(EngineGolden, AloneMatchesHf) {
  for (const auto& name : kCases) {
    EngineOptions o = cpu_options();
    o.kv_cache_bytes = kv_bytes_for(1024);
    o.prefix_cache = false;
    auto engine = Engine::open(model_dir(), o);
    Result r = engine->submit(greedy(golden_request(name))).wait();
    ASSERT_TRUE(r.ok()) << name << ": " << r.error;
    EXPECT_EQ(r.token_ids, golden_generated_ids(name, "tiny-tied")) << name;
  }
}

TEST(EngineGolden, BatchedWarmChunkedAndUnderPressureMatchHf) {
  {
    EngineOptions o = cpu_options();
    o.kv_cache_bytes = kv_bytes_for(4096);
    auto engine = Engine::open(model_dir(), o);
    expect_hf(submit_all(*engine, kCases), "batched");
    auto warm = submit_all(*engine, kCases);
    expect_hf(warm, "warm");
    for (size_t i = 0; i < warm.size(); ++i) EXPECT_EQ(warm[i].cached_tokens, warm[i].prompt_tokens - 1);
  }
  for (int32_t chunk : {7, 32}) {
    EngineOptions o = cpu_options();
    o.kv_cache_bytes = kv_bytes_for(4096);
    o.chunk_size = chunk;  // 7 splits every image span; 32 splits the long prompt
    o.max_batch_tokens = 64;
    auto engine = Engine::open(model_dir(), o);
    expect_hf(submit_all(*engine, kCases), "chunked");
  }
  {
    EngineOptions o = cpu_options();
    o.kv_cache_bytes = kv_bytes_for(700);  // long_prompt alone needs 564
    o.chunk_size = 64;
    auto engine = Engine::open(model_dir(), o);
    expect_hf(submit_all(*engine, kCases), "memory pressure");
    EXPECT_GT(engine->stats().prefix_evicted_tokens + engine->stats().retractions, 0);
  }
}

TEST(EngineGolden, SameImageOtherPromptSharesTheImagePrefix) {
  EngineOptions o = cpu_options();
  o.kv_cache_bytes = kv_bytes_for(2048);
  auto engine = Engine::open(model_dir(), o);
  Request a = greedy(golden_request("one_image"));
  Request b = greedy(golden_request("one_image"));
  const auto end = std::find(b.token_ids.begin(), b.token_ids.end(), 2058) - b.token_ids.begin();  // <|vision_end|>
  b.token_ids[size_t(end) + 1] = 1646;  // another instruction word after the image
  Request c = greedy(golden_request("one_image"));
  for (float& v : c.visuals[0].pixel_values) v = -v;  // another image, same prompt
  ASSERT_TRUE(engine->submit(std::move(a)).wait().ok());
  Result rb = engine->submit(std::move(b)).wait();
  Result rc = engine->submit(std::move(c)).wait();
  EXPECT_EQ(rb.cached_tokens, int32_t(end) + 1);
  EXPECT_EQ(rc.cached_tokens, 6);  // system header + <|vision_start|>: no visual token shared
}

// EngineOptions::cpu_bf16_activations reaches the CPU backend: both modes give HF's greedy
// tokens on the bf16 checkpoint, and anything else is refused at open, naming the choices.
TEST(EngineGolden, CpuBf16ActivationModesMatchHfAndOthersAreRefused) {
  const std::string untied = golden_dir() + "/models/tiny-untied";
  for (const char* mode : {"exact", "rounded"}) {
    EngineOptions o = cpu_options();
    o.kv_cache_bytes = kv_bytes_for(1024);
    o.cpu_bf16_activations = mode;
    auto engine = Engine::open(untied, o);
    for (const auto& name : kCases) {
      Result r = engine->submit(greedy(golden_request(name))).wait();
      ASSERT_TRUE(r.ok()) << mode << " " << name << ": " << r.error;
      EXPECT_EQ(r.token_ids, golden_generated_ids(name, "tiny-untied")) << mode << " " << name;
    }
  }
  EngineOptions bad = cpu_options();
  bad.cpu_bf16_activations = "bf16";
  try {
    Engine::open(untied, bad);
    FAIL() << "an unknown mode was accepted";
  } catch (const loupe::Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'rounded' or 'exact', not 'bf16'"), std::string::npos) << e.what();
  }
}
