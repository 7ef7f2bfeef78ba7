// Vision (segment) attention and causal GQA attention over the token-slot KV pool.
#include <algorithm>
#include <cstring>
#include <utility>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_decode_attention.h"
#include "backend/cpu/cpu_flash_attention.h"
#include "backend/cpu/cpu_kernels.h"

namespace loupe {

void CpuBackend::attention_segments(Tensor out, Tensor q, Tensor k, Tensor v, const std::vector<int32_t>& cu_seqlens,
                                    float scale) {
  LOUPE_CHECK(q.ndim == 3 && q.dtype == DType::F32 && k.numel() == q.numel() && v.numel() == q.numel() &&
                  out.numel() == q.numel(),
              Internal, "cpu attention_segments: q/k/v/out must be f32 [n, heads, d]");
  const int64_t n = q.dim(0), heads = q.dim(1), d = q.dim(2);
  LOUPE_CHECK(cu_seqlens.size() >= 2 && cu_seqlens.front() == 0 && cu_seqlens.back() == n, Internal,
              "cpu attention_segments: cu_seqlens must span [0, ", n, "]");
  const float *qp = q.ptr<float>(), *kp = k.ptr<float>(), *vp = v.ptr<float>();
  float* op = out.ptr<float>();
  if (cpu::has_avx512f() && d % 16 == 0 && d <= 256) {
    // Blocked kernel: one task per (segment, head) gathers that head's keys once.
    const int64_t segments = int64_t(cu_seqlens.size()) - 1;
    pool_->parallel_for(segments * heads, [&](int64_t tb, int64_t te) {
      thread_local cpu::HeadKeys keys;
      for (int64_t task = tb; task < te; ++task) {
        const int64_t s = task / heads, h = task % heads, begin = cu_seqlens[s], len = cu_seqlens[s + 1] - begin;
        if (len <= 0) continue;
        cpu::gather_head_keys(keys, len, d, [&](int64_t j) {
          const int64_t row = ((begin + j) * heads + h) * d;
          return std::pair<const float*, const float*>(kp + row, vp + row);
        });
        const int64_t first = (begin * heads + h) * d;
        cpu::attend_queries(op + first, heads * d, qp + first, heads * d, len, nullptr, keys, scale);
      }
    }, n * n * d >= cpu::kParallelWork);
    return;
  }
  // Segment of every token, so one flat parallel loop covers (token, head).
  std::vector<int32_t> seg_begin(n), seg_end(n);
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s)
    for (int32_t t = cu_seqlens[s]; t < cu_seqlens[s + 1]; ++t) {
      seg_begin[t] = cu_seqlens[s];
      seg_end[t] = cu_seqlens[s + 1];
    }
  const int64_t work = n * heads * d * 4 * (n / std::max<int64_t>(int64_t(cu_seqlens.size()) - 1, 1));
  pool_->parallel_for(n * heads, [&](int64_t tb, int64_t te) {
    for (int64_t task = tb; task < te; ++task) {
      const int64_t t = task / heads, h = task % heads;
      const int64_t begin = seg_begin[t];
      cpu::attend_one(op + task * d, qp + task * d, seg_end[t] - begin, d, scale, [&](int64_t j) {
        const int64_t row = ((begin + j) * heads + h) * d;
        return std::pair<const float*, const float*>(kp + row, vp + row);
      });
    }
  }, work >= cpu::kParallelWork);
}

void CpuBackend::kv_store(Tensor k_cache, Tensor v_cache, Tensor k, Tensor v, Tensor slots) {
  LOUPE_CHECK(k_cache.dtype == DType::F32 && k.dtype == DType::F32 && slots.dtype == DType::I32, Internal,
              "cpu kv_store: f32 caches and i32 slots expected");
  const int64_t n = slots.numel(), row = k.numel() / (n ? n : 1);
  LOUPE_CHECK(k.numel() == n * row && v.numel() == n * row && k_cache.numel() % row == 0, Internal,
              "cpu kv_store: shape mismatch");
  const int64_t capacity = k_cache.numel() / row;
  const int32_t* s = slots.ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    LOUPE_CHECK(s[i] >= 0 && s[i] < capacity, Internal, "cpu kv_store: slot ", s[i], " outside pool of ", capacity);
    std::memcpy(k_cache.ptr<float>() + s[i] * row, k.ptr<float>() + i * row, size_t(row) * sizeof(float));
    std::memcpy(v_cache.ptr<float>() + s[i] * row, v.ptr<float>() + i * row, size_t(row) * sizeof(float));
  }
}

