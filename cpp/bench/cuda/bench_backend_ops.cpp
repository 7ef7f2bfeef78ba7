// Benchmarks of the backend ops that dominate Qwen3-VL inference, each printed beside
// its physical limit: GEMM TFLOP/s against the bf16 tensor peak, decode attention and
// GEMV GB/s against memory bandwidth, device sampling, and a full decode/prefill step with
// the real 2B and 8B text-model shapes (random weights made here; no checkpoint needed).
//
//   bench_backend_ops [--device cuda:0] [--attention fast|generic] [--quick] [--no-8b] [--peak-tflops 989]
//                     [--peak-gbps 3350]
//
// Timing: host clock around N launches on the backend's stream, synchronised before and
// after; warm-up first. The CUDA backend runs everything on one stream, so launch gaps
// are included; decode steps are timed again as a replayed CUDA graph ("+graph" rows).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_env.h"

using namespace loupe;

namespace {

struct Options {
  std::string device = "cuda:0";
  std::string attention = "fast";
  bool quick = false;
  bool with_8b = true;
  double peak_tflops = 989.0;  // H100 SXM dense bf16
  double peak_gbps = 3350.0;   // H100 SXM HBM3
};

double time_ms(Backend& be, int iters, const std::function<void()>& fn) {
  for (int i = 0; i < 2; ++i) fn();
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  be.synchronize();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / iters;
}

// Fills a device tensor with random values of small magnitude (a repeated random block,
// so multi-GB weight sets upload quickly while staying distinct from zeros).
void fill_random(Backend& be, const Tensor& t, float scale, uint32_t seed) {
  static std::vector<uint8_t> block;
  static DType block_type = DType::U8;
  constexpr size_t kBlock = size_t(8) << 20;
  if (block.empty() || block_type != t.dtype) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const size_t n = kBlock / dtype_size(t.dtype);
    block.assign(kBlock, 0);
    for (size_t i = 0; i < n; ++i) {
      const float v = normal(rng) * scale;
      if (t.dtype == DType::BF16) {
        const uint16_t b = f32_to_bf16(v);
        std::memcpy(&block[i * 2], &b, 2);
      } else if (t.dtype == DType::F32) {
        std::memcpy(&block[i * 4], &v, 4);
      }
    }
    block_type = t.dtype;
  }
  const size_t bytes = t.nbytes();
  // Rotate the block's start per tensor so consecutive tensors differ.
  const size_t shift = (size_t(seed) * 4096) % kBlock;
  for (size_t off = 0; off < bytes;) {
    const size_t start = (shift + off) % kBlock & ~size_t(15);
    const size_t n = std::min(bytes - off, kBlock - start);
    be.copy_from_host(static_cast<uint8_t*>(t.data) + off, block.data() + start, n);
    off += n;
  }
}

void bench_gemm(Backend& be, const Options& o) {
  std::printf("\n== GEMM y[M,N] = x[M,K]·w[N,K]ᵀ (%s)\n", dtype_name(be.activation_dtype()).data());
  std::printf("%8s %8s %8s %10s %10s %8s %10s\n", "M", "N", "K", "ms", "TFLOP/s", "%peak", "weight GB/s");
  struct Shape { int64_t m, n, k; const char* what; };
  std::vector<Shape> shapes = {
      {1, 4096, 2048, "qkv decode"},     {1, 12288, 2048, "gate_up decode"}, {1, 2048, 6144, "down decode"},
      {64, 12288, 2048, "gate_up b64"},  {2048, 12288, 2048, "gate_up prefill"}, {2048, 2048, 6144, "down prefill"},
      {8192, 8192, 8192, "square"}};
  if (o.quick) shapes = {{1, 256, 128, "tiny"}, {64, 256, 256, "small"}};
  const DType act = be.activation_dtype();
  for (const auto& s : shapes) {
    Buffer x(be, act, {s.m, s.k}), w(be, act, {s.n, s.k}), y(be, act, {s.m, s.n});
    fill_random(be, x, 1.0f, 1);
    fill_random(be, w, 0.02f, 2);
    const double flops = 2.0 * s.m * s.n * s.k;
    const int iters = flops > 1e11 ? 20 : 200;
    const double ms = time_ms(be, o.quick ? 3 : iters, [&] { be.linear(y, x, w, nullptr); });
    const double tflops = flops / (ms * 1e-3) / 1e12;
    const double gbps = double(w.tensor().nbytes()) / (ms * 1e-3) / 1e9;
    std::printf("%8ld %8ld %8ld %10.4f %10.1f %7.1f%% %10.0f  %s\n", long(s.m), long(s.n), long(s.k), ms, tflops,
                100.0 * tflops / o.peak_tflops, gbps, s.what);
  }
}

