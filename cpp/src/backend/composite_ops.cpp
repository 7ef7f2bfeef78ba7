// Default implementations of the fused Backend ops, composed from the primitive ops: the
// reference the fused kernels are tested against, and what a backend without its own
// kernel runs. Compiled into libloupe_cuda.so as well (it carries Backend's vtable), so
// this file uses nothing but the Backend interface and core.
#include <vector>

#include "backend/backend.h"
#include "core/error.h"

namespace loupe {

void Backend::qkv_norm_rope(Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor q_norm, Tensor k_norm, float eps,
                            Tensor cos, Tensor sin) {
  LOUPE_CHECK(q.ndim == 3 && k.ndim == 3 && v.ndim == 3, InvalidArgument,
              "qkv_norm_rope: q, k, v must be [n, heads, hd], got ", q.describe(), ", ", k.describe(), ", ",
              v.describe());
  const int64_t n = q.dim(0), H = q.dim(1), K = k.dim(1), hd = q.dim(2);
  LOUPE_CHECK(k.dim(0) == n && v.dim(0) == n && k.dim(2) == hd && v.dim(1) == K && v.dim(2) == hd &&
                  qkv.rows() == n && qkv.cols() == (H + 2 * K) * hd && q.dtype == qkv.dtype &&
                  k.dtype == qkv.dtype && v.dtype == qkv.dtype,
              InvalidArgument, "qkv_norm_rope shapes: qkv ", qkv.describe(), " into q ", q.describe(), ", k ",
              k.describe(), ", v ", v.describe());
  if (n == 0) return;
  // Rows of qkv viewed as [n·(H+2K), hd]: per token, H q heads, then K k heads, K v heads.
  std::vector<int32_t> iq(size_t(n * H)), ik(size_t(n * K)), iv(size_t(n * K));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < H; ++h) iq[size_t(t * H + h)] = int32_t(t * (H + 2 * K) + h);
    for (int64_t h = 0; h < K; ++h) {
      ik[size_t(t * K + h)] = int32_t(t * (H + 2 * K) + H + h);
      iv[size_t(t * K + h)] = int32_t(t * (H + 2 * K) + H + K + h);
    }
  }
  const Tensor heads = qkv.view({n * (H + 2 * K), hd});
  auto gather = [&](Tensor dst, const std::vector<int32_t>& rows) {
    const size_t bytes = rows.size() * sizeof(int32_t);
    Tensor idx(allocate(bytes), DType::I32, {int64_t(rows.size())}, device());
    try {
      copy_from_host(idx.data, rows.data(), bytes);
      gather_rows(dst.view({int64_t(rows.size()), hd}), heads, idx);
    } catch (...) {
      deallocate(idx.data);
      throw;
    }
    deallocate(idx.data);
  };
  gather(q, iq);
  gather(k, ik);
  gather(v, iv);
  rms_norm(q, q, q_norm, eps);
  rms_norm(k, k, k_norm, eps);
  rope(q, cos, sin);
  rope(k, cos, sin);
}

}  // namespace loupe