void CpuBackend::attention_paged(Tensor out, Tensor q, Tensor k_cache, Tensor v_cache,
                                 const PagedAttentionParams& p) {
  LOUPE_CHECK(q.ndim == 3 && k_cache.ndim == 3 && q.dtype == DType::F32 && k_cache.dtype == DType::F32, Internal,
              "cpu attention_paged: q [n, heads, hd] and caches [slots, kv_heads, hd] in f32 expected");
  const int64_t heads = q.dim(1), hd = q.dim(2), kv_heads = k_cache.dim(1), capacity = k_cache.dim(0);
  LOUPE_CHECK(k_cache.dim(2) == hd && heads % kv_heads == 0, Internal, "cpu attention_paged: head layout mismatch");
  const int64_t group = heads / kv_heads;
  const int32_t *q_start = p.q_start.ptr<int32_t>(), *q_len = p.q_len.ptr<int32_t>(),
                *kv_len = p.kv_len.ptr<int32_t>(), *slots = p.kv_slots.ptr<int32_t>();
  const int64_t stride = p.kv_slots.ndim >= 2 ? p.kv_slots.dim(1) : p.kv_slots.numel() / std::max(p.batch, 1);
  // Flat task list (sequence, query row) so uneven sequences still balance across threads.
  std::vector<std::pair<int32_t, int32_t>> rows;
  for (int b = 0; b < p.batch; ++b) {
    LOUPE_CHECK(q_len[b] <= kv_len[b] && kv_len[b] <= stride, Internal, "cpu attention_paged: bad lengths for seq ", b);
    for (int32_t i = 0; i < q_len[b]; ++i) rows.emplace_back(b, i);
  }
  for (int b = 0; b < p.batch; ++b)
    for (int32_t j = 0; j < kv_len[b]; ++j)
      LOUPE_CHECK(slots[b * stride + j] >= 0 && slots[b * stride + j] < capacity, Internal,
                  "cpu attention_paged: slot outside the pool");
  const float *qp = q.ptr<float>(), *kp = k_cache.ptr<float>(), *vp = v_cache.ptr<float>();
  float* op = out.ptr<float>();
  const int64_t work = int64_t(rows.size()) * heads * hd * 4 * std::max(p.max_kv_len, 1);
  // Causal rows get longer towards the end: slot s of a parallel loop takes the task that
  // pairs the k-th shortest with the k-th longest, so every contiguous range of slots
  // carries about the same work.
  auto balanced = [](int64_t slot, int64_t tasks) { return slot % 2 == 0 ? slot / 2 : tasks - 1 - slot / 2; };
  if (cpu::has_avx512f() && hd % 16 == 0 && hd <= 256 && p.max_q_len >= 8) {
    // Prefill: one task per (sequence, kv head) gathers its keys once through the slot
    // table and serves every query row of the heads sharing them (GQA), causally.
    pool_->parallel_for(int64_t(p.batch) * kv_heads, [&](int64_t tb, int64_t te) {
      thread_local cpu::HeadKeys keys;
      thread_local std::vector<int64_t> visible;
      for (int64_t task = tb; task < te; ++task) {
        const int64_t b = task / kv_heads, g = task % kv_heads;
        if (q_len[b] <= 0) continue;
        const int32_t* seq_slots = slots + b * stride;
        cpu::gather_head_keys(keys, kv_len[b], hd, [&](int64_t j) {
          const int64_t row = (int64_t(seq_slots[j]) * kv_heads + g) * hd;
          return std::pair<const float*, const float*>(kp + row, vp + row);
        });
        visible.resize(size_t(q_len[b]));
        for (int32_t i = 0; i < q_len[b]; ++i) visible[size_t(i)] = kv_len[b] - q_len[b] + i + 1;
        for (int64_t h = g * group; h < (g + 1) * group; ++h) {
          const int64_t first = (int64_t(q_start[b]) * heads + h) * hd;
          cpu::attend_queries(op + first, heads * hd, qp + first, heads * hd, q_len[b], visible.data(), keys, p.scale);
        }
      }
    }, int64_t(rows.size()) * heads * hd * std::max(p.max_kv_len, 1) >= cpu::kParallelWork);
    return;
  }
  if (cpu::has_avx512f() && hd % 16 == 0 && hd <= 256) {
    // Decode (and short query runs): one task per (query row, kv head) serves the group's
    // query heads from each key/value load.
    const int64_t tasks = int64_t(rows.size()) * kv_heads;
    pool_->parallel_for(tasks, [&](int64_t tb, int64_t te) {
      for (int64_t slot = tb; slot < te; ++slot) {
        const int64_t task = balanced(slot, tasks);
        const auto [b, i] = rows[task / kv_heads];
        const int64_t g = task % kv_heads;
        const int64_t first = ((q_start[b] + i) * heads + g * group) * hd;
        const cpu::PagedHeadRows head_rows{kp + g * hd, vp + g * hd, slots + b * stride, kv_heads * hd};
        cpu::attend_heads_decode(op + first, qp + first, int(group), kv_len[b] - q_len[b] + i + 1, hd, p.scale,
                                 head_rows);
      }
    }, work >= cpu::kParallelWork);
    return;
  }
  const int64_t tasks = int64_t(rows.size()) * heads;
  pool_->parallel_for(tasks, [&](int64_t tb, int64_t te) {
   for (int64_t slot = tb; slot < te; ++slot) {
    const int64_t task = balanced(slot, tasks);
    const auto [b, i] = rows[task / heads];
    const int64_t h = task % heads, g = h / group;
    const int64_t token = q_start[b] + i;
    const int64_t visible = kv_len[b] - q_len[b] + i + 1;  // causal: keys up to this token
    const int32_t* seq_slots = slots + b * stride;
    cpu::attend_one(op + (token * heads + h) * hd, qp + (token * heads + h) * hd, visible, hd, p.scale,
                    [&](int64_t j) {
                      const int64_t row = (int64_t(seq_slots[j]) * kv_heads + g) * hd;
                      return std::pair<const float*, const float*>(kp + row, vp + row);
                    });
   }
  }, work >= cpu::kParallelWork);
}

}  // namespace loupe
