// loupe::ChatTemplate renders the checkpoint's own chat template exactly like HF's
// apply_chat_template (testdata/tokenizer/chat_template_golden.json).
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "testdata.h"

namespace loupe {
namespace {

namespace fs = std::filesystem;
using test::read_json;
using test::tiny_model;

nlohmann::ordered_json golden_cases() {
  return read_json(test::testdata() / "tokenizer/chat_template_golden.json")["cases"];
}

// The typed API covers messages made only of text/image/video items.
std::optional<std::vector<ChatMessage>> typed_messages(const nlohmann::ordered_json& messages) {
  std::vector<ChatMessage> out;
  for (const auto& m : messages) {
    if (m.contains("tool_calls") || !m["content"].is_array()) return std::nullopt;
    ChatMessage message{m["role"], {}};
    for (const auto& item : m["content"]) {
      const std::string type = item["type"];
      if (type == "text") message.content.push_back(ChatContent::make_text(item["text"]));
      else if (type == "image") message.content.push_back(ChatContent::image());
      else if (type == "video") message.content.push_back(ChatContent::video());
      else return std::nullopt;
    }
    out.push_back(std::move(message));
  }
  return out;
}

TEST(ChatTemplate, RendersLikeHuggingFace) {
  const auto tmpl = ChatTemplate::from_model_dir(tiny_model());
  const auto cases = golden_cases();
  ASSERT_GE(cases.size(), 10u);
  int typed = 0;
  for (const auto& c : cases) {
    nlohmann::ordered_json context = c["options"];
    context["messages"] = c["messages"];
    if (c.contains("tools")) context["tools"] = c["tools"];
    EXPECT_EQ(tmpl.render_context(context), c["rendered"].get<std::string>()) << c["name"];

    if (auto messages = typed_messages(c["messages"]); messages && !c.contains("tools")) {
      ChatOptions options;
      options.add_generation_prompt = c["options"]["add_generation_prompt"];
      options.add_vision_id = c["options"].value("add_vision_id", false);
      EXPECT_EQ(tmpl.render(*messages, options), c["rendered"].get<std::string>()) << c["name"];
      ++typed;
    }
  }
  EXPECT_GE(typed, 6);
}

TEST(ChatTemplate, TemplateErrorsCarryTheTemplatesMessage) {
  const auto tmpl = ChatTemplate::from_source(
      "{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start with a user turn') }}"
      "{% endif %}{{ messages[0].content }}");
  EXPECT_EQ(tmpl.render_context({{"messages", {{{"role", "user"}, {"content", "hi"}}}}}), "hi");
  try {
    tmpl.render_context({{"messages", {{{"role", "assistant"}, {"content", "hi"}}}}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Conversations must start with a user turn"), std::string::npos)
        << e.what();
  }
}

TEST(ChatTemplate, PythonStringMethodsAndLoopControlsWork) {
  // Constructs Qwen3 "thinking" templates use.
  const auto tmpl = ChatTemplate::from_source(
      "{%- for m in messages %}{%- if m.content.startswith('skip') %}{% continue %}{% endif %}"
      "{{ m.content.split('</think>')[-1].lstrip('\\n').strip() | upper }};{%- endfor %}"
      "{%- for k, v in extra.items() %}{{ k }}={{ v }}{% endfor %}");
  const nlohmann::ordered_json context = {
      {"messages", {{{"content", "<think>x</think>\n  answer "}}, {{"content", "skip me"}}, {{"content", "b"}}}},
      {"extra", {{"z", 1}, {"a", 2}}}};
  EXPECT_EQ(tmpl.render_context(context), "ANSWER;B;z=1a=2");
}

TEST(ChatTemplate, SyntaxErrorsAreModelLoadErrors) {
  try {
    ChatTemplate::from_source("{% for m in messages %}{{ m.content }");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    EXPECT_NE(std::string(e.what()).find("invalid chat template"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, BadContextsAreInvalidArguments) {
  const auto tmpl = ChatTemplate::from_model_dir(tiny_model());
  EXPECT_THROW(tmpl.render({}), Error);
  for (const auto& context : {nlohmann::ordered_json::array(), nlohmann::ordered_json(3)}) {
    try {
      tmpl.render_context(context);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    }
  }
  // Text that is not UTF-8 is refused before it reaches the template.
  try {
    tmpl.render({{"user", {ChatContent::make_text(std::string("bad \xc3", 5))}}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("loupe-chat-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" + std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(ChatTemplate, FindsTheTemplateWhereTransformersLooks) {
  const std::vector<ChatMessage> hi = {{"user", {ChatContent::make_text("hi")}}};
  {
    TempDir dir;  // chat_template.json, as released Qwen3-VL checkpoints ship it
    dir.write("chat_template.json", R"({"chat_template": "json:{{ messages[0].content[0].text }}"})");
    dir.write("tokenizer_config.json", R"({"chat_template": "config", "eos_token": {"content": "<|im_end|>"}})");
    EXPECT_EQ(ChatTemplate::from_model_dir(dir.path()).render(hi), "json:hi");
    dir.write("chat_template.jinja", "jinja:{{ eos_token }}");
    EXPECT_EQ(ChatTemplate::from_model_dir(dir.path()).render(hi), "jinja:<|im_end|>");
  }
  {
    TempDir dir;  // tokenizer_config.json with named templates
    dir.write("tokenizer_config.json",
              R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}], "bos_token": "<s>"})");
    EXPECT_EQ(ChatTemplate::from_model_dir(dir.path()).render(hi), "D<s>");
  }
  {
    TempDir dir;
    dir.write("tokenizer_config.json", R"({"eos_token": "x"})");
    try {
      ChatTemplate::from_model_dir(dir.path());
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
      EXPECT_NE(std::string(e.what()).find("no chat template"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace loupe
