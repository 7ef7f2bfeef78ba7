#include "tokenizer/prompt_encoder.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"

namespace loupe {

namespace fs = std::filesystem;

namespace {

// An integer field of a preprocessor config, or `fallback` when the file or key is absent
// (HF's defaults for Qwen3-VL are merge 2, temporal patch 2).
int config_int(const fs::path& file, const char* key, int fallback) {
  if (!fs::is_regular_file(file)) return fallback;
  std::ifstream in(file);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    LOUPE_FAIL(ModelLoad, file.string(), " is not valid JSON: ", e.what());
  }
  if (!config.contains(key)) return fallback;
  LOUPE_CHECK(config[key].is_number_integer() && config[key].get<int>() > 0, ModelLoad, file.string(), ": ", key,
              " must be a positive integer");
  return config[key].get<int>();
}

}  // namespace

PromptEncoder PromptEncoder::from_model_dir(const fs::path& dir) {
  PromptEncoder encoder(Tokenizer::from_file(dir / "tokenizer.json"), ChatTemplate::from_model_dir(dir));
  encoder.vision_tokens_.merge_size = config_int(dir / "preprocessor_config.json", "merge_size", 2);
  encoder.temporal_patch_size_ = config_int(dir / "video_preprocessor_config.json", "temporal_patch_size",
                                            config_int(dir / "preprocessor_config.json", "temporal_patch_size", 2));
  const auto& names = encoder.vision_tokens_;
  auto& ids = encoder.vision_ids_;
  ids.image_pad = encoder.tokenizer_.require_token(names.image_pad);
  ids.video_pad = encoder.tokenizer_.require_token(names.video_pad);
  ids.vision_start = encoder.tokenizer_.require_token(names.vision_start);
  ids.vision_end = encoder.tokenizer_.require_token(names.vision_end);
  return encoder;
}

std::string PromptEncoder::render(const std::vector<ChatMessage>& messages, const ChatOptions& options) const {
  return chat_template_.render(messages, options);
}

std::vector<TokenId> PromptEncoder::encode(const std::vector<ChatMessage>& messages,
                                           const std::vector<GridTHW>& images,
                                           const std::vector<VideoPlaceholder>& videos,
                                           const ChatOptions& options) const {
  return encode_rendered(render(messages, options), images, videos);
}

std::vector<TokenId> PromptEncoder::encode_context(const nlohmann::ordered_json& context,
                                                   const std::vector<GridTHW>& images,
                                                   const std::vector<VideoPlaceholder>& videos) const {
  return encode_rendered(chat_template_.render_context(context), images, videos);
}

std::vector<TokenId> PromptEncoder::encode_rendered(std::string_view prompt, const std::vector<GridTHW>& images,
                                                    const std::vector<VideoPlaceholder>& videos) const {
  const std::vector<TokenId> ids = tokenizer_.encode(expand_vision_placeholders(prompt, images, videos, vision_tokens_));
  // The model overwrites exactly these rows with vision features: a template or text that
  // yields a different count would misalign them, so refuse it here with a clear reason.
  int64_t expected_images = 0, expected_videos = 0;
  for (const auto& grid : images) expected_images += vision_token_count(grid, vision_tokens_.merge_size);
  for (const auto& video : videos) expected_videos += vision_token_count(video.grid, vision_tokens_.merge_size);
  const auto image_pads = std::count(ids.begin(), ids.end(), vision_ids_.image_pad);
  const auto video_pads = std::count(ids.begin(), ids.end(), vision_ids_.video_pad);
  LOUPE_CHECK(image_pads == expected_images && video_pads == expected_videos, InvalidArgument,
              "prompt has ", image_pads, " image and ", video_pads, " video placeholder tokens, the inputs need ",
              expected_images, " and ", expected_videos, " (does the text contain placeholder tokens itself?)");
  return ids;
}

}  // namespace loupe
