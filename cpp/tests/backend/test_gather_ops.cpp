// Conformance of the row movers: embedding lookup, scatter (plain and accumulate),
// gather and the KV-pool store. Copies must be exact; accumulation within rounding.
#include <algorithm>
#include <numeric>

#include "conformance.h"

namespace loupe::test {
namespace {

// n distinct row indices out of [0, pool), in random order.
std::vector<int32_t> distinct_rows(std::mt19937& rng, int64_t n, int64_t pool) {
  std::vector<int32_t> all(static_cast<size_t>(pool));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(size_t(n));
  return all;
}

TEST_P(BackendTest, EmbeddingGathersTableRows) {
  for (DType table_type : {act(), DType::BF16})
    for (int64_t cols : {16, 72, 1001}) {
      const int64_t vocab = 300, n = 33;
      std::vector<float> table;
      Buffer td = random(table_type, {vocab, cols}, table);
      std::vector<int32_t> ids(static_cast<size_t>(n));
      std::uniform_int_distribution<int32_t> pick(0, int32_t(vocab - 1));
      for (auto& id : ids) id = pick(rng());
      ids[0] = 0;
      ids[1] = int32_t(vocab - 1);  // both ends of the table
      Buffer idd = upload_i32({n}, ids);
      Buffer yd(backend(), act(), {n, cols});
      backend().embedding(yd, td, idd);
      const auto got = download(yd);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(got[i * cols + c], round_to(act(), table[ids[i] * cols + c])) << "row " << i << " col " << c;
    }
}

TEST_P(BackendTest, ScatterAndGatherRowsMoveExactRows) {
  for (int64_t cols : {1, 3, 72, 1000}) {
    const int64_t pool = 130, n = 33;
    std::vector<float> dst0, src;
    Buffer dst = random(act(), {pool, cols}, dst0);
    Buffer srcd = random(act(), {n, cols}, src);
    const auto rows = distinct_rows(rng(), n, pool);
    Buffer rowsd = upload_i32({n}, rows);

    backend().scatter_rows(dst, rowsd, srcd, /*accumulate=*/false);
    auto want = dst0;
    for (int64_t i = 0; i < n; ++i) std::copy_n(&src[i * cols], cols, &want[rows[i] * cols]);
    const auto got = download(dst);
    ASSERT_EQ(got, want) << "scatter cols=" << cols;

    Buffer back(backend(), act(), {n, cols});
    backend().gather_rows(back, dst, rowsd);
    ASSERT_EQ(download(back), src) << "gather cols=" << cols;
  }
}

TEST_P(BackendTest, ScatterAccumulateAddsIntoRows) {
  const int64_t pool = 130, n = 33, cols = 72;
  std::vector<float> dst0, src;
  Buffer dst = random(act(), {pool, cols}, dst0);
  Buffer srcd = random(act(), {n, cols}, src);
  const auto rows = distinct_rows(rng(), n, pool);
  Buffer rowsd = upload_i32({n}, rows);
  backend().scatter_rows(dst, rowsd, srcd, /*accumulate=*/true);
  std::vector<double> want(dst0.begin(), dst0.end());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cols; ++c) want[rows[i] * cols + c] += src[i * cols + c];
  expect_close(download(dst), want, tolerance_for(act()), "scatter accumulate");
}

TEST_P(BackendTest, KvStoreWritesPoolSlots) {
  for (int64_t kv_heads : {1, 2})
    for (int64_t hd : {16, 72, 128}) {
      const int64_t slots = 200, n = 37;
      std::vector<float> kc0, vc0, k, v;
      Buffer kc = random(act(), {slots, kv_heads, hd}, kc0), vc = random(act(), {slots, kv_heads, hd}, vc0);
      Buffer kd = random(act(), {n, kv_heads, hd}, k), vd = random(act(), {n, kv_heads, hd}, v);
      const auto where = distinct_rows(rng(), n, slots);
      Buffer whered = upload_i32({n}, where);
      backend().kv_store(kc, vc, kd, vd, whered);
      const int64_t row = kv_heads * hd;
      auto want_k = kc0, want_v = vc0;
      for (int64_t i = 0; i < n; ++i) {
        std::copy_n(&k[i * row], row, &want_k[where[i] * row]);
        std::copy_n(&v[i * row], row, &want_v[where[i] * row]);
      }
      ASSERT_EQ(download(kc), want_k) << "k cache, kv_heads=" << kv_heads << " hd=" << hd;
      ASSERT_EQ(download(vc), want_v) << "v cache, kv_heads=" << kv_heads << " hd=" << hd;
    }
}

}  // namespace
}  // namespace loupe::test