void bench_attention(Backend& be, const Options& o) {
  std::printf("\n== attention (heads 16, kv heads 8, hd 128: Qwen3-VL-2B text)\n");
  const DType act = be.activation_dtype();
  const int heads = 16, kv_heads = 8, hd = 128;
  struct Case { int batch, q_len, kv_len; };
  std::vector<Case> cases = {{1, 1, 4096}, {8, 1, 4096}, {64, 1, 2048}, {1, 1, 32768}, {1, 2048, 2048}};
  if (o.quick) cases = {{2, 1, 256}, {1, 64, 64}};
  std::printf("%6s %6s %7s %10s %10s %8s %10s\n", "batch", "q_len", "kv_len", "ms", "KV GB/s", "%bw", "TFLOP/s");
  for (const auto& c : cases) {
    const int64_t slots = int64_t(c.batch) * c.kv_len;
    Buffer kc(be, act, {slots, kv_heads, hd}), vc(be, act, {slots, kv_heads, hd});
    Buffer q(be, act, {int64_t(c.batch) * c.q_len, heads, hd}), out(be, act, {int64_t(c.batch) * c.q_len, heads, hd});
    fill_random(be, kc, 1.0f, 3);
    fill_random(be, vc, 1.0f, 4);
    fill_random(be, q, 1.0f, 5);
    std::vector<int32_t> q_start, q_len, kv_len, table(static_cast<size_t>(slots));
    for (int b = 0; b < c.batch; ++b) {
      q_start.push_back(b * c.q_len);
      q_len.push_back(c.q_len);
      kv_len.push_back(c.kv_len);
    }
    // A shuffled slot table: pool pages are scattered in a long-running server.
    for (int64_t i = 0; i < slots; ++i) table[size_t(i)] = int32_t(i);
    std::shuffle(table.begin(), table.end(), std::mt19937(7));
    auto upload = [&](const std::vector<int32_t>& v, std::initializer_list<int64_t> dims) {
      Buffer b(be, DType::I32, dims);
      be.copy_from_host(b.tensor().data, v.data(), v.size() * 4);
      return b;
    };
    Buffer qs = upload(q_start, {c.batch}), ql = upload(q_len, {c.batch}), kl = upload(kv_len, {c.batch});
    Buffer tb = upload(table, {c.batch, c.kv_len});
    PagedAttentionParams p;
    p.q_start = qs; p.q_len = ql; p.kv_len = kl; p.kv_slots = tb;
    p.batch = c.batch; p.max_q_len = c.q_len; p.max_kv_len = c.kv_len; p.scale = 1.0f / std::sqrt(float(hd));
    const double ms = time_ms(be, o.quick ? 2 : 20, [&] { be.attention_paged(out, q, kc, vc, p); });
    const double kv_bytes = 2.0 * double(slots) * kv_heads * hd * dtype_size(act);
    const double causal_pairs = double(c.batch) * (double(c.q_len) * c.kv_len - double(c.q_len) * (c.q_len - 1) / 2);
    const double flops = 4.0 * causal_pairs * heads * hd;
    const double gbps = kv_bytes / (ms * 1e-3) / 1e9;
    std::printf("%6d %6d %7d %10.4f %10.0f %7.1f%% %10.2f\n", c.batch, c.q_len, c.kv_len, ms, gbps,
                100.0 * gbps / o.peak_gbps, flops / (ms * 1e-3) / 1e12);
  }
}

