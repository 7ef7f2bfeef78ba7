#include "backend/cuda/cublaslt_gemm.h"

#include <algorithm>

#include "backend/cuda/cuda_check.h"

namespace loupe::cuda {

namespace {
int alignment_of(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  int align = 256;
  while (align > 1 && addr % align != 0) align >>= 1;
  return align;
}
}  // namespace

CublasLtGemm::CublasLtGemm(cudaStream_t stream, void* workspace, size_t workspace_bytes)
    : stream_(stream), workspace_(workspace), workspace_bytes_(workspace_bytes) {
  LOUPE_CUBLAS_CHECK(cublasLtCreate(&handle_));
}

CublasLtGemm::~CublasLtGemm() {
  for (auto& [key, plan] : plans_) {
    if (plan.a) cublasLtMatrixLayoutDestroy(plan.a);
    if (plan.b) cublasLtMatrixLayoutDestroy(plan.b);
    if (plan.c) cublasLtMatrixLayoutDestroy(plan.c);
    if (plan.op) cublasLtMatmulDescDestroy(plan.op);
  }
  if (handle_) cublasLtDestroy(handle_);
}

// Row-major y = x·wᵀ is column-major yᵀ[N, M] = w[K, N]ᵀ(col-major view of w) · xᵀ[K, M]:
// A = w with op T, B = x with op N, D = y; the bias runs along D's rows (N), as the
// BIAS epilogue expects.
CublasLtGemm::Plan& CublasLtGemm::plan_for(const Key& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  const auto [m, n, k, dtype_int, has_bias, align] = key;
  const auto dtype = static_cast<DType>(dtype_int);
  const cudaDataType_t type = dtype == DType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  // fp32 operands get true fp32 math (no TF32): the fp32 path exists for accuracy.
  const cublasComputeType_t compute = CUBLAS_COMPUTE_32F;

  Plan plan;
  LOUPE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, compute, CUDA_R_32F));
  cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  LOUPE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
  LOUPE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));
  if (has_bias) {
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    LOUPE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
  }
  LOUPE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, type, k, n, k));
  LOUPE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.b, type, k, m, k));
  LOUPE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.c, type, n, m, n));

  cublasLtMatmulPreference_t pref = nullptr;
  LOUPE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = workspace_bytes_;
  uint32_t align_bytes = uint32_t(align);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_bytes, sizeof align_bytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_bytes, sizeof align_bytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_bytes, sizeof align_bytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_bytes, sizeof align_bytes);
  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.a, plan.b, plan.c, plan.c,
                                                     pref, 1, &result, &count);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st == CUBLAS_STATUS_SUCCESS && count > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
    plan.algo = result.algo;
    plan.found = true;
  } else if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) {
    LOUPE_CUBLAS_CHECK(st);
  }
  return plans_.emplace(key, plan).first->second;
}

bool CublasLtGemm::linear(void* y, const void* x, const void* w, const void* bias, DType dtype,
                          int64_t m, int64_t n, int64_t k) {
  int align = std::min({alignment_of(y), alignment_of(x), alignment_of(w)});
  if (bias) align = std::min(align, alignment_of(bias));
  std::lock_guard<std::mutex> lock(mutex_);
  Plan& plan = plan_for(Key{m, n, k, int(dtype), bias != nullptr, align});
  if (!plan.found) return false;
  if (bias) {
    LOUPE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  }
  const float alpha = 1.0f, beta = 0.0f;
  LOUPE_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.op, &alpha, w, plan.a, x, plan.b, &beta, y, plan.c, y,
                                    plan.c, &plan.algo, workspace_, workspace_bytes_, stream_));
  return true;
}

}  // namespace loupe::cuda
