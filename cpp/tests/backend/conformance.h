#pragma once
// Shared fixture of the backend conformance suite: a parameterised test per backend
// ("cpu", "cuda:0"), helpers that move random host data to and from the device in the
// backend's dtypes, and the error metrics with their tolerances.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace loupe::test {

// Host copy of a device tensor's values plus the values the device actually holds
// after rounding to its dtype (what a reference must start from).
struct HostTensor {
  std::vector<float> values;
  std::vector<int64_t> dims;
};

// Error of `got` against `want`: normalised MSE and max |Δ| / max |want|.
struct ErrorStats {
  double nmse = 0;
  double max_rel = 0;
  bool finite = true;
};
ErrorStats compare(const std::vector<float>& got, const std::vector<double>& want);

// Tolerance for one op at one activation dtype.
struct Tolerance {
  double nmse;
  double max_rel;
};
// Standard tolerances: tight for f32 activations; bf16 rounding of inputs and outputs
// otherwise (a bf16 value carries 8 significant bits, relative step 2^-8).
Tolerance tolerance_for(DType act, double f32_max_rel = 1e-5, double bf16_max_rel = 1.6e-2);

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;

  Backend& backend() { return *backend_; }
  DType act() const { return act_; }

  // Random normal values (times scale), rounded to dtype, uploaded; host gets the rounded values.
  Buffer random(DType dtype, std::initializer_list<int64_t> dims, std::vector<float>& host, float scale = 1.0f);
  Buffer upload(DType dtype, std::initializer_list<int64_t> dims, const std::vector<float>& values);
  Buffer upload_i32(std::initializer_list<int64_t> dims, const std::vector<int32_t>& values);
  std::vector<float> download(const Tensor& t);

  void expect_close(const std::vector<float>& got, const std::vector<double>& want, Tolerance tol,
                    const std::string& what);

  std::mt19937& rng() { return rng_; }

 private:
  std::unique_ptr<Backend> backend_;
  DType act_ = DType::F32;
  std::mt19937 rng_{12345};
};

// Rounds v to what dtype can hold (identity for F32).
float round_to(DType dtype, float v);

}  // namespace loupe::test
