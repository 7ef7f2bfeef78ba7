// inspect_model: the checkpoint facts a caller checks before loading (the ES
// loupe_model_info processor, Loupe.inspectModel), read and validated by the same config
// parser the loader uses, so a model that inspects cleanly passes the loader's config checks.
#include <filesystem>

#include "loupe/loupe.h"
#include "model/config.h"

namespace loupe {

ModelInfo inspect_model(const std::string& model_dir) {
  const model::ModelConfig config = model::load_model_config(std::filesystem::path(model_dir));
  ModelInfo info;
  info.architecture = config.architecture;
  info.model_type = config.model_type;
  info.text_hidden_size = int(config.text.hidden_size);
  info.text_layers = int(config.text.num_hidden_layers);
  info.text_heads = int(config.text.num_attention_heads);
  info.text_kv_heads = int(config.text.num_key_value_heads);
  info.text_head_dim = int(config.text.head_dim);
  info.vocab_size = int(config.text.vocab_size);
  info.vision_depth = int(config.vision.depth);
  info.vision_hidden_size = int(config.vision.hidden_size);
  info.deepstack_layers = int(config.vision.deepstack_visual_indexes.size());
  info.tie_word_embeddings = config.tie_word_embeddings;
  return info;
}

}  // namespace loupe
