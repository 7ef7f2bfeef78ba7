#pragma once
// Error checks for CUDA runtime and cuBLASLt calls: every failure becomes a loupe::Error
// naming the call, so a bad launch never passes silently.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define LOUPE_CUDA_CHECK(call)                                                            \
  do {                                                                                    \
    cudaError_t err_ = (call);                                                            \
    if (err_ != cudaSuccess) {                                                            \
      auto kind_ = err_ == cudaErrorMemoryAllocation ? ::loupe::ErrorKind::OutOfMemory    \
                                                     : ::loupe::ErrorKind::Internal;      \
      throw ::loupe::Error(kind_, ::loupe::detail::concat(#call, " failed: ",             \
                                                          cudaGetErrorString(err_)));     \
    }                                                                                     \
  } while (0)

// After a kernel launch: configuration errors surface here, not at the next sync.
#define LOUPE_CUDA_CHECK_LAUNCH() LOUPE_CUDA_CHECK(cudaGetLastError())

#define LOUPE_CUBLAS_CHECK(call)                                                          \
  do {                                                                                    \
    cublasStatus_t st_ = (call);                                                          \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                     \
      throw ::loupe::Error(::loupe::ErrorKind::Internal,                                  \
                           ::loupe::detail::concat(#call, " failed: ", cublasLtGetStatusString(st_))); \
  } while (0)
