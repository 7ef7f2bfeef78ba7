/* C ABI of the loupe-tokenizer Rust crate (cpp/tokenizer/src/ffi.rs).
 *
 * Every function that can fail returns NULL on success or an error message owned by the
 * library (free it with loupe_tok_string_free); outputs are written only on success.
 * No function unwinds or aborts on bad input: a panic inside the crate becomes an error.
 * Handles are immutable after creation and safe to use from several threads at once. */
#ifndef LOUPE_TOKENIZER_H
#define LOUPE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct LoupeTokenizer LoupeTokenizer;
typedef struct LoupeChatTemplate LoupeChatTemplate;

/* Library-owned UTF-8 bytes (not NUL-terminated); free with loupe_tok_bytes_free. */
typedef struct LoupeBytes {
  uint8_t* data;
  size_t len;
} LoupeBytes;

/* Library-owned token ids; free with loupe_tok_ids_free. */
typedef struct LoupeIds {
  uint32_t* data;
  size_t len;
} LoupeIds;

void loupe_tok_string_free(char* message);
void loupe_tok_bytes_free(LoupeBytes bytes);
void loupe_tok_ids_free(LoupeIds ids);

char* loupe_tok_from_file(const uint8_t* path, size_t path_len, LoupeTokenizer** out);
char* loupe_tok_from_json(const uint8_t* json, size_t json_len, LoupeTokenizer** out);
void loupe_tok_free(LoupeTokenizer* tokenizer);

char* loupe_tok_encode(const LoupeTokenizer* tokenizer, const uint8_t* text, size_t text_len,
                       bool add_special_tokens, LoupeIds* out);
/* Ids outside the vocabulary are skipped, as in HuggingFace's decode. */
char* loupe_tok_decode(const LoupeTokenizer* tokenizer, const uint32_t* ids, size_t count,
                       bool skip_special_tokens, LoupeBytes* out);
char* loupe_tok_token_to_id(const LoupeTokenizer* tokenizer, const uint8_t* token, size_t token_len,
                            uint32_t* id, bool* found);
char* loupe_tok_id_to_token(const LoupeTokenizer* tokenizer, uint32_t id, LoupeBytes* out, bool* found);
char* loupe_tok_vocab_size(const LoupeTokenizer* tokenizer, bool with_added_tokens, size_t* size);

/* Jinja chat templates, rendered like transformers' apply_chat_template. The context is a
 * JSON object: messages, add_generation_prompt, special tokens, extra variables. */
char* loupe_chat_template_new(const uint8_t* source, size_t source_len, LoupeChatTemplate** out);
char* loupe_chat_template_render(const LoupeChatTemplate* tmpl, const uint8_t* context_json,
                                 size_t context_len, LoupeBytes* out);
void loupe_chat_template_free(LoupeChatTemplate* tmpl);

/* Output constraints (llguidance). A compiler holds a tokenizer's token trie for a model with
 * vocab_size logits (built once: it is the slow part); a constraint is one request's matcher,
 * used by one thread at a time. kind: 0 JSON Schema, 1 regex, 2 Lark grammar. A JSON schema
 * without "x-guidance" options gets ", " and ": " separators and no other whitespace. */
typedef struct LoupeConstraintCompiler LoupeConstraintCompiler;
typedef struct LoupeConstraint LoupeConstraint;
char* loupe_constraint_compiler_new(const LoupeTokenizer* tokenizer, size_t vocab_size, const uint32_t* eos,
                                    size_t eos_count, LoupeConstraintCompiler** out);
void loupe_constraint_compiler_free(LoupeConstraintCompiler* compiler);
char* loupe_constraint_new(const LoupeConstraintCompiler* compiler, uint32_t kind, const uint8_t* source,
                           size_t source_len, LoupeConstraint** out);
void loupe_constraint_free(LoupeConstraint* constraint);
/* Bit t of words[t / 32] ((vocab_size + 31) / 32 words): token t may come next. The end-of-sequence bits are cleared;
 * *may_end says whether the output may end here instead. */
char* loupe_constraint_compute_mask(LoupeConstraint* constraint, uint32_t* words, size_t count, bool* may_end);
char* loupe_constraint_consume(LoupeConstraint* constraint, uint32_t token);
bool loupe_constraint_is_stopped(const LoupeConstraint* constraint);

/* Unicode punctuation (general category P*), as Python's unicodedata sees it. */
bool loupe_is_punctuation(uint32_t code_point);

#ifdef __cplusplus
}
#endif
#endif /* LOUPE_TOKENIZER_H */
