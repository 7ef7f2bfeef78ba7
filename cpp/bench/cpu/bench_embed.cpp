// bench_embed: Qwen3-VL-Embedding throughput and latency on the CPU through the public API
// (Captioner::submit_embed / embed). Two workloads, each measured at batch 1 (one request
// after another: latency) and batched (every request submitted at once, then all awaited:
// embeddings/s):
//   image  one 448x448 image, no text, the default instruction
//   text   short queries (~8 words) with kTextInstruction
// The prefix cache and the vision cache are off, so every request is computed in full, like
// the HF reference that bench_hf_embed.py runs on the same checkpoint. Writes key/value
// lines (--out-tsv) and the vectors with their inputs (--vectors, JSON) so bench_hf_embed.py
// can check that HF's vectors for the same inputs agree.
//
//   bench_embed --model DIR --image FILE [--warmup-image FILE] [--threads N]
//               [--bf16-activations rounded|exact] [--images N] [--texts N] [--latency-runs N]
//               [--out-tsv FILE] [--vectors FILE]
// --warmup-image: a small image for the warm-up request (pages the vision weights in cheaply);
// default --image.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loupe/captioner.h"

namespace {

using namespace loupe;
using Clock = std::chrono::steady_clock;

// Keep identical to TEXT_INSTRUCTION and QUERIES in bench_hf_embed.py (it also checks the
// texts it reads back from --vectors).
const char* kTextInstruction = "Retrieve images that match the user's query.";
const std::vector<std::string> kQueries = {
    "a red bicycle leaning against a brick wall",
    "two dogs playing in the snow at dusk",
    "a bowl of ramen with a soft boiled egg",
    "an old lighthouse on a rocky coast",
    "children flying kites in a green park",
    "a busy night market with paper lanterns",
    "a cat sleeping on a sunny windowsill",
    "mountain lake reflecting pine trees at sunrise",
    "a vintage car parked on a cobbled street",
    "fresh strawberries in a wicker basket outdoors",
    "a violinist performing on a crowded subway platform",
    "storm clouds gathering over a wheat field",
    "a wooden sailboat moored in a quiet harbour",
    "a person reading a book under a tree",
    "colourful hot air balloons over a valley",
    "a steaming cup of coffee on a desk",
};

struct Args {
  std::string model, image, warmup_image, out_tsv, vectors, bf16_activations = EngineOptions{}.cpu_bf16_activations;
  int threads = 0, images = 4, texts = 16, latency_runs = 2;
};

[[noreturn]] void usage(const std::string& error) {
  std::fprintf(stderr, "bench_embed: %s\n", error.c_str());
  std::fprintf(stderr,
               "usage: bench_embed --model DIR --image FILE [--warmup-image FILE] [--threads N]\n"
               "                   [--bf16-activations rounded|exact] [--images N] [--texts N (<= %zu)] [--latency-runs N] [--out-tsv FILE] [--vectors FILE]\n"
               "(--images 0 / --texts 0 skip that workload)\n",
               kQueries.size());
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + flag);
    const std::string v = argv[++i];
    try {
      if (flag == "--model") a.model = v;
      else if (flag == "--image") a.image = v;
      else if (flag == "--warmup-image") a.warmup_image = v;
      else if (flag == "--out-tsv") a.out_tsv = v;
      else if (flag == "--vectors") a.vectors = v;
      else if (flag == "--bf16-activations") a.bf16_activations = v;
      else if (flag == "--threads") a.threads = std::stoi(v);
      else if (flag == "--images") a.images = std::stoi(v);
      else if (flag == "--texts") a.texts = std::stoi(v);
      else if (flag == "--latency-runs") a.latency_runs = std::stoi(v);
      else usage("unknown flag " + flag);
    } catch (const std::invalid_argument&) {
      usage("not a number for " + flag + ": " + v);
    }
  }
  if (a.model.empty()) usage("--model is required");
  if (a.images > 0 && a.image.empty()) usage("--image is required unless --images 0");
  if (a.images < 0 || a.texts < 0 || a.texts > int(kQueries.size()) || a.latency_runs < 1) {
    usage("--images >= 0, 0 <= --texts <= " + std::to_string(kQueries.size()) + ", --latency-runs >= 1");
  }
  return a;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double cosine(const std::vector<float>& x, const std::vector<float>& y) {
  double dot = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    dot += double(x[i]) * y[i];
    xx += double(x[i]) * x[i];
    yy += double(y[i]) * y[i];
  }
  return dot / std::sqrt(std::max(xx * yy, 1e-30));
}

