#pragma once
// Golden models are loaded once per test binary (loading is the slow part).
#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/qwen3_vl.h"

namespace loupe::model::test {

Backend& cpu_backend();
// The backend the golden models run on: LOUPE_TEST_DEVICE (default cpu).
Backend& test_backend();
// True when test_backend() is the CPU backend rounding the inputs of bf16-weight linears
// (its default; the fp32 parity runs pin exact, see cpp/tests/CMakeLists.txt).
bool test_backend_rounds_bf16_linear_inputs();
// True when test_backend() computes in bf16 (a bf16 backend such as CUDA, or the above), so
// parity uses the bf16 bounds.
bool test_backend_is_bf16();
Qwen3VLModel& golden_model(const std::string& name);  // "tiny-tied" / "tiny-untied"
std::filesystem::path golden_model_dir(const std::string& name);

}  // namespace loupe::model::test
