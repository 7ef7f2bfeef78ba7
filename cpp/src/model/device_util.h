#pragma once
// Host -> device uploads used by the model: index tensors, fp32 tables, activations.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "backend/backend.h"

namespace loupe::model {

Buffer upload_i32(Backend& backend, const std::vector<int32_t>& values);
Buffer upload_f32(Backend& backend, const std::vector<float>& values, std::initializer_list<int64_t> dims);
// fp32 host values converted to the backend's activation dtype (bf16 rounding on bf16 backends).
Buffer upload_activation(Backend& backend, const float* values, std::initializer_list<int64_t> dims);
// Tensor with the same memory and a new shape (the model's reshape, e.g. [n, H·hd] -> [n, H, hd]).
Tensor reshaped(const Tensor& t, std::initializer_list<int64_t> dims);

}  // namespace loupe::model
