#pragma once
// Public C++ API of libloupe. Small and stable: the Java binding maps it one to one.
// Errors are thrown as loupe::Error (see error_kind_name for the stable kind names).
#include <exception>
#include <string>

namespace loupe {

// Stable name of the kind of an error thrown by this API: "invalid_argument", "bad_image",
// "limit_exceeded", "overloaded", "model_load", "out_of_memory", "cancelled", "timeout", "no_device" or
// "internal" (also for exceptions that are not loupe errors).
const char* error_kind_of(const std::exception& error) noexcept;

// Library version, e.g. "0.1.0".
std::string version();

// Facts read from a checkpoint directory's config.json, enough to tell what model a
// directory holds without loading weights.
struct ModelInfo {
  std::string architecture;      // architectures[0], e.g. "Qwen3VLForConditionalGeneration"
  std::string model_type;        // e.g. "qwen3_vl"
  int text_hidden_size = 0;      // text_config.hidden_size
  int text_layers = 0;           // text_config.num_hidden_layers
  int text_heads = 0;            // text_config.num_attention_heads
  int text_kv_heads = 0;         // text_config.num_key_value_heads
  int text_head_dim = 0;         // text_config.head_dim
  int vocab_size = 0;            // text_config.vocab_size
  int vision_depth = 0;          // vision_config.depth
  int vision_hidden_size = 0;    // vision_config.hidden_size
  int deepstack_layers = 0;      // len(vision_config.deepstack_visual_indexes)
  bool tie_word_embeddings = false;  // top-level value (HF ties from the outer config)
};

// Reads and validates <model_dir>/config.json with the loader's own parser (dense
// Qwen3-VL only). Throws loupe::Error(ModelLoad) naming the file that cannot be opened, or
// the key that is missing, has the wrong type or describes another model.
ModelInfo inspect_model(const std::string& model_dir);

}  // namespace loupe