// Vision-tower attention (Qwen3-VL-2B vision: 16 heads, head_dim 64) over one segment
// per image: 448² → 784 patches, 1024² → 4096 patches.
void bench_vision_attention(Backend& be, const Options& o) {
  std::printf("\n== vision attention segments (heads 16, hd 64)\n");
  std::printf("%-22s %10s %10s %8s\n", "images", "ms", "TFLOP/s", "%peak");
  const DType act = be.activation_dtype();
  struct Case { const char* what; int images, patches; };
  std::vector<Case> cases = {{"1 x 448^2", 1, 784}, {"8 x 448^2", 8, 784}, {"1 x 1024^2", 1, 4096}};
  if (o.quick) cases = {{"2 x 64", 2, 64}};
  for (const auto& c : cases) {
    const int64_t n = int64_t(c.images) * c.patches;
    Buffer q(be, act, {n, 16, 64}), k(be, act, {n, 16, 64}), v(be, act, {n, 16, 64}), out(be, act, {n, 16, 64});
    fill_random(be, q, 1.0f, 41);
    fill_random(be, k, 1.0f, 42);
    fill_random(be, v, 1.0f, 43);
    std::vector<int32_t> cu{0};
    for (int i = 0; i < c.images; ++i) cu.push_back(cu.back() + c.patches);
    const double ms = time_ms(be, o.quick ? 2 : 20, [&] { be.attention_segments(out, q, k, v, cu, 0.125f); });
    const double flops = 4.0 * c.images * double(c.patches) * c.patches * 16 * 64;
    const double tflops = flops / (ms * 1e-3) / 1e12;
    std::printf("%-22s %10.4f %10.1f %7.1f%%\n", c.what, ms, tflops, 100.0 * tflops / o.peak_tflops);
  }
}

// One text-decoder step with Qwen3-VL-2B shapes, built from the backend ops the model
// uses (fused QKV and gate_up as the weights loader lays them out).
struct TextShapes {
  const char* name = "Qwen3-VL-2B";
  int layers = 28, hidden = 2048, inter = 6144, heads = 16, kv_heads = 8, hd = 128, vocab = 151936;
  bool tied = true;
  double weight_bytes() const {  // bf16 matrices read per decode step
    const double layer = double((heads + 2 * kv_heads) * hd) * hidden + double(heads * hd) * hidden + 3.0 * inter * hidden;
    return 2.0 * (layers * layer + double(vocab) * hidden);
  }
};
const TextShapes k2B{};
const TextShapes k8B{"Qwen3-VL-8B", 36, 4096, 12288, 32, 8, 128, 151936, false};

