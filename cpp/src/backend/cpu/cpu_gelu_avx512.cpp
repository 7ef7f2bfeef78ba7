// tanh-GELU on AVX-512, 16 lanes at a time, as x·σ(2u) (0.5·(1 + tanh u) = σ(2u)):
// with e = e^{−2|u|} from the shared vector exp, σ(2u) = 1/(1 + e) for u ≥ 0 and e/(1 + e)
// for u < 0. The exp argument is never positive, so nothing overflows, and unlike
// 0.5·x·(1 + tanh u) in fp32 the negative tail keeps its value instead of cancelling to 0.
#include <immintrin.h>

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_vector_math.h"

#define LOUPE_AVX512F_TARGET __attribute__((target("avx512f")))

namespace loupe::cpu {
namespace {

LOUPE_AVX512F_TARGET inline __m512 gelu16(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), v3, v));
  const __m512 e = exp_nonpositive(_mm512_mul_ps(_mm512_abs_ps(u), _mm512_set1_ps(-2.0f)));
  const __mmask16 negative = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 numerator = _mm512_mask_blend_ps(negative, one, e);
  return _mm512_mul_ps(v, _mm512_div_ps(numerator, _mm512_add_ps(one, e)));
}

}  // namespace

LOUPE_AVX512F_TARGET void gelu_tanh_avx512(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, mask, gelu16(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

}  // namespace loupe::cpu
