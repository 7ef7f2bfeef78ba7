//! The checkpoint's `tokenizer.json` through the reference `tokenizers` implementation.
use tokenizers::Tokenizer;

pub struct LoadedTokenizer {
    inner: Tokenizer,
}

impl LoadedTokenizer {
    pub fn from_file(path: &str) -> Result<Self, String> {
        let inner = Tokenizer::from_file(path).map_err(|e| format!("cannot load tokenizer '{path}': {e}"))?;
        Ok(Self::prepared(inner))
    }

    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        let inner = Tokenizer::from_bytes(json).map_err(|e| format!("invalid tokenizer.json: {e}"))?;
        Ok(Self::prepared(inner))
    }

    // A tokenizer.json may carry truncation/padding defaults; HF's fast tokenizer ignores
    // them unless a call asks for them, so the runtime must too.
    fn prepared(mut inner: Tokenizer) -> Self {
        let _ = inner.with_truncation(None);
        inner.with_padding(None);
        Self { inner }
    }

    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, String> {
        // encode_fast skips offset tracking, which the runtime never uses.
        let encoding = self
            .inner
            .encode_fast(text, add_special_tokens)
            .map_err(|e| format!("tokenizer failed to encode: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Ids the vocabulary does not know are skipped, as HF's `decode` does.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| format!("tokenizer failed to decode: {e}"))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn vocab_size(&self, with_added_tokens: bool) -> usize {
        self.inner.get_vocab_size(with_added_tokens)
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// The tokenizer.json document this tokenizer serialises to (the layout llguidance reads).
    pub fn to_json_value(&self) -> Result<serde_json::Value, String> {
        serde_json::to_value(&self.inner).map_err(|e| format!("cannot serialise the tokenizer: {e}"))
    }
}