void bench_model_step(Backend& be, const Options& o, TextShapes s) {
  if (o.quick) s = TextShapes{"tiny", 2, 256, 512, 4, 2, 64, 1000, true};
  const DType act = be.activation_dtype();
  const DType wt = act;  // CUDA: bf16 weights; CPU: f32 (the bench does not test mixed types)
  const int qkv = (s.heads + 2 * s.kv_heads) * s.hd;
  struct Layer { Buffer ln1, ln2, qn, kn, wqkv, wo, wgu, wd; };
  std::vector<Layer> layers;
  size_t weight_bytes = 0;
  for (int l = 0; l < s.layers; ++l) {
    Layer L{Buffer(be, wt, {s.hidden}), Buffer(be, wt, {s.hidden}), Buffer(be, wt, {s.hd}), Buffer(be, wt, {s.hd}),
            Buffer(be, wt, {qkv, s.hidden}), Buffer(be, wt, {s.hidden, s.heads * s.hd}),
            Buffer(be, wt, {2 * s.inter, s.hidden}), Buffer(be, wt, {s.hidden, s.inter})};
    for (Buffer* b : {&L.ln1, &L.ln2, &L.qn, &L.kn}) fill_random(be, *b, 1.0f, 10 + l);
    for (Buffer* b : {&L.wqkv, &L.wo, &L.wgu, &L.wd}) {
      fill_random(be, *b, 0.02f, 20 + l);
      weight_bytes += b->tensor().nbytes();
    }
    layers.push_back(std::move(L));
  }
  Buffer embed(be, wt, {s.vocab, s.hidden}), final_norm(be, wt, {s.hidden});
  fill_random(be, embed, 0.02f, 99);
  fill_random(be, final_norm, 1.0f, 98);
  Buffer untied_head;  // 8B: its own lm_head; 2B: the embedding doubles as the head
  if (!s.tied) {
    untied_head = Buffer(be, wt, {s.vocab, s.hidden});
    fill_random(be, untied_head, 0.02f, 97);
  }
  const Tensor lm_head = s.tied ? embed.tensor() : untied_head.tensor();
  weight_bytes += lm_head.nbytes();  // the LM head is read once per step

  std::printf("\n== text decoder step, %s shapes (%d layers, hidden %d, %.2f GB of weights read per step)\n",
              s.name, s.layers, s.hidden, weight_bytes / 1e9);
  std::printf("%-8s %6s %7s %10s %12s %12s %8s\n", "phase", "batch", "ctx", "ms/step", "tokens/s", "limit tok/s", "%limit");

  struct Case { const char* phase; int batch, q_len, ctx; };
  std::vector<Case> cases = {{"decode", 1, 1, 1024}, {"decode", 8, 1, 1024}, {"decode", 64, 1, 1024}, {"prefill", 1, 2048, 2048}};
  if (o.quick) cases = {{"decode", 2, 1, 64}, {"prefill", 1, 32, 32}};
  for (const auto& c : cases) {
    const int64_t rows = int64_t(c.batch) * c.q_len;
    const int64_t slots = int64_t(c.batch) * c.ctx;
    // One pool per layer, as the engine's KV pool keeps per-layer buffers.
    std::vector<Buffer> kpool, vpool;
    for (int l = 0; l < s.layers; ++l) {
      kpool.emplace_back(be, act, std::initializer_list<int64_t>{slots, s.kv_heads, s.hd});
      vpool.emplace_back(be, act, std::initializer_list<int64_t>{slots, s.kv_heads, s.hd});
      fill_random(be, kpool.back(), 1.0f, 200 + l);
      fill_random(be, vpool.back(), 1.0f, 300 + l);
    }
    std::vector<int32_t> ids(static_cast<size_t>(rows)), q_start, q_len, kv_len, table(static_cast<size_t>(slots)), new_slots;
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 7919) % s.vocab);
    for (int b = 0; b < c.batch; ++b) {
      q_start.push_back(b * c.q_len);
      q_len.push_back(c.q_len);
      kv_len.push_back(c.ctx);
      for (int j = 0; j < c.ctx; ++j) table[size_t(b) * c.ctx + j] = b * c.ctx + j;
      for (int j = c.ctx - c.q_len; j < c.ctx; ++j) new_slots.push_back(b * c.ctx + j);
    }
    auto upload = [&](const std::vector<int32_t>& v, std::initializer_list<int64_t> dims) {
      Buffer b(be, DType::I32, dims);
      be.copy_from_host(b.tensor().data, v.data(), v.size() * 4);
      return b;
    };
    Buffer idd = upload(ids, {rows}), qs = upload(q_start, {c.batch}), ql = upload(q_len, {c.batch}),
           kl = upload(kv_len, {c.batch}), tb = upload(table, {c.batch, c.ctx}), ns = upload(new_slots, {rows});
    std::vector<float> cos_h(size_t(rows) * s.hd / 2), sin_h(cos_h.size());
    for (size_t i = 0; i < cos_h.size(); ++i) {
      cos_h[i] = std::cos(0.001f * float(i));
      sin_h[i] = std::sin(0.001f * float(i));
    }
    Buffer cosd(be, DType::F32, {rows, s.hd / 2}), sind(be, DType::F32, {rows, s.hd / 2});
    be.copy_from_host(cosd.tensor().data, cos_h.data(), cos_h.size() * 4);
    be.copy_from_host(sind.tensor().data, sin_h.data(), sin_h.size() * 4);

    Buffer h(be, act, {rows, s.hidden}), hn(be, act, {rows, s.hidden}), qkvb(be, act, {rows, qkv}),
        q(be, act, {rows, s.heads, s.hd}), k(be, act, {rows, s.kv_heads, s.hd}), v(be, act, {rows, s.kv_heads, s.hd}),
        attn(be, act, {rows, s.heads, s.hd}), gu(be, act, {rows, 2 * s.inter}), mlp(be, act, {rows, s.inter}),
        last(be, act, {c.batch, s.hidden}), logits(be, act, {c.batch, s.vocab});
    std::vector<int32_t> last_rows;
    for (int b = 0; b < c.batch; ++b) last_rows.push_back(b * c.q_len + c.q_len - 1);
    Buffer lr = upload(last_rows, {c.batch});
    PagedAttentionParams p;
    p.q_start = qs; p.q_len = ql; p.kv_len = kl; p.kv_slots = tb;
    p.batch = c.batch; p.max_q_len = c.q_len; p.max_kv_len = c.ctx; p.scale = 1.0f / std::sqrt(float(s.hd));
    // As the model runs it: one fused QKV GEMM, then split + QK-norm + RoPE in one op.
    const int64_t qcols = int64_t(s.heads) * s.hd;
    auto step = [&] {
      be.embedding(h, embed, idd);
      for (int l = 0; l < s.layers; ++l) {
        Layer& L = layers[size_t(l)];
        be.rms_norm(hn, h, L.ln1, 1e-6f);
        be.linear(qkvb, hn, L.wqkv, nullptr);
        be.qkv_norm_rope(q, k, v, qkvb, L.qn, L.kn, 1e-6f, cosd, sind);
        be.kv_store(kpool[size_t(l)], vpool[size_t(l)], k, v, ns);
        be.attention_paged(attn, q, kpool[size_t(l)], vpool[size_t(l)], p);
        be.linear(hn, attn.tensor().view({rows, qcols}), L.wo, nullptr);
        be.add(h, h, hn);
        be.rms_norm(hn, h, L.ln2, 1e-6f);
        be.linear(gu, hn, L.wgu, nullptr);
        be.silu_mul(mlp, gu);
        be.linear(hn, mlp, L.wd, nullptr);
        be.add(h, h, hn);
      }
      be.gather_rows(last, h, lr);
      be.rms_norm(last, last, final_norm, 1e-6f);
      be.linear(logits, last, lm_head, nullptr);
    };
    const double ms = time_ms(be, o.quick ? 1 : (c.q_len > 1 ? 5 : 20), step);
    const double tokens = double(rows);
    const double tok_s = tokens / (ms * 1e-3);
    // Decode limit: every weight byte read once per step; prefill limit: 2·params FLOPs per token.
    double limit;
    if (c.q_len == 1) {
      limit = c.batch / (weight_bytes / (o.peak_gbps * 1e9));
    } else {
      const double params = weight_bytes / double(dtype_size(wt));
      limit = (o.peak_tflops * 1e12) / (2.0 * params);
    }
    std::printf("%-8s %6d %7d %10.3f %12.0f %12.0f %7.1f%%\n", c.phase, c.batch, c.ctx, ms, tok_s, limit,
                100.0 * tok_s / limit);
    if (c.q_len == 1) {
      // The same decode step recorded once as a CUDA graph and replayed (no per-op launches).
      std::unique_ptr<StepGraph> graph = be.capture(step);
      if (graph) {
        const double gms = time_ms(be, o.quick ? 1 : 20, [&] { graph->replay(); });
        const double gtok_s = tokens / (gms * 1e-3);
        std::printf("%-8s %6d %7d %10.3f %12.0f %12.0f %7.1f%%\n", "+graph", c.batch, c.ctx, gms, gtok_s, limit,
                    100.0 * gtok_s / limit);
      }
    }
  }
}

