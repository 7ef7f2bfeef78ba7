#pragma once
// Tensor: a non-owning, contiguous, row-major view of memory on one device.
// Ownership lives elsewhere (Buffer below, a mapped checkpoint file, a KV pool).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace loupe {

enum class DeviceKind : uint8_t { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;
  // "cpu", "cuda", "cuda:1"; anything else is an InvalidArgument error.
  static Device parse(const std::string& text);
  std::string str() const;
  bool operator==(const Device&) const = default;
};

struct Tensor {
  static constexpr int kMaxDims = 4;

  void* data = nullptr;
  DType dtype = DType::F32;
  Device device{};
  int ndim = 0;
  std::array<int64_t, kMaxDims> shape{1, 1, 1, 1};

  Tensor() = default;
  Tensor(void* data, DType dtype, std::initializer_list<int64_t> dims, Device device = {});

  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  int64_t dim(int i) const { return shape[i < 0 ? ndim + i : i]; }
  // Product of all dims but the last, and the last: the 2-D view every row-wise op uses.
  int64_t rows() const { return ndim == 0 ? 1 : numel() / shape[ndim - 1]; }
  int64_t cols() const { return ndim == 0 ? 1 : shape[ndim - 1]; }

  template <class T> T* ptr() const { return static_cast<T*>(data); }
  // Rows [begin, end) of the leading dimension, same device and dtype.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // Same memory, new shape with equal numel.
  Tensor view(std::initializer_list<int64_t> dims) const;
  std::string describe() const;  // e.g. "bf16[2048, 6144]@cpu"
};

}  // namespace loupe
