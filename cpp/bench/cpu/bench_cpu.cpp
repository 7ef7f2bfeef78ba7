// bench_cpu: Loupe's CPU figures next to their physical ceilings, measured in one run on
// one machine. First the machine (memory read bandwidth, fp32 GEMM peak), then the model
// through the public API: vision tower, prefill, batched decode (Engine) and end-to-end
// captioning (Captioner), with peak RSS and load time. Prints a table and writes it to
// --out (markdown) and --out-tsv (key/value lines a script can read).
//
//   bench_cpu --model DIR --image448 a.png --image1024 b.png [--threads N]
//             [--vision 448,1024] [--prefill 256,1024] [--decode 1,4,16] [--decode-tokens 32]
//             [--caption-tokens 64] [--out table.md] [--out-tsv results.tsv]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loupe/captioner.h"
#include "loupe/engine.h"
#include "machine_ceiling.h"
#include "model_cost.h"

namespace {

using namespace loupe;
using namespace loupe::bench;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, image448, image1024, out, out_tsv, bf16_activations = EngineOptions{}.cpu_bf16_activations;
  int threads = 0, decode_tokens = 32, caption_tokens = 64;
  bool machine_only = false;  // just the two ceilings (quick check of a machine)
  std::vector<int> vision = {448, 1024}, prefill = {256, 1024}, decode = {1, 4, 16};
  std::vector<int> int8_decode = {1, 16};  // decode batches with int8 text weights (extra rows)
  size_t bandwidth_bytes = size_t(1) << 30;
};

[[noreturn]] void usage(const std::string& error) {
  std::fprintf(stderr, "bench_cpu: %s\n", error.c_str());
  std::fprintf(stderr,
               "usage: bench_cpu --model DIR --image448 FILE [--image1024 FILE] [--threads N] [--bf16-activations rounded|exact]\n"
               "                 [--vision 448,1024] [--prefill 256,1024] [--decode 1,4,16] [--int8-decode 1,16]\n"
               "                 [--decode-tokens N] [--caption-tokens N] [--bandwidth-mib N]\n"
               "                 [--out FILE.md] [--out-tsv FILE.tsv] [--machine-only 1]\n"
               "(an empty list skips a part; --machine-only 1 measures only bandwidth and GEMM peaks)\n");
  std::exit(2);
}

std::vector<int> int_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(std::stoi(item));
  }
  return out;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + flag);
    const std::string v = argv[++i];
    try {
      if (flag == "--model") a.model = v;
      else if (flag == "--image448") a.image448 = v;
      else if (flag == "--image1024") a.image1024 = v;
      else if (flag == "--out") a.out = v;
      else if (flag == "--out-tsv") a.out_tsv = v;
      else if (flag == "--threads") a.threads = std::stoi(v);
      else if (flag == "--bf16-activations") a.bf16_activations = v;
      else if (flag == "--decode-tokens") a.decode_tokens = std::stoi(v);
      else if (flag == "--caption-tokens") a.caption_tokens = std::stoi(v);
      else if (flag == "--bandwidth-mib") a.bandwidth_bytes = size_t(std::stoll(v)) << 20;
      else if (flag == "--vision") a.vision = int_list(v);
      else if (flag == "--prefill") a.prefill = int_list(v);
      else if (flag == "--decode") a.decode = int_list(v);
      else if (flag == "--int8-decode") a.int8_decode = int_list(v);
      else if (flag == "--machine-only") a.machine_only = v == "1";
      else usage("unknown flag " + flag);
    } catch (const std::invalid_argument&) {
      usage("not a number for " + flag + ": " + v);
    }
  }
  if (a.model.empty()) usage("--model is required");
  if (a.image448.empty() && !a.machine_only) usage("--image448 is required");
  if (a.decode_tokens < 2 || a.caption_tokens < 1) usage("--decode-tokens must be >= 2, --caption-tokens >= 1");
  for (int size : a.vision) {
    if (size != 448 && size != 1024) usage("--vision takes 448 and/or 1024");
    if (size == 1024 && a.image1024.empty() && !a.machine_only) usage("--vision 1024 needs --image1024");
  }
  return a;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0;
}

double checkpoint_bytes(const std::string& dir) {
  double total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors") total += double(entry.file_size());
  }
  return total;
}

// Greedy, fixed length: random weights may emit a stop id at any step, so none is set.
SamplingParams fixed_length(int new_tokens) {
  SamplingParams s;
  s.temperature = 0;
  s.max_new_tokens = new_tokens;
  return s;
}

