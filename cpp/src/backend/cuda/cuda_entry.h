#pragma once
// The C entry points libloupe_cuda.so exports; cuda_loader.cpp resolves them with dlsym.
// Plain C types only, so a loader and a library from different builds fail cleanly on
// the ABI number instead of crashing.
#include <cstddef>

#define LOUPE_CUDA_ABI_VERSION 2
#define LOUPE_CUDA_LIBRARY_NAME "libloupe_cuda.so"

extern "C" {
// Returns LOUPE_CUDA_ABI_VERSION of the library's build.
int loupe_cuda_abi_version();
// Creates a loupe::Backend* for the device; fast_attention 1 = the fast attention kernels,
// 0 = the generic one (loupe::CudaAttention). On failure returns nullptr, writes a
// NUL-terminated reason into error (at most error_size bytes) and the loupe::ErrorKind
// as int into *error_kind.
void* loupe_cuda_create_backend(int device_index, int fast_attention, char* error, size_t error_size, int* error_kind);
}
