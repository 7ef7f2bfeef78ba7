#pragma once
// loupe::ChatTemplate: a checkpoint's Jinja chat template rendered exactly as transformers'
// apply_chat_template renders it (MiniJinja inside the loupe-tokenizer crate, configured like
// HF's Jinja environment). Immutable once loaded; render() is safe from several threads.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

struct LoupeChatTemplate;

namespace loupe {

// One piece of a message: text, or the place of an image or video in the conversation.
struct ChatContent {
  enum class Kind { Text, Image, Video };
  Kind kind = Kind::Text;
  std::string text;  // Kind::Text only

  static ChatContent make_text(std::string text) { return {Kind::Text, std::move(text)}; }
  static ChatContent image() { return {Kind::Image, {}}; }
  static ChatContent video() { return {Kind::Video, {}}; }
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::vector<ChatContent> content;
};

struct ChatOptions {
  bool add_generation_prompt = true;
  bool add_vision_id = false;  // Qwen's "Picture k: " prefixes
};

class ChatTemplate {
 public:
  // Throws Error(ModelLoad) when the source does not parse.
  static ChatTemplate from_source(std::string_view jinja_source);

  // The template a checkpoint directory ships, looked up as transformers does:
  // chat_template.jinja, then chat_template.json, then tokenizer_config.json's
  // "chat_template" (a string, or a list of named templates: "default"). Special tokens
  // (bos/eos/pad/unk) come from tokenizer_config.json when present.
  static ChatTemplate from_model_dir(const std::filesystem::path& dir);

  // Messages as HF's processors pass them: content items {"type": "text", "text": ...},
  // {"type": "image"}, {"type": "video"}.
  std::string render(const std::vector<ChatMessage>& messages, const ChatOptions& options = {}) const;

  // Full control: `context` is the template's variables (messages, add_generation_prompt,
  // tools, ...; key order is kept, as tojson shows it). The special tokens loaded with the
  // template are added unless present.
  // Throws Error(InvalidArgument) when rendering fails, with the template's own message
  // for raise_exception().
  std::string render_context(nlohmann::ordered_json context) const;

  static nlohmann::ordered_json to_json(const std::vector<ChatMessage>& messages);

 private:
  struct Free {
    void operator()(LoupeChatTemplate* handle) const;
  };
  ChatTemplate(LoupeChatTemplate* handle, nlohmann::json special_tokens)
      : handle_(handle, Free{}), special_tokens_(std::move(special_tokens)) {}
  std::shared_ptr<LoupeChatTemplate> handle_;
  nlohmann::json special_tokens_;  // {"bos_token": ..., "eos_token": ...}
};

}  // namespace loupe
