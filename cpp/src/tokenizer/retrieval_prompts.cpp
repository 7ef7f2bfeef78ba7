#include "tokenizer/retrieval_prompts.h"

#include <cstdint>

#include "loupe_tokenizer.h"

namespace loupe {
namespace {

constexpr const char* kRerankSystemPrompt =
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. "
    "Note that the answer can only be \"yes\" or \"no\".";

// Python's str.strip(): Unicode whitespace at both ends (ASCII and the common wide spaces).
std::string strip(const std::string& s) {
  auto space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); };
  size_t begin = 0, end = s.size();
  while (begin < end && space(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && space(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

// The last code point of valid UTF-8 text (the tokenizer refuses invalid text later anyway).
uint32_t last_code_point(const std::string& s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + i);
  const size_t n = s.size() - i;
  if (p[0] < 0x80 || n == 1) return p[0];
  uint32_t cp = p[0] & (p[0] >= 0xF0 ? 0x07 : p[0] >= 0xE0 ? 0x0F : 0x1F);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (p[k] & 0x3F);
  return cp;
}

void append(ChatMessage& message, const RetrievalContent& content) {
  if (content.images == 0 && content.text.empty()) {
    message.content.push_back(ChatContent::make_text("NULL"));
    return;
  }
  for (int i = 0; i < content.images; ++i) message.content.push_back(ChatContent::image());
  if (!content.text.empty()) message.content.push_back(ChatContent::make_text(content.text));
}

}  // namespace

std::string embedding_instruction(const std::optional<std::string>& instruction) {
  std::string text = instruction ? strip(*instruction) : std::string();
  if (text.empty()) return kDefaultEmbeddingInstruction;
  if (!loupe_is_punctuation(last_code_point(text))) text += '.';
  return text;
}

std::vector<ChatMessage> embedding_messages(const std::optional<std::string>& instruction,
                                            const RetrievalContent& input) {
  ChatMessage user{"user", {}};
  append(user, input);
  return {{"system", {ChatContent::make_text(embedding_instruction(instruction))}}, std::move(user)};
}

std::vector<ChatMessage> reranker_messages(const std::optional<std::string>& instruction,
                                           const RetrievalContent& query, const RetrievalContent& document) {
  // The reranker uses its instruction as given (no punctuation rule), the default when unset.
  const std::string text = instruction && !instruction->empty() ? *instruction : kDefaultRerankInstruction;
  ChatMessage user{"user", {ChatContent::make_text("<Instruct>: " + text), ChatContent::make_text("<Query>:")}};
  append(user, query);
  user.content.push_back(ChatContent::make_text("\n<Document>:"));
  append(user, document);
  return {{"system", {ChatContent::make_text(kRerankSystemPrompt)}}, std::move(user)};
}

}  // namespace loupe