CaptionerOptions captioner_options(const Args& a) {
  CaptionerOptions o;
  o.engine.device = "cpu";
  o.engine.threads = a.threads;
  o.engine.cpu_bf16_activations = a.bf16_activations;
  o.engine.prefix_cache = false;  // every request computed in full, as HF does
  o.engine.vision_cache_bytes = 0;
  o.engine.kv_cache_bytes = size_t(1) << 30;
  return o;
}

EmbedRequest image_request(const std::vector<uint8_t>& image) {
  EmbedRequest r;
  r.input.images.push_back(image);  // no text, default instruction
  return r;
}

EmbedRequest text_request(const std::string& query) {
  EmbedRequest r;
  r.input.text = query;
  r.instruction = kTextInstruction;
  return r;
}

CaptionResult checked(CaptionResult res, const char* what) {
  if (!res.ok()) throw std::runtime_error(std::string(what) + " failed: " + res.error_kind + ": " + res.error);
  return res;
}

struct Latency {
  double best_ms = 0, mean_ms = 0;
  CaptionResult first;  // the first run's result (its vector goes to --vectors)
};

// Batch 1: `runs` requests one after another; latency = submit to completion.
template <class Make>
Latency batch1(Captioner& c, int runs, Make make, const char* what) {
  Latency l;
  double sum = 0;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    CaptionResult res = checked(c.embed(make(i)), what);
    const double ms = 1e3 * seconds_since(t0);
    sum += ms;
    l.best_ms = i == 0 ? ms : std::min(l.best_ms, ms);
    if (i == 0) l.first = std::move(res);
  }
  l.mean_ms = sum / runs;
  return l;
}

struct Batched {
  double wall_s = 0;
  std::vector<CaptionResult> results;  // in submission order
};

// Every request submitted at once with submit_embed; wall time until the last completes.
Batched batched(Captioner& c, std::vector<EmbedRequest> requests, const char* what) {
  Batched b;
  b.results.resize(requests.size());
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  const auto t0 = Clock::now();
  for (size_t i = 0; i < requests.size(); ++i) {
    CaptionCallbacks cb;
    cb.on_complete = [&, i](const CaptionResult& res) {
      std::lock_guard<std::mutex> lock(mu);
      b.results[i] = res;
      ++done;
      cv.notify_all();
    };
    c.submit_embed(std::move(requests[i]), std::move(cb));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == b.results.size(); });
  }
  b.wall_s = seconds_since(t0);
  for (auto& r : b.results) checked(r, what);
  return b;
}

class Tsv {
 public:
  void put(const std::string& key, double value) {
    values_.emplace_back(key, value);
    std::printf("%s\t%.4g\n", key.c_str(), value);
    std::fflush(stdout);
  }
  void write(const std::string& path) const {
    if (path.empty()) return;
    std::ofstream out(path);
    for (const auto& [k, v] : values_) out << k << "\t" << v << "\n";
  }

