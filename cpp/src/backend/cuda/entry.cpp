// The C entry points cuda_loader.cpp (in libloupe) resolves after dlopen.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_entry.h"

namespace {
void write_error(char* error, size_t size, const std::string& text) {
  if (error && size) std::snprintf(error, size, "%s", text.c_str());
}
}  // namespace

extern "C" __attribute__((visibility("default"))) int loupe_cuda_abi_version() { return LOUPE_CUDA_ABI_VERSION; }

extern "C" __attribute__((visibility("default"))) void* loupe_cuda_create_backend(int device_index, int fast_attention,
                                                                                  char* error, size_t error_size,
                                                                                  int* error_kind) {
  using loupe::ErrorKind;
  auto fail = [&](ErrorKind kind, const std::string& text) -> void* {
    write_error(error, error_size, text);
    if (error_kind) *error_kind = int(kind);
    return nullptr;
  };
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    return fail(ErrorKind::NoDevice, loupe::detail::concat("cuda:", device_index, " requested but no CUDA device is usable (",
                                                           cudaGetErrorName(err), ": ", cudaGetErrorString(err), ")"));
  }
  if (device_index < 0 || device_index >= count) {
    return fail(ErrorKind::NoDevice, loupe::detail::concat("cuda:", device_index, " requested but this machine has ", count,
                                                           " CUDA device(s)"));
  }
  try {
    return static_cast<loupe::Backend*>(new loupe::cuda::CudaBackend(device_index, fast_attention != 0));
  } catch (const loupe::Error& e) {
    return fail(e.kind(), e.what());
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, e.what());
  }
}