// Prompt ids that share no prefix with any other request of the run (the prefix cache is
// off anyway, but the numbers must not depend on that).
std::vector<int32_t> synthetic_prompt(int length, int salt, int64_t vocab) {
  std::vector<int32_t> ids(length);
  for (int i = 0; i < length; ++i) {
    ids[i] = int32_t((1000 + (uint64_t(i) * 7919 + uint64_t(salt) * 104729) % 140000) % uint64_t(vocab));
  }
  return ids;
}

struct Row {
  std::string figure, measured, ceiling, unit, limit;
  double fraction = 0;  // measured / ceiling (time-like figures inverted)
};

class Report {
 public:
  void row(const std::string& figure, double measured, double ceiling, const std::string& unit, bool lower_is_better,
           const std::string& limit, const std::string& key) {
    Row r;
    r.figure = figure;
    r.measured = format(measured);
    r.ceiling = ceiling > 0 ? format(ceiling) : "-";
    r.unit = unit;
    r.limit = limit;
    r.fraction = ceiling > 0 ? (lower_is_better ? ceiling / measured : measured / ceiling) : 0;
    rows_.push_back(r);
    kv(key, measured);
    if (ceiling > 0) kv(key + "_ceiling", ceiling);
    print_row(std::cout, r);
    std::cout.flush();
  }
  void info(const std::string& key, double value) { kv(key, value); }
  void note(const std::string& line) {
    notes_.push_back(line);
    std::cout << "# " << line << "\n";
  }
  void header(std::ostream& out) const {
    out << "| figure | measured | ceiling | unit | achieved | ceiling from |\n|---|---:|---:|---|---:|---|\n";
  }
  void write(const std::string& md, const std::string& tsv) const {
    if (!md.empty()) {
      std::ofstream out(md);
      for (const auto& n : notes_) out << "- " << n << "\n";
      out << "\n";
      header(out);
      for (const auto& r : rows_) print_row(out, r);
    }
    if (!tsv.empty()) {
      std::ofstream out(tsv);
      for (const auto& [k, v] : values_) out << k << "\t" << v << "\n";
    }
  }

 private:
  static std::string format(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.3g", v);
    return buf;
  }
  static void print_row(std::ostream& out, const Row& r) {
    char pct[32] = "-";
    if (r.fraction > 0) std::snprintf(pct, sizeof pct, "%.0f %%", 100 * r.fraction);
    out << "| " << r.figure << " | " << r.measured << " | " << r.ceiling << " | " << r.unit << " | " << pct << " | "
        << r.limit << " |\n";
  }
  void kv(const std::string& k, double v) { values_.emplace_back(k, v); }
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
  std::vector<std::pair<std::string, double>> values_;
};

struct Machine {
  double bandwidth = 0;  // bytes/s
  double sgemm_peak = 0;  // FLOP/s, fp32 OpenBLAS (the backend's GEMM today)
  double bf16_peak = 0;   // FLOP/s, oneDNN bf16 matmul (0: not built with oneDNN)
  // The ceiling for compute-bound figures: the fastest GEMM this CPU reaches.
  double gemm_peak() const { return std::max(sgemm_peak, bf16_peak); }
  const char* gemm_name() const { return bf16_peak > sgemm_peak ? "FLOPs / bf16 GEMM peak" : "FLOPs / fp32 GEMM peak"; }
};

// Seconds a decode step of `batch` sequences needs at least: weights streamed once, or
// the GEMM work at peak, whichever is longer.
double decode_step_floor(const ModelCost& cost, const Machine& m, int batch, int context) {
  return std::max(cost.decode_step_bytes(batch, context, 4) / m.bandwidth,
                  cost.decode_step_flops(batch, context) / m.gemm_peak());
}

CaptionerOptions captioner_options(const Args& a) {
  CaptionerOptions o;
  o.engine.device = "cpu";
  o.engine.threads = a.threads;
  o.engine.cpu_bf16_activations = a.bf16_activations;
  o.engine.prefix_cache = false;     // every figure is computed, never served from cache
  o.engine.vision_cache_bytes = 0;
  o.engine.kv_cache_bytes = size_t(1) << 30;
  return o;
}

// ~30 prompt tokens: a realistic captioning instruction.
const char* kCaptionPrompt =
    "Describe this image in one detailed paragraph for a search index: the main objects, "
    "their colours, the setting, any visible text, and the overall mood.";

