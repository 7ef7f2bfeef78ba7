// loupe-run: load a Qwen3-VL checkpoint into the engine, run one greedy generation from
// token ids and preprocessed pixels, and print the generated ids with per-stage timings.
// How a person checks a checkpoint (or a golden case) by hand, on the shipped path.
//
//   loupe-run --model DIR --inputs inputs.safetensors [--max-new 16]
//   loupe-run --model DIR --ids 1,2,3 [--image pixels.safetensors]
//   loupe-run --model DIR --synthetic-image 448x448 --prompt-tokens 30   (random pixels; speed checks)
//
// Tensor files are safetensors with input_ids (I64 [L]) and/or pixel_values (F32 [N, 1536]) +
// image_grid_thw (I64 [n, 3]) and pixel_values_videos + video_grid_thw — the golden kit's
// inputs.safetensors has exactly these.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "core/error.h"
#include "loupe/engine.h"
#include "model/config.h"
#include "model/safetensors.h"

namespace {

using namespace loupe;
using namespace loupe::model;

struct Args {
  std::string model, inputs, image, ids, synthetic;
  int max_new = 16, threads = 0, chunk = 0, prompt_tokens = 30;
  bool upcast = false;
};

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "loupe-run: %s\n\n", error);
  std::fprintf(stderr,
               "usage: loupe-run --model DIR [--inputs FILE] [--ids 1,2,3] [--image FILE]\n"
               "                 [--synthetic-image HxW --prompt-tokens N] [--max-new N]\n"
               "                 [--threads N] [--prefill-chunk N] [--upcast-f32]\n");
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
      return argv[++i];
    };
    auto number = [&]() {
      const std::string v = value();
      try {
        return std::stoi(v);
      } catch (...) {
        usage(("not a number for " + flag + ": " + v).c_str());
      }
    };
    if (flag == "--model") a.model = value();
    else if (flag == "--inputs") a.inputs = value();
    else if (flag == "--image") a.image = value();
    else if (flag == "--ids") a.ids = value();
    else if (flag == "--synthetic-image") a.synthetic = value();
    else if (flag == "--prompt-tokens") a.prompt_tokens = number();
    else if (flag == "--max-new") a.max_new = number();
    else if (flag == "--threads") a.threads = number();
    else if (flag == "--prefill-chunk") a.chunk = number();
    else if (flag == "--upcast-f32") a.upcast = true;
    else if (flag == "--help" || flag == "-h") usage(nullptr);
    else usage(("unknown argument " + flag).c_str());
  }
  if (a.model.empty()) usage("--model is required");
  if (a.inputs.empty() && a.ids.empty() && a.synthetic.empty()) usage("give --inputs, --ids or --synthetic-image");
  return a;
}

// Holds a tensor file's arrays for the duration of the run.
struct Inputs {
  std::vector<int32_t> ids;
  std::vector<float> image_pixels, video_pixels;
  std::vector<GridTHW> image_grids, video_grids;

  void read(const std::string& path) {
    Checkpoint file = Checkpoint::open(path);
    auto i64 = [&](const char* name) {
      const TensorEntry* e = file.find(name);
      std::vector<int64_t> v;
      if (!e) return v;
      LOUPE_CHECK(e->dtype == DType::I64, InvalidArgument, path, ": ", name, " must be I64");
      v.resize(e->numel());
      std::memcpy(v.data(), e->data, e->nbytes);
      return v;
    };
    auto f32 = [&](const char* name) {
      const TensorEntry* e = file.find(name);
      std::vector<float> v;
      if (!e) return v;
      LOUPE_CHECK(e->dtype == DType::F32, InvalidArgument, path, ": ", name, " must be F32");
      v.resize(e->numel());
      std::memcpy(v.data(), e->data, e->nbytes);
      return v;
    };
    auto grids = [&](const char* name) {
      std::vector<GridTHW> g;
      auto v = i64(name);
      for (size_t i = 0; i + 2 < v.size(); i += 3) g.push_back({v[i], v[i + 1], v[i + 2]});
      return g;
    };
    if (auto v = i64("input_ids"); !v.empty()) ids.assign(v.begin(), v.end());
    if (file.find("pixel_values")) image_pixels = f32("pixel_values"), image_grids = grids("image_grid_thw");
    if (file.find("pixel_values_videos"))
      video_pixels = f32("pixel_values_videos"), video_grids = grids("video_grid_thw");
  }
};

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

