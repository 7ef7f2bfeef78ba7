#pragma once
// Qwen3-VL checkpoint configuration, read from the HF side files of a model directory.
// Every key a released checkpoint carries is required: HF class defaults describe no
// released model, so a missing key is an Error(ModelLoad) naming the key and file.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "loupe/visual.h"

namespace loupe::model {

struct TextConfig {
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0;
  double rms_norm_eps = 0, rope_theta = 0;
  std::array<int64_t, 3> mrope_section{};  // frequencies per axis (t, h, w), sums to head_dim/2
  bool mrope_interleaved = true;
  int64_t max_position_embeddings = 0;
  std::string hidden_act;
};

struct VisionConfig {
  int64_t depth = 0, hidden_size = 0, intermediate_size = 0, num_heads = 0;
  int64_t in_channels = 0, patch_size = 0, temporal_patch_size = 0, spatial_merge_size = 0;
  int64_t out_hidden_size = 0, num_position_embeddings = 0;
  std::vector<int64_t> deepstack_visual_indexes;
  std::string hidden_act;
  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t patch_dim() const { return in_channels * temporal_patch_size * patch_size * patch_size; }
  int64_t merge_window() const { return spatial_merge_size * spatial_merge_size; }
};

struct ModelConfig {
  std::string architecture;  // architectures[0] ("" when the file has no list)
  std::string model_type;
  int32_t image_token_id = 0, video_token_id = 0, vision_start_token_id = 0, vision_end_token_id = 0;
  bool tie_word_embeddings = false;
  std::string dtype;  // checkpoint dtype as declared ("bfloat16", "float32", ...)
  TextConfig text;
  VisionConfig vision;
};

struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;
  int32_t bos_token_id = -1, pad_token_id = -1;
  bool do_sample = false;
  double temperature = 1.0, top_p = 1.0, repetition_penalty = 1.0;
  int64_t top_k = 0;
};

struct PreprocessorConfig {
  int64_t min_pixels = 0, max_pixels = 0;  // size.shortest_edge / size.longest_edge: pixel counts
  int64_t patch_size = 0, temporal_patch_size = 0, merge_size = 0;
  std::array<double, 3> image_mean{}, image_std{};
  double rescale_factor = 1.0 / 255.0;
};

// The sentence-transformers description an embedding checkpoint ships (modules.json naming
// a Pooling module, whose config.json says how it pools). Qwen3-VL-Embedding pools the last
// token and normalises.
struct SentencePooling {
  bool present = false;     // modules.json lists a sentence_transformers Pooling module
  std::string mode;         // "lasttoken", "mean", "cls", ... (the pooling_mode_* set to true)
  bool normalize = false;   // a Normalize module follows
};

// Parsers of the JSON text (`file` names the source in errors) and of files in a model dir.
ModelConfig parse_model_config(const std::string& json_text, const std::string& file = "config.json");
GenerationConfig parse_generation_config(const std::string& json_text,
                                         const std::string& file = "generation_config.json");
PreprocessorConfig parse_preprocessor_config(const std::string& json_text,
                                             const std::string& file = "preprocessor_config.json");

ModelConfig load_model_config(const std::filesystem::path& model_dir);
GenerationConfig load_generation_config(const std::filesystem::path& model_dir);
PreprocessorConfig load_preprocessor_config(const std::filesystem::path& model_dir);
SentencePooling load_sentence_pooling(const std::filesystem::path& model_dir);  // absent files: !present

std::string read_text_file(const std::filesystem::path& path);

}  // namespace loupe::model
