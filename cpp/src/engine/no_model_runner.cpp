// Built when the Qwen3-VL model component is not part of this library.
#include "core/error.h"
#include "engine/model_runner.h"

namespace loupe::engine {

std::unique_ptr<ModelRunner> open_qwen3vl_runner(const std::string& model_dir, const EngineOptions&) {
  LOUPE_FAIL(ModelLoad, "cannot open ", model_dir, ": this libloupe was built without the Qwen3-VL model component");
}

}  // namespace loupe::engine
