// End-to-end captioning throughput through the Engine: N images, each a chat-shaped prompt
// around one image's placeholder run, M new tokens per image (no stop tokens, so every
// request generates exactly M), all submitted at once so continuous batching runs as in
// an ingest burst. Prints images/s and tokens/s beside the physical limit of the
// checkpoint's shapes on this device, plus the engine's per-stage time.
//
//   bench_caption --model DIR [--make-random 2b|8b] [--device cuda:0] [--images 256]
//                 [--new-tokens 100] [--image-size 448] [--max-running 64] [--decode-graphs on|off]
//                 [--sampling greedy|default] [--peak-tflops 989] [--peak-gbps 3350]
//
// --make-random writes a random-weight checkpoint with the released shapes to DIR first
// (when DIR has no config.json), without PyTorch. The images are synthetic pixel values
// (preprocessing is CPU work outside the engine and is measured by bench_cpu); each image
// differs, so neither the prefix cache nor the vision cache can share work between them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "cuda_test_env.h"
#include "loupe/engine.h"
#include "model/config.h"
#include "random_checkpoint.h"

namespace {

using namespace loupe;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, make_random, device = "cuda:0", sampling = "greedy", decode_graphs = "on";
  int images = 256, new_tokens = 100, image_size = 448, max_running = 64;
  double peak_tflops = 989.0, peak_gbps = 3350.0;  // H100 SXM datasheet
};

[[noreturn]] void usage(const char* error) {
  std::fprintf(stderr,
               "bench_caption: %s\nusage: bench_caption --model DIR [--make-random 2b|8b] [--device cuda:0]\n"
               "         [--images 256] [--new-tokens 100] [--image-size 448] [--max-running 64] [--decode-graphs on|off]\n"
               "         [--sampling greedy|default] [--peak-tflops X] [--peak-gbps Y]\n",
               error);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--model") a.model = v;
    else if (k == "--make-random") a.make_random = v;
    else if (k == "--device") a.device = v;
    else if (k == "--sampling") a.sampling = v;
    else if (k == "--decode-graphs") a.decode_graphs = v;
    else if (k == "--images") a.images = std::stoi(v);
    else if (k == "--new-tokens") a.new_tokens = std::stoi(v);
    else if (k == "--image-size") a.image_size = std::stoi(v);
    else if (k == "--max-running") a.max_running = std::stoi(v);
    else if (k == "--peak-tflops") a.peak_tflops = std::stod(v);
    else if (k == "--peak-gbps") a.peak_gbps = std::stod(v);
    else usage(("unknown option " + k).c_str());
  }
  if (a.model.empty()) usage("--model is required");
  if (a.sampling != "greedy" && a.sampling != "default") usage("--sampling must be greedy or default");
  if (a.decode_graphs != "on" && a.decode_graphs != "off") usage("--decode-graphs must be on or off");
  if (a.images < 1 || a.new_tokens < 1 || a.image_size < 32 || a.max_running < 1) usage("sizes must be positive");
  return a;
}

// Matmul parameters touched per text token (all layers and the LM head), per image in
// the vision tower, and FLOPs of one image through the tower (GEMMs + attention).
struct Cost {
  double text_params = 0;       // per token
  double text_weight_bytes = 0; // read once per decode step
  double vision_flops = 0;      // per image
};

