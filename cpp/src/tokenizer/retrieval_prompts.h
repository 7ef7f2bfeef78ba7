#pragma once
// The conversations Qwen3-VL-Embedding and Qwen3-VL-Reranker are run on (their reference
// code, QwenLM/Qwen3-VL-Embedding src/models/): the checkpoint's chat template renders
// them, with the generation prompt, like any other conversation.
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"

namespace loupe {

inline constexpr const char* kDefaultEmbeddingInstruction = "Represent the user's input.";
inline constexpr const char* kDefaultRerankInstruction =
    "Given a search query, retrieve relevant candidates that answer the query.";

// One side of a retrieval input: its images (in order, before the text) and its text.
struct RetrievalContent {
  int images = 0;
  std::string text;  // empty: none
};

// The instruction as the embedding model sees it: trimmed, "." appended unless it ends in
// Unicode punctuation; nullopt or blank gives the default.
std::string embedding_instruction(const std::optional<std::string>& instruction);

// system: instruction; user: the images, then the text ("NULL" when there is neither).
std::vector<ChatMessage> embedding_messages(const std::optional<std::string>& instruction,
                                            const RetrievalContent& input);

// The reranker's fixed system prompt; user: "<Instruct>: {instruction}", "<Query>:", the
// query, "\n<Document>:", the document (each side "NULL" when empty).
std::vector<ChatMessage> reranker_messages(const std::optional<std::string>& instruction,
                                           const RetrievalContent& query, const RetrievalContent& document);

}  // namespace loupe
