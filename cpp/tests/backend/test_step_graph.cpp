// Step graphs (Backend::capture): N decode steps of a small decoder layer run eagerly on one
// set of buffers and by graph replay on an identical second set, with new token inputs,
// cache slots and lengths written between steps; outputs must match bit for bit. Backends
// without graphs (CPU) run both sets eagerly and then skip.
#include <cmath>

#include "conformance.h"

namespace loupe::test {
namespace {

constexpr int64_t kBatch = 3, kHidden = 64, kHeads = 4, kKvHeads = 2, kHd = 32, kSlots = 64, kSteps = 5;

// Everything one decode step reads or writes, at fixed addresses.
struct StepBuffers {
  Buffer x, norm_w, wqkv, qn, kn, wo, qkv, q, k, v, attn, out, k_cache, v_cache;
  Buffer cos, sin, q_start, q_len, kv_len, kv_slots, out_loc;
};

TEST_P(BackendTest, GraphReplayMatchesEagerDecodeSteps) {
  Backend& be = backend();
  const int64_t width = (kHeads + 2 * kKvHeads) * kHd;
  std::vector<float> host;
  auto make = [&](uint32_t salt) {
    rng().seed(1000 + salt);  // both sets get the same weights
    StepBuffers s;
    s.x = Buffer(be, act(), {kBatch, kHidden});
    s.norm_w = random(act(), {kHidden}, host);
    s.wqkv = random(act(), {width, kHidden}, host, 0.125f);
    s.qn = random(act(), {kHd}, host);
    s.kn = random(act(), {kHd}, host);
    s.wo = random(act(), {kHidden, kHeads * kHd}, host, 0.1f);
    s.qkv = Buffer(be, act(), {kBatch, width});
    s.q = Buffer(be, act(), {kBatch, kHeads, kHd});
    s.k = Buffer(be, act(), {kBatch, kKvHeads, kHd});
    s.v = Buffer(be, act(), {kBatch, kKvHeads, kHd});
    s.attn = Buffer(be, act(), {kBatch, kHeads, kHd});
    s.out = Buffer(be, act(), {kBatch, kHidden});
    s.k_cache = random(act(), {kSlots, kKvHeads, kHd}, host);
    s.v_cache = random(act(), {kSlots, kKvHeads, kHd}, host);
    s.cos = Buffer(be, DType::F32, {kBatch, kHd / 2});
    s.sin = Buffer(be, DType::F32, {kBatch, kHd / 2});
    s.q_start = Buffer(be, DType::I32, {kBatch});
    s.q_len = Buffer(be, DType::I32, {kBatch});
    s.kv_len = Buffer(be, DType::I32, {kBatch});
    s.kv_slots = Buffer(be, DType::I32, {kBatch, kSlots / kBatch});
    s.out_loc = Buffer(be, DType::I32, {kBatch});
    return s;
  };
  StepBuffers eager = make(0), graphed = make(0);
  auto run_step = [&](StepBuffers& s) {
    PagedAttentionParams p;
    p.q_start = s.q_start;
    p.q_len = s.q_len;
    p.kv_len = s.kv_len;
    p.kv_slots = s.kv_slots;
    p.batch = int(kBatch);
    p.max_q_len = 1;
    p.max_kv_len = int(kSlots / kBatch);  // capacity: the kernels read the real lengths
    p.scale = 1.0f / std::sqrt(float(kHd));
    be.rms_norm(s.out, s.x, s.norm_w, 1e-6f);
    be.linear(s.qkv, s.out, s.wqkv, nullptr);
    be.qkv_norm_rope(s.q, s.k, s.v, s.qkv, s.qn, s.kn, 1e-6f, s.cos, s.sin);
    be.kv_store(s.k_cache, s.v_cache, s.k, s.v, s.out_loc);
    be.attention_paged(s.attn, s.q, s.k_cache, s.v_cache, p);
    be.linear(s.out, s.attn.tensor().view({kBatch, kHeads * kHd}), s.wo, nullptr);
    be.add(s.out, s.out, s.x);
  };
  std::unique_ptr<StepGraph> graph = be.capture([&] { run_step(graphed); });
  // Without graphs the second set runs eagerly too: the harness still runs, then skips.
  auto replay = [&] { graph ? graph->replay() : run_step(graphed); };

  const int64_t per_seq = kSlots / kBatch;
  std::vector<int32_t> q_start, q_len(kBatch, 1), slots(static_cast<size_t>(kSlots));
  for (int64_t b = 0; b < kBatch; ++b) q_start.push_back(int32_t(b));
  for (int64_t i = 0; i < kSlots; ++i) slots[size_t(i)] = int32_t((i * 7) % kSlots);  // scattered pages
  for (int64_t step = 0; step < kSteps; ++step) {
    std::vector<float> x(size_t(kBatch * kHidden)), cos(size_t(kBatch * kHd / 2)), sin(cos.size());
    std::normal_distribution<float> normal;
    for (float& v : x) v = round_to(act(), normal(rng()));
    for (size_t i = 0; i < cos.size(); ++i) {
      cos[i] = std::cos(0.1f * float(i + step));
      sin[i] = std::sin(0.1f * float(i + step));
    }
    std::vector<int32_t> kv_len, loc;
    for (int64_t b = 0; b < kBatch; ++b) {
      kv_len.push_back(int32_t(10 + 2 * step + b));
      loc.push_back(slots[size_t(b * per_seq + kv_len.back() - 1)]);
    }
    for (StepBuffers* s : {&eager, &graphed}) {
      auto put = [&](const Buffer& dst, const void* src, size_t bytes) { be.copy_from_host(dst.tensor().data, src, bytes); };
      if (act() == DType::F32) {
        put(s->x, x.data(), x.size() * sizeof(float));
      } else {
        std::vector<uint16_t> bits(x.size());
        for (size_t i = 0; i < x.size(); ++i) bits[i] = f32_to_bf16(x[i]);
        put(s->x, bits.data(), bits.size() * sizeof(uint16_t));
      }
      put(s->cos, cos.data(), cos.size() * 4);
      put(s->sin, sin.data(), sin.size() * 4);
      put(s->q_start, q_start.data(), q_start.size() * 4);
      put(s->q_len, q_len.data(), q_len.size() * 4);
      put(s->kv_len, kv_len.data(), kv_len.size() * 4);
      put(s->kv_slots, slots.data(), slots.size() * 4);
      put(s->out_loc, loc.data(), loc.size() * 4);
    }
    run_step(eager);
    replay();
    be.synchronize();
    EXPECT_EQ(download(eager.out), download(graphed.out)) << "step " << step;
    EXPECT_EQ(download(eager.k_cache), download(graphed.k_cache)) << "step " << step;
  }
  if (!graph) GTEST_SKIP() << be.name() << " has no step graphs (harness ran eagerly)";
}

TEST_P(BackendTest, GraphCaptureRejectsHostCopies) {
  Buffer d(backend(), DType::I32, {4});
  std::vector<int32_t> h(4, 1);
  std::unique_ptr<StepGraph> probe = backend().capture([] {});
  if (!probe) GTEST_SKIP() << backend().name() << " has no step graphs";
  EXPECT_THROW(backend().capture([&] { backend().copy_from_host(d.tensor().data, h.data(), 16); }), Error);
  // The backend still works after the failed capture.
  backend().copy_from_host(d.tensor().data, h.data(), 16);
  std::vector<int32_t> back(4, 0);
  backend().copy_to_host(back.data(), d.tensor().data, 16);
  EXPECT_EQ(back, h);
}

}  // namespace
}  // namespace loupe::test
