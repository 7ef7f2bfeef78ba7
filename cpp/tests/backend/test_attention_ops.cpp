// Conformance of attention: vision-style segments (bidirectional within each segment)
// and causal attention over the paged token pool (prefill, prefill after a cached
// prefix, decode, long decode that takes the split-K path, GQA groups 1-8).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "conformance.h"
#include "reference_ops.h"

namespace loupe::test {
namespace {

Tolerance attention_tolerance(DType act) { return tolerance_for(act, 2e-5, 2e-2); }

TEST_P(BackendTest, AttentionSegmentsMatchesReference) {
  struct Case {
    std::vector<int32_t> lengths;
    int64_t heads, kv_heads, hd;
  };
  const Case cases[] = {
      {{1}, 1, 1, 16},
      {{7, 33, 1}, 4, 4, 64},
      {{130}, 2, 2, 72},
      {{33, 0, 130, 5}, 3, 3, 128},  // an empty segment is allowed and skipped
  };
  for (const auto& c : cases) {
    std::vector<int32_t> cu{0};
    for (int32_t len : c.lengths) cu.push_back(cu.back() + len);
    const int64_t n = cu.back();
    std::vector<float> q, k, v;
    Buffer qd = random(act(), {n, c.heads, c.hd}, q), kd = random(act(), {n, c.kv_heads, c.hd}, k),
           vd = random(act(), {n, c.kv_heads, c.hd}, v);
    Buffer od(backend(), act(), {n, c.heads, c.hd});
    const double scale = 1.0 / std::sqrt(double(c.hd));
    backend().attention_segments(od, qd, kd, vd, cu, float(scale));

    std::vector<double> want(static_cast<size_t>(n * c.heads * c.hd));
    const int64_t group = c.heads / c.kv_heads;
    for (size_t s = 0; s + 1 < cu.size(); ++s) {
      std::vector<int64_t> keys(static_cast<size_t>(cu[s + 1] - cu[s]));
      std::iota(keys.begin(), keys.end(), int64_t(cu[s]));
      for (int64_t r = cu[s]; r < cu[s + 1]; ++r)
        for (int64_t h = 0; h < c.heads; ++h)
          ref::attend_row(q, (r * c.heads + h) * c.hd, k, v, keys, c.kv_heads, h / group, c.hd, scale,
                          &want[size_t((r * c.heads + h) * c.hd)]);
    }
    expect_close(download(od), want, attention_tolerance(act()),
                 "segments n=" + std::to_string(n) + " heads=" + std::to_string(c.heads) + " hd=" + std::to_string(c.hd));
  }
}

struct Seq {
  int32_t q_len, kv_len;  // the new tokens are the last q_len of kv_len
};

}  // namespace

// Paged cases: random pool, each sequence's tokens at scattered slots, scalar reference.
class PagedAttentionCase : public BackendTest {
 protected:
  void run(const std::vector<Seq>& seqs, int64_t heads, int64_t kv_heads, int64_t hd) {
    const int64_t batch = int64_t(seqs.size());
    int64_t total_q = 0, total_kv = 0;
    int32_t max_q = 0, max_kv = 0;
    for (const auto& s : seqs) {
      total_q += s.q_len;
      total_kv += s.kv_len;
      max_q = std::max(max_q, s.q_len);
      max_kv = std::max(max_kv, s.kv_len);
    }
    const int64_t pool = total_kv + 17;  // some slots nobody uses
    std::vector<float> q, kc, vc;
    Buffer qd = random(act(), {total_q, heads, hd}, q);
    Buffer kd = random(act(), {pool, kv_heads, hd}, kc), vd = random(act(), {pool, kv_heads, hd}, vc);

    // Slot table [batch, max_kv]: each sequence's tokens live at scattered pool slots.
    std::vector<int32_t> perm(static_cast<size_t>(pool));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng());
    std::vector<int32_t> slots(static_cast<size_t>(batch * max_kv), 0), q_start, q_len, kv_len;
    int64_t next = 0, q_row = 0;
    for (int64_t b = 0; b < batch; ++b) {
      for (int32_t j = 0; j < seqs[b].kv_len; ++j) slots[size_t(b * max_kv + j)] = perm[size_t(next++)];
      q_start.push_back(int32_t(q_row));
      q_len.push_back(seqs[b].q_len);
      kv_len.push_back(seqs[b].kv_len);
      q_row += seqs[b].q_len;
    }
    PagedAttentionParams p;
    Buffer qs = upload_i32({batch}, q_start), ql = upload_i32({batch}, q_len), kl = upload_i32({batch}, kv_len);
    Buffer sl = upload_i32({batch, max_kv}, slots);
    p.q_start = qs; p.q_len = ql; p.kv_len = kl; p.kv_slots = sl;
    p.batch = int(batch); p.max_q_len = max_q; p.max_kv_len = max_kv;
    const double scale = 1.0 / std::sqrt(double(hd));
    p.scale = float(scale);
    Buffer od(backend(), act(), {total_q, heads, hd});
    backend().attention_paged(od, qd, kd, vd, p);