 private:
  std::vector<std::pair<std::string, double>> values_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  Tsv tsv;
  nlohmann::json vectors = {{"text_instruction", kTextInstruction}, {"texts", nlohmann::json::array()}};
  try {
    const int threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    std::printf("# bench_embed: model %s, threads %d, bf16 activations %s, %d image / %d text requests\n",
                a.model.c_str(), threads, a.bf16_activations.c_str(), a.images, a.texts);
    auto t0 = Clock::now();
    auto captioner = Captioner::open(a.model, captioner_options(a));
    tsv.put("embed_load_s", seconds_since(t0));
    tsv.put("embed_dim", captioner->capabilities().embedding_size);

    // Warm-up: pages the weights in and starts the thread pools (vision and text).
    const std::vector<uint8_t> image = a.images > 0 ? read_file(a.image) : std::vector<uint8_t>{};
    t0 = Clock::now();
    checked(captioner->embed(text_request("warm up")), "warm-up");
    if (a.images > 0) {
      checked(captioner->embed(image_request(a.warmup_image.empty() ? image : read_file(a.warmup_image))),
              "warm-up");
    }
    tsv.put("embed_warmup_s", seconds_since(t0));

    std::vector<float> image_vector, text0_vector;
    if (a.images > 0) {
      const Latency l = batch1(*captioner, a.latency_runs, [&](int) { return image_request(image); }, "image embed");
      tsv.put("embed_image_prompt_tokens", l.first.prompt_tokens);
      tsv.put("embed_image_b1_ms", l.best_ms);
      tsv.put("embed_image_b1_mean_ms", l.mean_ms);
      tsv.put("embed_image_b1_image_ms", l.first.timings.image_ms);
      tsv.put("embed_image_b1_vision_ms", l.first.timings.engine.vision_ms);
      tsv.put("embed_image_b1_prefill_ms", l.first.timings.engine.prefill_ms);  // includes vision
      std::vector<EmbedRequest> requests;
      for (int i = 0; i < a.images; ++i) requests.push_back(image_request(image));
      const Batched b = batched(*captioner, std::move(requests), "image embed");
      tsv.put("embed_image_batch", a.images);
      tsv.put("embed_image_per_s", a.images / b.wall_s);
      tsv.put("embed_image_batch_vs_b1_cosine_min",
              [&] {
                double m = 1;
                for (const auto& r : b.results) m = std::min(m, cosine(r.embedding, l.first.embedding));
                return m;
              }());
      image_vector = l.first.embedding;
      vectors["image"] = {{"file", a.image}, {"prompt_tokens", l.first.prompt_tokens}, {"vector", image_vector}};
    }

    if (a.texts > 0) {
      const Latency l = batch1(*captioner, std::min(a.latency_runs, a.texts),
                               [&](int i) { return text_request(kQueries[size_t(i)]); }, "text embed");
      tsv.put("embed_text_prompt_tokens", l.first.prompt_tokens);
      tsv.put("embed_text_b1_ms", l.best_ms);
      tsv.put("embed_text_b1_mean_ms", l.mean_ms);
      std::vector<EmbedRequest> requests;
      for (int i = 0; i < a.texts; ++i) requests.push_back(text_request(kQueries[size_t(i)]));
      const Batched b = batched(*captioner, std::move(requests), "text embed");
      tsv.put("embed_text_batch", a.texts);
      tsv.put("embed_text_per_s", a.texts / b.wall_s);
      tsv.put("embed_text_batch_vs_b1_cosine", cosine(b.results[0].embedding, l.first.embedding));
      for (int i = 0; i < a.texts; ++i) {
        vectors["texts"].push_back({{"text", kQueries[size_t(i)]},
                                    {"prompt_tokens", b.results[size_t(i)].prompt_tokens},
                                    {"vector", b.results[size_t(i)].embedding}});
      }
      text0_vector = b.results[0].embedding;
      // How alike different inputs are: the bar a Loupe-vs-HF cosine has to clear to mean
      // anything on random weights (their vectors share a large common direction).
      if (a.texts > 1) tsv.put("embed_cosine_text0_text1", cosine(text0_vector, b.results[1].embedding));
    }
    if (!image_vector.empty() && !text0_vector.empty()) {
      tsv.put("embed_cosine_image_text0", cosine(image_vector, text0_vector));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_embed: %s\n", e.what());
    tsv.write(a.out_tsv);
    return 1;
  }
  tsv.write(a.out_tsv);
  if (!a.vectors.empty()) std::ofstream(a.vectors) << vectors.dump() << "\n";
  return 0;
}
