// Cost per generated token of JSON-schema-constrained decoding against unconstrained
// decoding of the same requests, at several batch sizes, through the public Captioner API
// (so the constraint compilation, the mask thread and the masked sampling are all counted).
// Every request generates exactly --tokens tokens: the unconstrained ones have no stop token,
// the constrained ones follow a schema that cannot be complete before that many tokens.
//
//   bench_constrained --model DIR [--batch 1,16] [--tokens 48] [--threads N] [--repeats 2]
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "loupe/captioner.h"

using namespace loupe;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string model;
  std::vector<int> batches = {1, 16};
  int tokens = 48, threads = 0, repeats = 2;
};

std::vector<int> int_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(std::stoi(item));
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--model") a.model = value;
    else if (key == "--batch") a.batches = int_list(value);
    else if (key == "--tokens") a.tokens = std::stoi(value);
    else if (key == "--threads") a.threads = std::stoi(value);
    else if (key == "--repeats") a.repeats = std::stoi(value);
    else {
      std::fprintf(stderr, "unknown option %s\nusage: bench_constrained --model DIR [--batch 1,16] [--tokens 48] [--threads N] [--repeats 2]\n",
                   key.c_str());
      std::exit(2);
    }
  }
  if (a.model.empty()) {
    std::fprintf(stderr, "bench_constrained: --model DIR is required\n");
    std::exit(2);
  }
  return a;
}

// Many short tagged strings: valid JSON at every step, never complete within the budget.
const char* kSchema = R"({"type": "array", "minItems": 1000, "items": {"type": "object",
  "properties": {"tag": {"type": "string", "maxLength": 12}, "weight": {"type": "integer", "minimum": 0, "maximum": 99}},
  "required": ["tag", "weight"], "additionalProperties": false}})";

struct Run {
  double wall_ms = 0;
  int64_t tokens = 0;
  double per_token_ms() const { return wall_ms / double(tokens); }
};

// B requests submitted at once; wall time from the first submit to the last completion.
Run run_batch(Captioner& captioner, int batch, int tokens, bool constrained) {
  SamplingParams s = captioner.default_sampling();
  s.temperature = 0;
  s.max_new_tokens = tokens;
  if (!constrained) s.stop_token_ids.clear();  // exactly `tokens` tokens each
  std::mutex mutex;
  std::condition_variable done;
  int completed = 0;
  Run run;
  const auto start = Clock::now();
  for (int b = 0; b < batch; ++b) {
    CaptionRequest r;
    r.prompt = "Request " + std::to_string(b) + ": list tags for a photo of item " + std::to_string(b * 7919) + ".";
    r.sampling = s;
    if (constrained) r.constraint = OutputConstraint{OutputConstraint::Kind::JsonSchema, kSchema};
    captioner.submit(std::move(r), {nullptr, [&](const CaptionResult& result) {
                                      std::lock_guard<std::mutex> lock(mutex);
                                      if (!result.ok()) std::fprintf(stderr, "request failed: %s\n", result.error.c_str());
                                      run.tokens += int64_t(result.token_ids.size());
                                      ++completed;
                                      done.notify_all();
                                    }});
  }
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return completed == batch; });
  run.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  CaptionerOptions o;
  o.engine.threads = args.threads;
  o.engine.prefix_cache = false;  // every run prefills its prompts alike
  auto captioner = Captioner::open(args.model, o);
  run_batch(*captioner, 1, 4, true);  // warm-up: the token trie is built on first use
  std::printf("| batch | tokens/request | unconstrained ms/token | constrained ms/token | ratio |\n");
  std::printf("|---|---|---|---|---|\n");
  for (int batch : args.batches) {
    double free_best = 1e300, bound_best = 1e300;
    int64_t tokens = 0;
    for (int rep = 0; rep < args.repeats; ++rep) {
      const Run free = run_batch(*captioner, batch, args.tokens, false);
      const Run bound = run_batch(*captioner, batch, args.tokens, true);
      if (free.tokens != bound.tokens)
        std::fprintf(stderr, "warning: %lld vs %lld tokens\n", (long long)free.tokens, (long long)bound.tokens);
      free_best = std::min(free_best, free.per_token_ms());
      bound_best = std::min(bound_best, bound.per_token_ms());
      tokens = bound.tokens;
    }
    std::printf("| %d | %lld | %.3f | %.3f | %.3f |\n", batch, (long long)(tokens / batch), free_best, bound_best,
                bound_best / free_best);
    std::fflush(stdout);
  }
  return 0;
}