    std::vector<double> want(static_cast<size_t>(total_q * heads * hd));
    const int64_t group = heads / kv_heads;
    for (int64_t b = 0; b < batch; ++b)
      for (int32_t i = 0; i < seqs[b].q_len; ++i) {
        const int32_t visible = seqs[b].kv_len - seqs[b].q_len + i + 1;
        std::vector<int64_t> keys(static_cast<size_t>(visible));
        for (int32_t j = 0; j < visible; ++j) keys[size_t(j)] = slots[size_t(b * max_kv + j)];
        const int64_t row = q_start[b] + i;
        for (int64_t h = 0; h < heads; ++h)
          ref::attend_row(q, (row * heads + h) * hd, kc, vc, keys, kv_heads, h / group, hd, scale,
                          &want[size_t((row * heads + h) * hd)]);
      }
    std::string label = "paged heads=" + std::to_string(heads) + "/" + std::to_string(kv_heads) +
                        " hd=" + std::to_string(hd) + " seqs=";
    for (const auto& s : seqs) label += "(" + std::to_string(s.q_len) + "," + std::to_string(s.kv_len) + ")";
    expect_close(download(od), want, attention_tolerance(act()), label);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, PagedAttentionCase, ::testing::Values("cpu", "cuda:0"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "cpu" ? std::string("cpu") : std::string("cuda0");
                         });

TEST_P(PagedAttentionCase, PrefillFromEmptyCache) {
  run({{1, 1}}, 2, 2, 16);
  run({{7, 7}, {33, 33}}, 4, 2, 64);
  run({{130, 130}}, 8, 1, 128);
}

TEST_P(PagedAttentionCase, PrefillAfterCachedPrefix) {
  run({{5, 40}, {1, 9}, {33, 130}}, 4, 1, 72);
  run({{16, 100}}, 16, 2, 128);
  run({{100, 300}, {70, 70}, {17, 18}}, 8, 2, 128);  // several 64-row query tiles per sequence
  run({{65, 65}, {64, 200}}, 4, 4, 64);
}

TEST_P(PagedAttentionCase, DecodeBatchOfDifferentLengths) {
  run({{1, 1}, {1, 7}, {1, 33}, {1, 130}}, 8, 8, 64);
  run({{1, 300}, {1, 2}}, 4, 4, 72);
}

TEST_P(PagedAttentionCase, LongDecodeSplitsKeys) {
  // One sequence, few heads, thousands of keys: the CUDA backend splits the keys.
  run({{1, 3000}}, 8, 2, 128);
  run({{1, 1000}, {2, 1500}}, 4, 4, 64);
}

TEST_P(PagedAttentionCase, GqaGroupsOneToEight) {
  for (int64_t group : {1, 2, 4, 8}) {
    run({{3, 20}, {1, 50}}, 2 * group, 2, 64);  // mixed prefill/decode
    run({{1, 700}, {1, 33}, {1, 1}}, 2 * group, 2, 128);  // pure decode batch
  }
}

TEST_P(PagedAttentionCase, DecodeHeadDims) {
  for (int64_t hd : {16, 64, 72, 128, 256}) run({{1, 77}, {1, 1030}}, 4, 2, hd);
}

}  // namespace loupe::test
