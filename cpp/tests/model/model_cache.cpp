#include "model_cache.h"

#include <cstdlib>
#include <map>

#include "backend/cpu/cpu_backend.h"
#include "golden.h"

namespace loupe::model::test {

Backend& cpu_backend() {
  static std::unique_ptr<Backend> backend = make_cpu_backend();
  return *backend;
}

// LOUPE_TEST_DEVICE picks where the golden models run (default cpu; cuda:0 on a GPU box).
Backend& test_backend() {
  static Backend* backend = [] {
    const char* env = std::getenv("LOUPE_TEST_DEVICE");
    const std::string text = env && *env ? env : "cpu";
    if (text == "cpu") return &cpu_backend();
    static std::unique_ptr<Backend> owned = make_backend(Device::parse(text));
    return owned.get();
  }();
  return *backend;
}

// bf16 activations: a bf16 backend (CUDA), or the CPU backend rounding activations into
// its bf16-weight linears (its default; the fp32 parity runs pin exact, see CMakeLists.txt).
bool test_backend_is_bf16() {
  if (test_backend().activation_dtype() == DType::BF16) return true;
  auto* cpu = dynamic_cast<CpuBackend*>(&test_backend());
  return cpu && cpu->bf16_activations() == cpu::Bf16Activations::Rounded;
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
