#pragma once
// loupe::PromptEncoder: a checkpoint's whole text side of the processor — chat template,
// vision placeholder expansion, tokenizer — loaded once from the model directory. Gives the
// input_ids HF's Qwen3VLProcessor gives for the same messages and image/video grids.
// Immutable; safe to share between threads.
#include <filesystem>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vision_placeholders.h"

namespace loupe {

struct VisionTokenIds {
  TokenId image_pad = -1;
  TokenId video_pad = -1;
  TokenId vision_start = -1;
  TokenId vision_end = -1;
};

class PromptEncoder {
 public:
  // Reads tokenizer.json, the chat template (see ChatTemplate::from_model_dir) and the merge
  // and temporal patch sizes from preprocessor_config.json / video_preprocessor_config.json.
  // Throws Error(ModelLoad) when any is missing or the tokenizer lacks the vision tokens.
  static PromptEncoder from_model_dir(const std::filesystem::path& dir);

  // Template text before expansion (one placeholder per image/video).
  std::string render(const std::vector<ChatMessage>& messages, const ChatOptions& options = {}) const;

  // input_ids for the messages; images and videos in the order they appear in them.
  std::vector<TokenId> encode(const std::vector<ChatMessage>& messages, const std::vector<GridTHW>& images,
                              const std::vector<VideoPlaceholder>& videos = {},
                              const ChatOptions& options = {}) const;
  // The same from a raw template context (see ChatTemplate::render_context).
  std::vector<TokenId> encode_context(const nlohmann::ordered_json& context, const std::vector<GridTHW>& images,
                                      const std::vector<VideoPlaceholder>& videos = {}) const;
  // Expansion + tokenization of an already rendered prompt.
  std::vector<TokenId> encode_rendered(std::string_view prompt, const std::vector<GridTHW>& images,
                                       const std::vector<VideoPlaceholder>& videos = {}) const;

  // Timestamps for a video's placeholder, from the frames the video sampler kept.
  std::vector<double> video_timestamps(const std::vector<int64_t>& sampled_frame_indices, double fps) const {
    return video_group_timestamps(sampled_frame_indices, fps, temporal_patch_size_);
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const ChatTemplate& chat_template() const { return chat_template_; }
  const VisionTokenIds& vision_ids() const { return vision_ids_; }
  int merge_size() const { return vision_tokens_.merge_size; }

 private:
  PromptEncoder(Tokenizer tokenizer, ChatTemplate chat_template)
      : tokenizer_(std::move(tokenizer)), chat_template_(std::move(chat_template)) {}

  Tokenizer tokenizer_;
  ChatTemplate chat_template_;
  VisionTokens vision_tokens_;
  VisionTokenIds vision_ids_;
  int temporal_patch_size_ = 2;
};

}  // namespace loupe