// Backend::sample over the real vocabulary: greedy, Qwen3-VL's default filters (top-k 20,
// top-p 0.8) and the unfiltered full-vocabulary draw (the worst case: every logit sorted).
void bench_sampling(Backend& be, const Options& o) {
  const int64_t vocab = o.quick ? 1000 : 151936;
  std::printf("\n== sampling (vocab %ld, ids back on the host)\n", long(vocab));
  std::printf("%-28s %6s %10s\n", "mode", "batch", "ms");
  struct Mode { const char* name; float temperature; int top_k; float top_p; };
  const Mode modes[] = {{"greedy", 0.0f, 0, 1.0f}, {"top-k 20, top-p 0.8, T 0.7", 0.7f, 20, 0.8f},
                        {"full vocab, T 1", 1.0f, 0, 1.0f}};
  for (int batch : {1, 64}) {
    Buffer logits(be, be.activation_dtype(), {batch, vocab});
    fill_random(be, logits, 3.0f, 77);
    std::vector<int32_t> ids(static_cast<size_t>(batch));
    for (const Mode& m : modes) {
      SamplingBatch sb;
      for (int b = 0; b < batch; ++b) {
        SamplingRow r;
        r.temperature = m.temperature;
        r.top_k = m.top_k;
        r.top_p = m.top_p;
        r.uniform = (b + 0.5) / batch;
        sb.rows.push_back(r);
      }
      const double ms = time_ms(be, o.quick ? 2 : 20, [&] { be.sample(ids.data(), logits, sb); });
      std::printf("%-28s %6d %10.4f\n", m.name, batch, ms);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  loupe::test::prepare_cuda_test_env();
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) o.device = argv[++i];
    else if (a == "--attention" && i + 1 < argc) o.attention = argv[++i];
    else if (a == "--quick") o.quick = true;
    else if (a == "--no-8b") o.with_8b = false;
    else if (a == "--peak-tflops" && i + 1 < argc) o.peak_tflops = std::atof(argv[++i]);
    else if (a == "--peak-gbps" && i + 1 < argc) o.peak_gbps = std::atof(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: %s [--device cuda:0|cpu] [--attention fast|generic] [--quick] [--no-8b] [--peak-tflops X]"
                   " [--peak-gbps Y]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    auto be = make_backend(Device::parse(o.device), 0, parse_cuda_attention(o.attention));
    std::printf("backend %s; limits used: %.0f TFLOP/s, %.0f GB/s\n", be->name().c_str(), o.peak_tflops, o.peak_gbps);
    bench_gemm(*be, o);
    bench_attention(*be, o);
    bench_vision_attention(*be, o);
    bench_sampling(*be, o);
    bench_model_step(*be, o, k2B);
    // 8B shapes when the device holds them with room for the step's KV pools.
    if (!o.quick && o.with_8b && double(be->free_memory()) > k8B.weight_bytes() + 16e9) bench_model_step(*be, o, k8B);
    else if (!o.quick && o.with_8b) std::printf("\n(8B decoder step skipped: %.1f GB free)\n", be->free_memory() / 1e9);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_backend_ops: %s: %s\n", error_kind_name(e.kind()), e.what());
    return 1;
  }
  return 0;
}
