#include "model/device_util.h"

#include <cstring>

namespace loupe::model {

Buffer upload_i32(Backend& backend, const std::vector<int32_t>& values) {
  Buffer b(backend, DType::I32, {int64_t(values.size())});
  if (!values.empty()) backend.copy_from_host(b.tensor().data, values.data(), values.size() * sizeof(int32_t));
  return b;
}

Buffer upload_f32(Backend& backend, const std::vector<float>& values, std::initializer_list<int64_t> dims) {
  Buffer b(backend, DType::F32, dims);
  LOUPE_CHECK(size_t(b.tensor().numel()) == values.size(), Internal, "upload_f32: ", values.size(),
              " values for ", b.tensor().describe());
  if (!values.empty()) backend.copy_from_host(b.tensor().data, values.data(), values.size() * sizeof(float));
  return b;
}

Buffer upload_activation(Backend& backend, const float* values, std::initializer_list<int64_t> dims) {
  const DType dtype = backend.activation_dtype();
  Buffer b(backend, dtype, dims);
  const int64_t n = b.tensor().numel();
  if (n == 0) return b;
  if (dtype == DType::F32) {
    backend.copy_from_host(b.tensor().data, values, size_t(n) * sizeof(float));
  } else {
    LOUPE_CHECK(dtype == DType::BF16, Internal, "upload_activation: unsupported activation dtype");
    std::vector<uint16_t> h(n);
    for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(values[i]);
    backend.copy_from_host(b.tensor().data, h.data(), h.size() * sizeof(uint16_t));
  }
  return b;
}

Tensor reshaped(const Tensor& t, std::initializer_list<int64_t> dims) { return t.view(dims); }

}  // namespace loupe::model
