#include "model_cache.h"

#include <cstdlib>
#include <map>

#include "backend/cpu/cpu_backend.h"
#include "golden.h"
#include "test_backend_choices.h"

namespace loupe::model::test {

Backend& cpu_backend() {
  static std::unique_ptr<Backend> backend = loupe::test::make_test_backend(Device{DeviceKind::CPU, 0});
  return *backend;
}

// LOUPE_TEST_DEVICE picks where the golden models run (default cpu; cuda:0 on a GPU box).
Backend& test_backend() {
  static Backend* backend = [] {
    const char* env = std::getenv("LOUPE_TEST_DEVICE");
    const std::string text = env && *env ? env : "cpu";
    if (text == "cpu") return &cpu_backend();
    static std::unique_ptr<Backend> owned = loupe::test::make_test_backend(Device::parse(text));
    return owned.get();
  }();
  return *backend;
}

bool test_backend_rounds_bf16_linear_inputs() { return rounds_bf16_linear_inputs(test_backend()); }

bool test_backend_is_bf16() {
  return test_backend().activation_dtype() == DType::BF16 || test_backend_rounds_bf16_linear_inputs();
}

std::filesystem::path golden_model_dir(const std::string& name) { return golden_dir() / "models" / name; }

Qwen3VLModel& golden_model(const std::string& name) {
  Backend& backend = test_backend();  // constructed first, so destroyed after the models
  static std::map<std::string, std::unique_ptr<Qwen3VLModel>> models;
  auto& slot = models[name];
  if (!slot) slot = std::make_unique<Qwen3VLModel>(backend, golden_model_dir(name));
  return *slot;
}

}  // namespace loupe::model::test
