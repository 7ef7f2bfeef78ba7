// N images x 3 prompts (caption, keywords, OCR), all submitted at once, run twice in one
// process: prefix cache on, then off. Reports the radix hit rate, the vision-feature cache
// hits and the throughput of both runs, and checks that both runs produced the same tokens.
//
//   bench_prefix_cache [--model DIR] [--images N] [--new-tokens T] [--device cpu|cuda] [--threads K]
//
// Images come from the golden kit's cases (4 distinct ones); beyond that, copies with a
// per-image pixel offset stand in for new photos of the same size.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "golden_inputs.h"
#include "loupe/engine.h"

using namespace loupe;
using namespace loupe::engine::testing;

namespace {

struct Options {
  std::string model = golden_dir() + "/models/tiny-tied";
  int images = 8;
  int new_tokens = 16;
  std::string device = "cpu";
  int threads = 0;
};

// Prompt pieces of the golden chat template around one image (token ids of the golden
// tokenizer: system header, <|vision_start|> ... <|vision_end|>, instruction, assistant header).
const std::vector<int32_t> kHead = {2049, 84, 82, 268, 198, 2057};
const std::vector<int32_t> kTail = {2050, 198, 2049, 389, 274, 284, 382, 83, 198};
const std::vector<std::vector<int32_t>> kInstructions = {
    {912, 669, 391, 13},                        // caption
    {1646, 1082, 296, 703, 270, 79, 69, 13},    // keywords
    {54, 1582, 68, 220, 305, 269, 577, 13},     // OCR
};

std::vector<VisualAttachment> base_images() {
  std::vector<VisualAttachment> out;
  for (const char* name : {"one_image", "two_images", "long_prompt"})
    for (auto& v : golden_request(name).visuals) out.push_back(std::move(v));
  return out;
}

std::vector<Request> workload(const Options& o) {
  auto bases = base_images();
  std::vector<Request> requests;
  for (int i = 0; i < o.images; ++i) {
    VisualAttachment image = bases[size_t(i) % bases.size()];
    const float offset = float(i / int(bases.size())) * 1e-3f;
    for (float& v : image.pixel_values) v += offset;
    image.preprocess_key = "bench";
    const int64_t tokens = image.grid.merged_tokens(2);
    for (const auto& instruction : kInstructions) {
      Request r;
      r.token_ids = kHead;
      r.token_ids.insert(r.token_ids.end(), size_t(tokens), 2060);
      r.token_ids.push_back(2058);
      r.token_ids.insert(r.token_ids.end(), instruction.begin(), instruction.end());
      r.token_ids.insert(r.token_ids.end(), kTail.begin(), kTail.end());
      r.visuals.push_back(image);
      SamplingParams p;
      p.temperature = 0;
      p.max_new_tokens = o.new_tokens;
      r.sampling = p;
      requests.push_back(std::move(r));
    }
  }
  return requests;
}

struct RunReport {
  double seconds = 0;
  EngineStats stats;
  std::vector<std::vector<int32_t>> tokens;
  double prefill_ms = 0, vision_ms = 0;
};

RunReport run(const Options& o, bool cache) {
  EngineOptions eo;
  eo.device = o.device;
  eo.threads = o.threads;
  eo.kv_cache_bytes = size_t(256) << 20;
  eo.prefix_cache = cache;
  eo.vision_cache_bytes = cache ? size_t(256) << 20 : 0;
  auto engine = Engine::open(o.model, eo);
  auto requests = workload(o);
  RunReport report;
  const auto start = std::chrono::steady_clock::now();
  std::vector<RequestHandle> handles;
  for (auto& r : requests) handles.push_back(engine->submit(std::move(r)));
  for (auto& h : handles) {
    const Result r = h.wait();
    if (!r.ok()) std::fprintf(stderr, "request %llu failed: %s\n", (unsigned long long)r.id, r.error.c_str());
    report.tokens.push_back(r.token_ids);
    report.prefill_ms += r.timings.prefill_ms;
    report.vision_ms += r.timings.vision_ms;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.stats = engine->stats();
  return report;
}

void print(const char* label, const RunReport& r, int requests) {
  const auto& s = r.stats;
  const double lookups = double(s.prefix_hit_tokens + s.prefix_miss_tokens);
  std::printf("%-10s %8.3f s  %7.2f req/s  %8.1f gen tok/s  prefill tokens computed %7lld  radix hit rate %5.1f%%  "
              "vision cache hits %lld  sum vision ms %.1f\n",
              label, r.seconds, requests / r.seconds, double(s.generated_tokens) / r.seconds,
              (long long)s.prefill_tokens, lookups > 0 ? 100.0 * double(s.prefix_hit_tokens) / lookups : 0.0,
              (long long)s.vision_cache_hits, r.vision_ms);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") o.model = value;
    else if (flag == "--images") o.images = std::stoi(value);
    else if (flag == "--new-tokens") o.new_tokens = std::stoi(value);
    else if (flag == "--device") o.device = value;
    else if (flag == "--threads") o.threads = std::stoi(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    const int requests = o.images * 3;
    std::printf("workload: %d images x 3 prompts = %d requests, %d new tokens each, model %s, device %s\n",
                o.images, requests, o.new_tokens, o.model.c_str(), o.device.c_str());
    RunReport on = run(o, true);
    RunReport off = run(o, false);
    print("cache on", on, requests);
    print("cache off", off, requests);
    std::printf("speedup %.2fx; outputs %s\n", off.seconds / on.seconds,
                on.tokens == off.tokens ? "identical" : "DIFFER");
    return on.tokens == off.tokens ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prefix_cache: %s\n", e.what());
    return 1;
  }
}