int run(const Args& a) {
  auto t0 = std::chrono::steady_clock::now();
  EngineOptions engine_options;
  engine_options.threads = a.threads;
  if (a.chunk > 0) engine_options.chunk_size = a.chunk;
  if (a.upcast) engine_options.cpu_bf16_activations = "exact";  // what the fp32-upcast model computes
  engine_options.max_prompt_tokens = 1 << 20;                    // a hand check is bounded by the KV pool only
  engine_options.max_visual_tokens = 1 << 20;
  std::unique_ptr<Engine> engine = Engine::open(a.model, engine_options);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const ModelConfig c = load_model_config(a.model);
  std::printf("model      %s (text %lldx%lld, vision %lldx%lld, %s)\n", a.model.c_str(),
              (long long)c.text.num_hidden_layers, (long long)c.text.hidden_size, (long long)c.vision.depth,
              (long long)c.vision.hidden_size, c.tie_word_embeddings ? "tied" : "untied");
  std::printf("load       %.1f ms, peak RSS %ld MB\n", load_ms, peak_rss_mb());

  Inputs in;
  if (!a.inputs.empty()) in.read(a.inputs);
  if (!a.image.empty()) in.read(a.image);
  if (!a.ids.empty()) {
    in.ids.clear();
    std::stringstream s(a.ids);
    for (std::string tok; std::getline(s, tok, ',');) in.ids.push_back(std::stoi(tok));
  }
  if (!a.synthetic.empty()) {
    int h = 0, w = 0;
    if (std::sscanf(a.synthetic.c_str(), "%dx%d", &h, &w) != 2 || h <= 0 || w <= 0) usage("--synthetic-image wants HxW");
    const int64_t unit = c.vision.patch_size * c.vision.spatial_merge_size;
    LOUPE_CHECK(h % unit == 0 && w % unit == 0, InvalidArgument, "--synthetic-image sides must be multiples of ", unit);
    const GridTHW g{1, h / c.vision.patch_size, w / c.vision.patch_size};
    in.image_grids = {g};
    in.image_pixels.resize(g.patches() * c.vision.patch_dim());
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (float& v : in.image_pixels) v = dist(rng);
    // Plain text ids around <|vision_start|> <|image_pad|>* <|vision_end|>.
    in.ids = {1, 2, 3, c.vision_start_token_id};
    in.ids.insert(in.ids.end(), g.merged_tokens(c.vision.spatial_merge_size), c.image_token_id);
    in.ids.push_back(c.vision_end_token_id);
    for (int i = 0; i < a.prompt_tokens; ++i) in.ids.push_back(100 + i);
  }

  Request request;
  request.token_ids = in.ids;
  const int64_t dim = c.vision.patch_dim();
  auto attach = [&](const std::vector<GridTHW>& grids, const std::vector<float>& pixels, VisualKind kind,
                    const char* what) {
    int64_t off = 0;
    for (const GridTHW& g : grids) {
      LOUPE_CHECK(size_t((off + g.patches()) * dim) <= pixels.size(), InvalidArgument, what, " rows do not match its grids");
      VisualAttachment v;
      v.kind = kind;
      v.grid = g;
      v.pixel_values.assign(pixels.begin() + off * dim, pixels.begin() + (off + g.patches()) * dim);
      request.visuals.push_back(std::move(v));
      off += g.patches();
    }
    LOUPE_CHECK(size_t(off * dim) == pixels.size(), InvalidArgument, what, " rows do not match its grids");
  };
  // Images before videos, as in the golden kit's cases.
  attach(in.image_grids, in.image_pixels, VisualKind::Image, "pixel_values");
  attach(in.video_grids, in.video_pixels, VisualKind::Video, "pixel_values_videos");

  SamplingParams sampling = engine->default_sampling();  // stop ids from generation_config.json
  sampling.temperature = 0;
  sampling.top_k = 0;
  sampling.top_p = 1;
  sampling.min_p = 0;
  sampling.repetition_penalty = 1;
  sampling.presence_penalty = sampling.frequency_penalty = 0;
  sampling.max_new_tokens = a.max_new;
  request.sampling = sampling;
  const size_t images = in.image_grids.size(), videos = in.video_grids.size(), prompt_len = request.token_ids.size();
  const Result r = engine->submit(std::move(request)).wait();
  LOUPE_CHECK(r.ok(), InvalidArgument, "generation failed (", r.error_kind, "): ", r.error);
  const size_t decoded = r.token_ids.size() > 0 ? r.token_ids.size() - 1 : 0;  // the first token comes from prefill
  std::printf("prompt     %zu tokens, %zu image(s), %zu video(s)\n", prompt_len, images, videos);
  std::printf("vision     %.1f ms\n", r.timings.vision_ms);
  std::printf("prefill    %.1f ms (%.1f tokens/s)\n", r.timings.prefill_ms, prompt_len / (r.timings.prefill_ms / 1e3));
  std::printf("decode     %.1f ms for %zu tokens (%.2f tokens/s)\n", r.timings.decode_ms, decoded,
              decoded ? decoded / (r.timings.decode_ms / 1e3) : 0.0);
  std::printf("peak RSS   %ld MB\n", peak_rss_mb());
  std::printf("finish     %s\n", finish_reason_name(r.finish_reason));
  std::printf("generated ");
  for (int32_t id : r.token_ids) std::printf(" %d", id);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const loupe::Error& e) {
    std::fprintf(stderr, "loupe-run: %s error: %s\n", loupe::error_kind_name(e.kind()), e.what());
    return 1;
  }
}