void run_captioner_part(const Args& a, const ModelCost& cost, const Machine& m, Report& report) {
  auto t0 = Clock::now();
  auto captioner = Captioner::open(a.model, captioner_options(a));
  report.row("load (Captioner::open)", seconds_since(t0), 0, "s", true, "weights mmapped; paged in by first use",
             "load_s");

  auto caption = [&](const std::string& path, int size, int new_tokens, const char* prompt) {
    CaptionRequest r;
    r.images.push_back(read_file(path));
    r.prompt = prompt;
    r.min_pixels = r.max_pixels = int64_t(size) * size;
    r.sampling = fixed_length(new_tokens);
    CaptionResult res = captioner->caption(std::move(r));
    if (!res.ok()) throw std::runtime_error("caption failed: " + res.error);
    return res;
  };

  t0 = Clock::now();
  caption(a.image448, 448, 1, "Warm up.");  // pages the weights in, starts the thread pool
  report.row("first request after load (448², 1 token)", seconds_since(t0), 0, "s", true, "page-in of the checkpoint",
             "first_request_s");

  for (int size : a.vision) {
    const auto res = caption(size == 448 ? a.image448 : a.image1024, size, 1, "Hi.");
    const double ceiling_ms = 1e3 * cost.vision_flops(size, size) / m.gemm_peak();
    report.row("vision tower " + std::to_string(size) + "²", res.timings.engine.vision_ms, ceiling_ms, "ms", true,
               m.gemm_name(), "vision_ms_" + std::to_string(size));
  }

  const auto res = caption(a.image448, 448, a.caption_tokens, kCaptionPrompt);
  const int prompt = res.prompt_tokens, n = int(res.token_ids.size());
  double floor_s = (cost.vision_flops(448, 448) + cost.prefill_flops(prompt)) / m.gemm_peak();
  for (int i = 1; i < n; ++i) floor_s += decode_step_floor(cost, m, 1, prompt + i);
  report.row("caption 448², " + std::to_string(prompt) + "-token prompt, " + std::to_string(n) + " new tokens",
             res.timings.total_ms / 1e3, floor_s, "s/image", true, "vision+prefill at GEMM peak, decode at bandwidth",
             "caption_s");
  report.info("caption_prompt_tokens", prompt);
  report.info("caption_new_tokens", n);
  // The engine's prefill step runs the vision tower, so prefill_ms includes vision_ms.
  report.note("caption stages (ms): image " + std::to_string(int(res.timings.image_ms)) + ", vision " +
              std::to_string(int(res.timings.engine.vision_ms)) + ", prefill without vision " +
              std::to_string(int(res.timings.engine.prefill_ms - res.timings.engine.vision_ms)) + ", decode " +
              std::to_string(int(res.timings.engine.decode_ms)));
}

void decode_rows(const Args& a, const std::vector<int>& batches, Engine& engine, const ModelCost& cost,
                 const Machine& m, Report& report, int& salt, bool int8);

void run_engine_part(const Args& a, const ModelCost& cost, const Machine& m, Report& report) {
  auto t0 = Clock::now();
  auto engine = Engine::open(a.model, captioner_options(a).engine);
  report.row("load (Engine::open, page cache warm)", seconds_since(t0), 0, "s", true, "-", "engine_load_s");
  int salt = 1;
  {
    Request warm;
    warm.token_ids = synthetic_prompt(8, salt++, cost.vocab);
    warm.sampling = fixed_length(2);
    engine->submit(std::move(warm)).wait();
  }

  for (int tokens : a.prefill) {
    Request r;
    r.token_ids = synthetic_prompt(tokens, salt++, cost.vocab);
    r.sampling = fixed_length(1);
    const Result res = engine->submit(std::move(r)).wait();
    if (!res.ok()) throw std::runtime_error("prefill failed: " + res.error);
    const double measured = tokens / (res.timings.prefill_ms / 1e3);
    const double ceiling = tokens / (cost.prefill_flops(tokens) / m.gemm_peak());
    report.row("prefill " + std::to_string(tokens) + " tokens", measured, ceiling, "tok/s", false, m.gemm_name(),
               "prefill_tps_" + std::to_string(tokens));
  }

  decode_rows(a, a.decode, *engine, cost, m, report, salt, false);
}

