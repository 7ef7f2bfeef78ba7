// inspect_model: the walking skeleton's native call. Deliberately small: the full
// checkpoint config parser lives in model/config and will replace this reader.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "loupe/loupe.h"

namespace loupe {
namespace {

using nlohmann::json;

// The value at `key` inside `object`, which is the JSON object found at `path`
// ("" for the top level). Errors name the dotted key so the user can fix the file.
const json& require(const json& object, const std::string& path, const std::string& key,
                    const std::string& file) {
  const std::string dotted = path.empty() ? key : path + "." + key;
  LOUPE_CHECK(object.is_object() && object.contains(key), ModelLoad, file,
              ": missing key '", dotted, "'");
  return object.at(key);
}

int require_int(const json& object, const std::string& path, const std::string& key,
                const std::string& file) {
  const json& value = require(object, path, key, file);
  LOUPE_CHECK(value.is_number_integer() && value.get<long long>() > 0 &&
                  value.get<long long>() <= (1LL << 30),
              ModelLoad, file, ": key '", path, ".", key,
              "' must be a positive integer, got ", value.dump());
  return value.get<int>();
}

json read_json(const std::filesystem::path& file) {
  std::error_code ec;
  LOUPE_CHECK(std::filesystem::is_regular_file(file, ec), ModelLoad, "missing file ",
              file.string());
  std::ifstream in(file, std::ios::binary);
  LOUPE_CHECK(in, ModelLoad, "cannot open ", file.string());
  json parsed = json::parse(in, nullptr, /*allow_exceptions=*/false);
  LOUPE_CHECK(!parsed.is_discarded(), ModelLoad, file.string(), " is not valid JSON");
  LOUPE_CHECK(parsed.is_object(), ModelLoad, file.string(), " must hold a JSON object");
  return parsed;
}

}  // namespace

ModelInfo inspect_model(const std::string& model_dir) {
  const std::filesystem::path file = std::filesystem::path(model_dir) / "config.json";
  const std::string name = file.string();
  const json config = read_json(file);

  ModelInfo info;
  const json& architectures = require(config, "", "architectures", name);
  LOUPE_CHECK(architectures.is_array() && !architectures.empty() && architectures[0].is_string(),
              ModelLoad, name, ": key 'architectures' must be a non-empty list of names");
  info.architecture = architectures[0].get<std::string>();
  const json& model_type = require(config, "", "model_type", name);
  LOUPE_CHECK(model_type.is_string(), ModelLoad, name, ": key 'model_type' must be a string");
  info.model_type = model_type.get<std::string>();
  const json& tie = require(config, "", "tie_word_embeddings", name);
  LOUPE_CHECK(tie.is_boolean(), ModelLoad, name, ": key 'tie_word_embeddings' must be a boolean");
  info.tie_word_embeddings = tie.get<bool>();

  const json& text = require(config, "", "text_config", name);
  info.text_hidden_size = require_int(text, "text_config", "hidden_size", name);
  info.text_layers = require_int(text, "text_config", "num_hidden_layers", name);
  info.text_heads = require_int(text, "text_config", "num_attention_heads", name);
  info.text_kv_heads = require_int(text, "text_config", "num_key_value_heads", name);
  info.text_head_dim = require_int(text, "text_config", "head_dim", name);
  info.vocab_size = require_int(text, "text_config", "vocab_size", name);

  const json& vision = require(config, "", "vision_config", name);
  info.vision_depth = require_int(vision, "vision_config", "depth", name);
  info.vision_hidden_size = require_int(vision, "vision_config", "hidden_size", name);
  const json& deepstack = require(vision, "vision_config", "deepstack_visual_indexes", name);
  LOUPE_CHECK(deepstack.is_array(), ModelLoad, name,
              ": key 'vision_config.deepstack_visual_indexes' must be a list");
  info.deepstack_layers = static_cast<int>(deepstack.size());
  return info;
}

}  // namespace loupe