Cost model_cost(const model::ModelConfig& c, int64_t patches) {
  const auto& t = c.text;
  const auto& v = c.vision;
  Cost cost;
  const double layer = double((t.num_attention_heads + 2 * t.num_key_value_heads) * t.head_dim * t.hidden_size) +
                       double(t.num_attention_heads * t.head_dim * t.hidden_size) +
                       3.0 * double(t.intermediate_size * t.hidden_size);
  cost.text_params = double(t.num_hidden_layers) * layer + double(t.vocab_size * t.hidden_size);
  cost.text_weight_bytes = 2.0 * cost.text_params;  // bf16
  const double D = double(v.hidden_size), F = double(v.intermediate_size), N = double(patches);
  const double block = 4.0 * D * D + 2.0 * D * F;
  const double merged = 4.0 * D, mergers = 1.0 + double(v.deepstack_visual_indexes.size());
  const double merger = merged * merged + merged * double(t.hidden_size);
  cost.vision_flops = 2.0 * N * (double(v.patch_dim()) * D + double(v.depth) * block) +
                      4.0 * N * N * D * double(v.depth) + 2.0 * (N / 4.0) * merger * mergers;
  return cost;
}

}  // namespace

int main(int argc, char** argv) {
  loupe::test::prepare_cuda_test_env();
  const Args a = parse(argc, argv);
  try {
    if (!a.make_random.empty() && !std::filesystem::exists(std::filesystem::path(a.model) / "config.json")) {
      const auto t0 = Clock::now();
      const size_t bytes = bench::write_random_checkpoint(a.model, a.make_random);
      std::printf("wrote random %s checkpoint to %s: %.2f GB in %.1f s\n", a.make_random.c_str(), a.model.c_str(),
                  double(bytes) / 1e9, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    const model::ModelConfig config = model::load_model_config(a.model);
    const int32_t patch = int32_t(config.vision.patch_size), merge = int32_t(config.vision.spatial_merge_size);
    const int32_t side = a.image_size / (patch * merge) * merge;  // patches per side, a multiple of merge
    LOUPE_CHECK(side >= merge, InvalidArgument, "--image-size ", a.image_size, " is below one merged patch");
    const GridTHW grid{1, side, side};
    const int64_t patches = int64_t(side) * side, merged_tokens = patches / (merge * merge);
    const int64_t patch_dim = config.vision.patch_dim();

    EngineOptions options;
    options.device = a.device;
    options.max_running = a.max_running;
    options.kv_cache_fraction = 0.5;
    options.decode_graphs = a.decode_graphs == "on";
    auto t_load = Clock::now();
    auto engine = Engine::open(a.model, options);
    const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

    // Chat-shaped prompt: <|im_start|>user <vision_start> pads <vision_end> text <|im_end|><|im_start|>assistant
    const int32_t im_start = 151644 < config.text.vocab_size ? 151644 : 1, im_end = im_start + 1;
    std::vector<int32_t> head{im_start, 872, 198, config.vision_start_token_id};
    std::vector<int32_t> tail{config.vision_end_token_id, 74785, 279, 2168, 13, im_end, 198, im_start, 77091, 198};
    for (int32_t& id : head) id = std::min<int32_t>(id, int32_t(config.text.vocab_size) - 1);
    for (int32_t& id : tail) id = std::min<int32_t>(id, int32_t(config.text.vocab_size) - 1);
    SamplingParams sampling = engine->default_sampling();
    if (a.sampling == "greedy") sampling.temperature = 0.0f;
    sampling.max_new_tokens = a.new_tokens;
    sampling.stop_token_ids.clear();  // exactly new_tokens per image

    std::printf("model %s on %s: %d images of %dx%d px (%lld patches, %lld visual tokens), %d new tokens each, "
                "sampling %s, max_running %d; engine load %.1f s\n",
                a.model.c_str(), a.device.c_str(), a.images, side * patch, side * patch, (long long)patches,
                (long long)merged_tokens, a.new_tokens, a.sampling.c_str(), a.max_running, load_s);

    std::mt19937 rng(1);
    std::uniform_real_distribution<float> pixel(-1.8f, 2.1f);  // CLIP-normalised range
    std::vector<Request> requests(size_t(a.images));
    for (auto& r : requests) {
      r.token_ids = head;
      r.token_ids.insert(r.token_ids.end(), size_t(merged_tokens), config.image_token_id);
      r.token_ids.insert(r.token_ids.end(), tail.begin(), tail.end());
      VisualAttachment v;
      v.grid = grid;
      v.pixel_values.resize(size_t(patches * patch_dim));
      for (float& x : v.pixel_values) x = pixel(rng);
      v.preprocess_key = "bench";
      r.visuals.push_back(std::move(v));
      r.sampling = sampling;
    }
    const int64_t prompt_tokens = int64_t(requests[0].token_ids.size());

    // Warm-up: one request (kernels, cuBLASLt heuristics, pool).
    {
      Request warm;  // requests are move-only (each owns its state): copy the inputs
      warm.token_ids = requests[0].token_ids;
      warm.visuals = requests[0].visuals;
      warm.sampling = requests[0].sampling;
      warm.visuals[0].pixel_values[0] += 0.5f;
      warm.sampling->max_new_tokens = 2;
      Result r = engine->submit(std::move(warm)).wait();
      LOUPE_CHECK(r.ok(), Internal, "warm-up request failed: ", r.error);
    }
    const EngineStats before = engine->stats();
    const auto t0 = Clock::now();
    std::vector<RequestHandle> handles;
    for (auto& r : requests) handles.push_back(engine->submit(std::move(r)));
    double vision_ms = 0, prefill_ms = 0, decode_ms = 0;
    int64_t generated = 0, failed = 0;
    for (auto& h : handles) {
      const Result r = h.wait();
      if (!r.ok() || int(r.token_ids.size()) != a.new_tokens) {
        if (failed++ == 0)
          std::fprintf(stderr, "request failed: %s (%zu tokens)\n", r.error.c_str(), r.token_ids.size());
      }
      generated += int64_t(r.token_ids.size());
      vision_ms += r.timings.vision_ms;
      prefill_ms += r.timings.prefill_ms;
      decode_ms += r.timings.decode_ms;
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const EngineStats after = engine->stats();

    const Cost cost = model_cost(config, patches);
    const double flops = double(a.images) * (cost.vision_flops + 2.0 * cost.text_params * double(prompt_tokens + a.new_tokens));
    const double compute_s = flops / (a.peak_tflops * 1e12);
    const double steps = std::ceil(double(a.images) / a.max_running) * a.new_tokens;
    const double memory_s = steps * cost.text_weight_bytes / (a.peak_gbps * 1e9);
    const double limit_s = std::max(compute_s, memory_s);
    const double images_s = a.images / wall, limit_images_s = a.images / limit_s;
    std::printf("\n%-34s %12s %14s %8s\n", "captioning", "measured", "limit", "%limit");
    std::printf("%-34s %12.2f %14.2f %7.1f%%\n", "images/s", images_s, limit_images_s, 100.0 * images_s / limit_images_s);
    std::printf("%-34s %12.0f %14s %8s\n", "generated tokens/s", double(generated) / wall, "-", "-");
    std::printf("%-34s %12.2f\n", "wall s", wall);
    std::printf("limit = max(compute %.2f s: %.1f TFLOP at %.0f TFLOP/s, decode weight reads %.2f s: %.0f steps x %.2f GB"
                " at %.0f GB/s)\n",
                compute_s, flops / 1e12, a.peak_tflops, memory_s, steps, cost.text_weight_bytes / 1e9, a.peak_gbps);
    std::printf("per image (mean, wall time of the steps it shared): vision %.1f ms, prefill %.1f ms, decode %.1f ms\n",
                vision_ms / a.images, prefill_ms / a.images, decode_ms / a.images);
    std::printf("engine: %lld prefill steps (%lld tokens), %lld decode steps; %lld requests failed\n",
                (long long)(after.prefill_steps - before.prefill_steps),
                (long long)(after.prefill_tokens - before.prefill_tokens),
                (long long)(after.decode_steps - before.decode_steps),
                (long long)failed);
    return failed == 0 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_caption: %s: %s\n", error_kind_name(e.kind()), e.what());
    return 1;
  }
}
