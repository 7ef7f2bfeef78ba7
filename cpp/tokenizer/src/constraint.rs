//! Output constraints through llguidance: a compiler per tokenizer (the token trie and the
//! mask slicer, built once) and a matcher per request, which gives the mask of tokens allowed
//! next and consumes the token that was chosen.
use std::sync::Arc;

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;

use crate::tokenizer::LoadedTokenizer;

/// What a request constrains its output to. The numbers are the C ABI's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    JsonSchema = 0,
    Regex = 1,
    Lark = 2,
}

impl ConstraintKind {
    pub fn from_code(code: u32) -> Result<Self, String> {
        match code {
            0 => Ok(Self::JsonSchema),
            1 => Ok(Self::Regex),
            2 => Ok(Self::Lark),
            _ => Err(format!("unknown constraint kind {code}")),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::JsonSchema => "JSON schema",
            Self::Regex => "regex",
            Self::Lark => "Lark grammar",
        }
    }
}

/// Our JSON layout unless a schema sets its own `x-guidance` options: one space after ","
/// and ":" (as Python's json.dumps writes) and no other whitespace, so a model can never
/// spend its token budget on blank space and equal objects come out as equal text.
fn default_json_options() -> Value {
    serde_json::json!({"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": false})
}

/// The tokenizer as llguidance sees it: the bytes of every token in a trie (special tokens
/// marked, so grammar text never matches them; the end-of-sequence ids end the output), and
/// the checkpoint's own tokenization, which decides the one token a mask allows where the
/// grammar forces text (a key, the rest of an enum value).
struct TrieEnv {
    trie: TokTrie,
    tokenizer: tokenizers::Tokenizer,
}

impl TokenizerEnv for TrieEnv {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        // Bytes that are not UTF-8 go through the trie greedily, the rest through the tokenizer.
        self.trie.tokenize_with_greedy_fallback(s, |text| {
            self.tokenizer.encode_fast(text, false).map(|e| e.get_ids().to_vec()).unwrap_or_else(|_| self.trie.greedy_tokenize(text.as_bytes()))
        })
    }
}

pub struct ConstraintCompiler {
    factory: ParserFactory,
    eos: Vec<TokenId>,
}

impl ConstraintCompiler {
    /// `vocab_size` is the model's logit width (it may exceed the tokenizer's vocabulary; the
    /// ids beyond are never allowed); `eos` are the ids that end generation.
    pub fn new(tokenizer: &LoadedTokenizer, vocab_size: usize, eos: &[u32]) -> Result<Self, String> {
        if eos.is_empty() {
            return Err("a constraint needs at least one end-of-sequence token".to_owned());
        }
        let json = tokenizer.to_json_value()?;
        let mut tokens = llguidance::token_bytes_from_tokenizer_json(&json)
            .map_err(|e| format!("cannot read the token bytes of tokenizer.json: {e}"))?;
        if tokens.len() > vocab_size {
            return Err(format!(
                "the tokenizer has {} tokens, more than the model's vocabulary of {vocab_size}",
                tokens.len()
            ));
        }
        tokens.resize(vocab_size, Vec::new());
        for &id in eos {
            if id as usize >= vocab_size {
                return Err(format!("end-of-sequence token {id} outside the vocabulary of {vocab_size}"));
            }
        }
        let trie = TokTrie::from(&TokRxInfo::new(vocab_size as u32, eos[0]), &tokens).with_eos_tokens(eos);
        let env: TokEnv = Arc::new(TrieEnv { trie, tokenizer: tokenizer.inner().clone() });
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| format!("cannot build the constraint factory: {e}"))?;
        factory.quiet();
        // Errors name the problem, not the parser's state and the whole grammar (they reach
        // HTTP responses and logs).
        factory.limits_mut().verbose_errors = false;
        Ok(Self { factory, eos: eos.to_vec() })
    }

    /// A fresh matcher, or the reason the constraint is invalid.
    pub fn matcher(&self, kind: ConstraintKind, source: &str) -> Result<ConstraintMatcher, String> {
        let grammar = match kind {
            ConstraintKind::JsonSchema => {
                let mut schema: Value =
                    serde_json::from_str(source).map_err(|e| format!("the JSON schema is not valid JSON: {e}"))?;
                match &mut schema {
                    Value::Object(map) => {
                        map.entry("x-guidance").or_insert_with(default_json_options);
                    }
                    Value::Bool(_) => {}
                    _ => return Err("a JSON schema must be an object or a boolean".to_owned()),
                }
                TopLevelGrammar::from_json_schema(schema)
            }
            ConstraintKind::Regex => TopLevelGrammar::from_regex(source),
            ConstraintKind::Lark => TopLevelGrammar::from_lark(source.to_owned()),
        };
        let what = kind.describe();
        let parser = self.factory.create_parser(grammar).map_err(|e| format!("invalid {what}: {e}"))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(error) = matcher.get_error() {
            return Err(format!("invalid {what}: {error}"));
        }
        Ok(ConstraintMatcher { matcher, eos: self.eos.clone() })
    }
}

pub struct ConstraintMatcher {
    matcher: Matcher,
    eos: Vec<TokenId>,
}

impl ConstraintMatcher {
    /// Writes the allowed-token bits (bit t of words[t / 32]) without the end-of-sequence ids,
    /// and returns whether the output may end here (an end-of-sequence id is allowed).
    pub fn compute_mask(&mut self, words: &mut [u32]) -> Result<bool, String> {
        if self.matcher.is_stopped() {
            words.fill(0);
            return Ok(true);
        }
        let mask = self.matcher.compute_mask().map_err(|e| format!("constraint failed: {e}"))?;
        // llguidance's sets hold one bit more than the vocabulary (always clear here).
        let bits = mask.as_slice();
        if bits.len() < words.len() {
            return Err(format!("mask of {} words for a vocabulary mask of {}", words.len(), bits.len()));
        }
        words.copy_from_slice(&bits[..words.len()]);
        let mut may_end = false;
        for &id in &self.eos {
            let (word, bit) = (id as usize / 32, 1u32 << (id % 32));
            may_end |= words[word] & bit != 0;
            words[word] &= !bit;
        }
        Ok(may_end)
    }

    pub fn consume(&mut self, token: u32) -> Result<(), String> {
        self.matcher
            .consume_token(token)
            .map_err(|e| format!("the output left its constraint at token {token}: {e}"))
    }

    /// Nothing may follow: the grammar is complete and admits no longer output.
    pub fn is_stopped(&self) -> bool {
        self.matcher.is_stopped()
    }
}
