#include "tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "loupe_tokenizer.h"
#include "tokenizer/ffi_error.h"

namespace loupe {

namespace fs = std::filesystem;
using detail::bytes_of;
using detail::throw_if_error;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LOUPE_CHECK(in, ModelLoad, "cannot read ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json(const fs::path& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    LOUPE_FAIL(ModelLoad, path.string(), " is not valid JSON: ", e.what());
  }
}

// tokenizer_config.json stores a template as a string or as [{"name", "template"}, ...].
std::string template_from_config_value(const nlohmann::json& value, const fs::path& from) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    for (const auto& entry : value) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string()) {
        return entry["template"].get<std::string>();
      }
    }
  }
  LOUPE_FAIL(ModelLoad, from.string(), ": chat_template is neither a string nor a list with a \"default\" entry");
}

// HF passes the tokenizer's special tokens to every template; entries may be plain strings
// or AddedToken objects {"content": ...}.
nlohmann::json special_tokens_of(const fs::path& tokenizer_config) {
  nlohmann::json tokens = nlohmann::json::object();
  if (!fs::is_regular_file(tokenizer_config)) return tokens;
  const nlohmann::json config = read_json(tokenizer_config);
  for (const char* key : {"bos_token", "eos_token", "pad_token", "unk_token"}) {
    if (!config.contains(key)) continue;
    const auto& value = config[key];
    if (value.is_string()) {
      tokens[key] = value;
    } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
      tokens[key] = value["content"];
    }
  }
  return tokens;
}

}  // namespace

void ChatTemplate::Free::operator()(LoupeChatTemplate* handle) const { loupe_chat_template_free(handle); }

ChatTemplate ChatTemplate::from_source(std::string_view jinja_source) {
  LoupeChatTemplate* handle = nullptr;
  throw_if_error(loupe_chat_template_new(bytes_of(jinja_source), jinja_source.size(), &handle),
                 ErrorKind::ModelLoad);
  return ChatTemplate(handle, nlohmann::json::object());
}

ChatTemplate ChatTemplate::from_model_dir(const fs::path& dir) {
  const fs::path jinja = dir / "chat_template.jinja";
  const fs::path json = dir / "chat_template.json";
  const fs::path tokenizer_config = dir / "tokenizer_config.json";
  std::string source;
  if (fs::is_regular_file(jinja)) {
    source = read_file(jinja);
  } else if (fs::is_regular_file(json)) {
    const nlohmann::json config = read_json(json);
    LOUPE_CHECK(config.contains("chat_template"), ModelLoad, json.string(), " has no \"chat_template\"");
    source = template_from_config_value(config["chat_template"], json);
  } else if (fs::is_regular_file(tokenizer_config) && read_json(tokenizer_config).contains("chat_template")) {
    source = template_from_config_value(read_json(tokenizer_config)["chat_template"], tokenizer_config);
  } else {
    LOUPE_FAIL(ModelLoad, "no chat template in ", dir.string(),
               " (looked for chat_template.jinja, chat_template.json, tokenizer_config.json)");
  }
  ChatTemplate loaded = from_source(source);
  loaded.special_tokens_ = special_tokens_of(tokenizer_config);
  return loaded;
}

nlohmann::ordered_json ChatTemplate::to_json(const std::vector<ChatMessage>& messages) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& message : messages) {
    nlohmann::ordered_json content = nlohmann::ordered_json::array();
    for (const auto& item : message.content) {
      switch (item.kind) {
        case ChatContent::Kind::Text: content.push_back({{"type", "text"}, {"text", item.text}}); break;
        case ChatContent::Kind::Image: content.push_back({{"type", "image"}}); break;
        case ChatContent::Kind::Video: content.push_back({{"type", "video"}}); break;
      }
    }
    out.push_back({{"role", message.role}, {"content", std::move(content)}});
  }
  return out;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const ChatOptions& options) const {
  LOUPE_CHECK(!messages.empty(), InvalidArgument, "a chat needs at least one message");
  nlohmann::ordered_json context = {
      {"messages", to_json(messages)},
      {"add_generation_prompt", options.add_generation_prompt},
      {"add_vision_id", options.add_vision_id},
  };
  return render_context(std::move(context));
}

std::string ChatTemplate::render_context(nlohmann::ordered_json context) const {
  LOUPE_CHECK(context.is_object(), InvalidArgument, "chat template context must be a JSON object");
  for (const auto& [key, value] : special_tokens_.items()) {
    if (!context.contains(key)) context[key] = value;
  }
  std::string json_text;
  try {
    json_text = context.dump();
  } catch (const nlohmann::json::exception& e) {
    LOUPE_FAIL(InvalidArgument, "chat template context: ", e.what());  // e.g. invalid UTF-8 text
  }
  LoupeBytes text{};
  throw_if_error(loupe_chat_template_render(handle_.get(), bytes_of(json_text), json_text.size(), &text),
                 ErrorKind::InvalidArgument);
  std::string out(reinterpret_cast<const char*>(text.data), text.len);
  loupe_tok_bytes_free(text);
  return out;
}

}  // namespace loupe