// Decode tokens/s at each batch size; `int8`: the engine runs int8 text weights, whose
// ceiling streams one byte per decoder parameter (lm_head stays bf16).
void decode_rows(const Args& a, const std::vector<int>& batches, Engine& engine, const ModelCost& cost,
                 const Machine& m, Report& report, int& salt, bool int8) {
  const int prompt = 16;
  for (int batch : batches) {
    std::vector<RequestHandle> handles;
    for (int b = 0; b < batch; ++b) {
      Request r;
      r.token_ids = synthetic_prompt(prompt, salt++, cost.vocab);
      r.sampling = fixed_length(a.decode_tokens);
      handles.push_back(engine.submit(std::move(r)));
    }
    double decode_ms = 0;
    int64_t decoded = 0;
    for (auto& h : handles) {
      const Result res = h.wait();
      if (!res.ok()) throw std::runtime_error("decode failed: " + res.error);
      decode_ms = std::max(decode_ms, res.timings.decode_ms);
      decoded += int64_t(res.token_ids.size()) - 1;  // the first token comes from prefill
    }
    const double measured = decoded / (decode_ms / 1e3);
    const int mid_context = prompt + a.decode_tokens / 2;
    double floor_s = decode_step_floor(cost, m, batch, mid_context);
    if (int8) {
      const double bytes = cost.decode_step_bytes(batch, mid_context, 4) - cost.decoder_params();
      floor_s = std::max(bytes / m.bandwidth, cost.decode_step_flops(batch, mid_context) / m.gemm_peak());
    }
    report.row(std::string(int8 ? "decode int8 batch " : "decode batch ") + std::to_string(batch), measured,
               batch / floor_s, "tok/s", false, "max(weight+KV bytes / bandwidth, FLOPs / GEMM peak)",
               std::string(int8 ? "decode_int8_tps_b" : "decode_tps_b") + std::to_string(batch));
  }
}

void run_int8_part(const Args& a, const ModelCost& cost, const Machine& m, Report& report) {
  EngineOptions options = captioner_options(a).engine;
  options.int8_text_weights = true;
  auto t0 = Clock::now();
  auto engine = Engine::open(a.model, options);
  report.row("load with int8 text weights (quantised at load)", seconds_since(t0), 0, "s", true, "-",
             "int8_load_s");
  int salt = 100000;
  decode_rows(a, a.int8_decode, *engine, cost, m, report, salt, true);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  const int threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  Report report;
  try {
    const ModelCost cost = ModelCost::from_config(a.model);
    const double weights = checkpoint_bytes(a.model);
    report.note("model " + a.model + ", threads " + std::to_string(threads) + ", checkpoint " +
                std::to_string(int(weights / 1e6)) + " MB");
    report.note("decode bytes/step at batch 1: " + std::to_string(int(cost.decode_step_bytes(1, 32, 4) / 1e6)) +
                " MB (decoder + tied lm_head in bf16, fp32 KV); compute ceilings use the fastest GEMM measured "
                "(bf16 via oneDNN when built with it)");
    report.note("bf16 linears: activations " + a.bf16_activations +
                " (--bf16-activations; rounded = PyTorch bf16 semantics, the fast path)");
    std::cout << "| figure | measured | ceiling | unit | achieved | ceiling from |\n|---|---:|---:|---|---:|---|\n";

    Machine m;
    m.bandwidth = measure_read_bandwidth(threads, a.bandwidth_bytes);
    report.row("memory read bandwidth", m.bandwidth / 1e9, 0, "GB/s", false, "vector streaming read, all threads",
               "bandwidth_gbs");
    m.sgemm_peak = measure_sgemm_peak(threads);
    report.row("fp32 GEMM peak (OpenBLAS sgemm, 1024x6144x2048)", m.sgemm_peak / 1e9, 0, "GFLOP/s", false, "-",
               "sgemm_gflops");
    m.bf16_peak = measure_bf16_gemm_peak(threads);
    if (m.bf16_peak > 0) {
      report.row("bf16 GEMM peak (oneDNN matmul, 1024x6144x2048)", m.bf16_peak / 1e9, 0, "GFLOP/s", false, "-",
                 "bf16_gflops");
    }

    if (a.machine_only) {
      report.write(a.out, a.out_tsv);
      return 0;
    }
    run_captioner_part(a, cost, m, report);
    run_engine_part(a, cost, m, report);
    if (!a.int8_decode.empty()) run_int8_part(a, cost, m, report);

    const double rss = peak_rss_bytes();
    const double budget = 1.15 * weights + double(size_t(1) << 30) + 300e6;
    report.row("peak RSS (achieved = share of the budget)", rss / 1e6, budget / 1e6, "MB", false,
               "budget: 1.15 x checkpoint + 1 GiB KV + 300 MB", "peak_rss_mb");
    // Measured again at the end: a large difference from the first figure means the
    // machine's load changed during the run and the fractions above are uncertain.
    const double bandwidth_end = measure_read_bandwidth(threads, a.bandwidth_bytes);
    report.row("memory read bandwidth, end of run (load check)", bandwidth_end / 1e9, 0, "GB/s", false,
               "same as the first row", "bandwidth_end_gbs");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cpu: %s\n", e.what());
    report.write(a.out, a.out_tsv);
    return 1;
  }
  report.write(a.out, a.out_tsv);
  return 0;
}
