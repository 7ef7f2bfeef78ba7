#include "model_cache.h"

#include <map>

#include "golden.h"

namespace loupe::model::test {

Backend& cpu_backend() {
  static std::unique_ptr<Backend> backend = make_cpu_backend();
  return *backend;
}

std::filesystem::path golden_model_dir(const std::string& name) { return golden_dir() / "models" / name; }

Qwen3VLModel& golden_model(const std::string& name) {
  Backend& backend = cpu_backend();  // constructed first, so destroyed after the models
  static std::map<std::string, std::unique_ptr<Qwen3VLModel>> models;
  auto& slot = models[name];
  if (!slot) slot = std::make_unique<Qwen3VLModel>(backend, golden_model_dir(name));
  return *slot;
}

}  // namespace loupe::model::test
