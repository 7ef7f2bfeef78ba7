#!/usr/bin/env python3
"""Golden token masks of grammar-constrained decoding, computed by llguidance's own Python
package (the library's reference build of the same Rust core that cpp/tokenizer links).

Writes testdata/golden/constraint/<case>.json: for one JSON schema / regex / Lark grammar and
one valid output, the allowed-token bitmask before every output token and after the last one,
so the C++ test can check that Loupe's masks equal the library's at every step.

Venv (pins in tools/golden/requirements-constraint.txt; only llguidance and tokenizers):

    python3 -m venv ~/.cache/loupe/constraint-venv
    ~/.cache/loupe/constraint-venv/bin/pip install -r tools/golden/requirements-constraint.txt
    ~/.cache/loupe/constraint-venv/bin/python tools/golden/make_constraint_golden.py

The shared golden venv works as well once it has llguidance
(`~/.cache/loupe/golden-venv/bin/pip install -r tools/golden/requirements-constraint.txt`;
its tokenizers pin is the same). The script refuses to run with other versions and is
deterministic: a second run rewrites byte-identical files.

What is mirrored from Loupe (cpp/tokenizer/src/constraint.rs), so that the masks are exact:
- Token bytes: llguidance's `token_bytes_from_tokenizer_json` (ported below, line for line) on
  the serialised tokenizer: byte-level vocabulary decoded through the GPT-2 byte map, added
  tokens as their text, those with `special: true` behind the 0xFF special-token marker (so
  grammar text never matches them). The non-special added tokens `<tool_call>`, `</tool_call>`,
  `<think>`, `</think>` (2062..2065) are plain text here. llguidance's own HF loader
  (`LLTokenizer("tokenizer.json")`, `llguidance.hf.from_tokenizer`) differs exactly there: it
  marks every `<...>` added token special; the script checks that this is the only difference.
- Vocabulary: the model's logit width 2176; ids 2066..2175 are empty tokens (never allowed).
- EOS: {2050 <|im_end|>, 2048 <|endoftext|>} (generation_config.json), 2050 first.
- `tokenize_bytes` of the tokenizer environment: the HF tokenizer (`encode(s, False)`, greedy
  over the trie only for invalid UTF-8), as llguidance's own HF loader (ByteTokenizerEnv) does.
  It matters for masks: where the grammar forces text (a key, the rest of an enum value),
  `compute_mask` allows only the first token of tokenize_bytes(last token + forced bytes).
  Greedy longest match over the trie (what cpp/tokenizer's TrieEnv did when this was written)
  forces non-canonical splits ("count" -> c|ou|nt instead of BPE's c|o|un|t), and the HF
  tokenisation of the `nested` output is then rejected at step 23; the script prints where
  the greedy variant differs.
- Parser factory: default inference capabilities, default limits, general slices
  (ParserFactory::new_simple == LLTokenizer's default).
- JSON schemas without a top-level "x-guidance" get
  {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": false}; regex and
  Lark sources are passed as they are.
"""
import json
import pathlib
import subprocess
import sys

import llguidance
import tokenizers
from llguidance import LLMatcher, LLTokenizer, TokenizerWrapper

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKENIZER_REL = "testdata/golden/models/tiny-tied/tokenizer.json"
OUT = ROOT / "testdata/golden/constraint"
VOCAB_SIZE = 2176  # config.json text_config.vocab_size (the logit width)
EOS = [2050, 2048]  # generation_config.json eos_token_id
SPECIAL_TOKEN_MARKER = 0xFF
DEFAULT_JSON_OPTIONS = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False}

NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 30},
        "kind": {"type": "string", "enum": ["shape", "text", "photo"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
        "score": {"type": "number"},
        "visible": {"type": "boolean"},
        "parts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                "required": ["x", "y"],
                "additionalProperties": False,
            },
            "minItems": 1,
            "maxItems": 3,
        },
    },
    "required": ["name", "kind", "count", "score", "visible", "parts"],
    "additionalProperties": False,
}

ARITHMETIC_LARK = """start: expr
expr: term (("+" | "-") term)*
term: NUMBER | "(" expr ")"
NUMBER: /[0-9]+/
"""

CASES = [
    # (name, kind, source as Loupe receives it, valid output)
    ("nested", "json_schema", json.dumps(NESTED_SCHEMA),
     '{"name": "red circle", "kind": "shape", "count": 2, "score": 0.75, "visible": true, '
     '"parts": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}'),
    ("tags", "json_schema",
     (ROOT / "java/src/main/resources/dev/loupe/presets/tags.schema.json").read_text(encoding="utf-8"),
     '{"objects": ["circle", "square"], "colors": ["red", "blue"], "text_present": false, '
     '"scene": "plain white background"}'),
    ("default_layout", "json_schema",
     '{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}, '
     '"maxItems": 3}}, "required": ["a"]}',
     '{"a": [1, 22, 333]}'),
    ("regex", "regex", r"\d{3}-[a-z]+", "123-abc"),
    ("lark", "lark", ARITHMETIC_LARK, "(12+3)-45"),
    ("lark_choice", "lark", 'start: "yes" | "no" | "maybe"\n', "maybe"),
]


def check_versions():
    subprocess.run([sys.executable, str(HERE / "check_versions.py"), str(HERE / "requirements-constraint.txt")], check=True)


# --- llguidance parser/src/tokenizer_json.rs: token_bytes_from_tokenizer_json ---------------

def _is_self_mapped(c):
    o = ord(c)
    return 0x21 <= o <= 0x7E or 0xA1 <= o <= 0xAC or 0xAE <= o <= 0xFF


def _build_char_map():
    res, k = {}, 0x100
    for byte in range(256):
        c = chr(byte)
        if _is_self_mapped(c):
            res[c] = byte
        else:
            res[chr(k)] = byte
            k += 1
    return res


def token_bytes_from_tokenizer_json(tj):
    is_byte_level = is_byte_fallback = False
    space_ch = " "
    decoder = tj.get("decoder") or {}
    if decoder.get("type") == "ByteLevel":
        is_byte_level = True
    elif decoder.get("type") == "Sequence":
        for d in decoder.get("decoders") or []:
            if d.get("type") == "ByteFallback":
                is_byte_fallback = True
            elif d.get("type") == "Replace" and d.get("content") == " ":
                s = (d.get("pattern") or {}).get("String")
                if isinstance(s, str) and len(s) == 1:
                    space_ch = s
    if not is_byte_fallback and not is_byte_level:
        raise ValueError(f"can't determine decoder type: {decoder.get('type')!r}")

    token_bytes = []

    def add_bytes(idx, b):
        if len(token_bytes) <= idx:
            token_bytes.extend([b""] * (idx + 1 - len(token_bytes)))
        token_bytes[idx] = b

    for info in tj["added_tokens"]:
        b = info["content"].encode("utf-8")
        if info["special"]:
            b = bytes([SPECIAL_TOKEN_MARKER]) + b
        add_bytes(info["id"], b)

    char_map = _build_char_map()
    for name, tok_id in tj["model"]["vocab"].items():
        if tok_id < len(token_bytes) and token_bytes[tok_id]:
            continue  # skip specials already added
        if is_byte_fallback:
            if len(name) == 6 and name.startswith("<0x") and name.endswith(">"):
                b = bytes([int(name[3:5], 16)])
            else:
                assert not name.startswith("<0x")
                b = name.replace(space_ch, " ").encode("utf-8")
        else:
            try:
                b = bytes(char_map[c] for c in name)
            except KeyError as e:
                raise ValueError(f"missing char {e} decoding {name!r}") from None
        add_bytes(tok_id, b)
    return token_bytes


# --- tokenizers for llguidance ---------------------------------------------------------------

class _TokenList:
    """What llguidance.TokenizerWrapper reads: token bytes, EOS, BOS and a tokenize callable."""

    def __init__(self, tokens, encode):
        self.tokens = tokens
        self.eos_token_id = EOS[0]
        self.bos_token_id = None
        self.special_token_ids = []  # the 0xFF markers are already in `tokens`
        self._encode = encode

    def __call__(self, b):
        return self._encode(b.decode("utf-8") if isinstance(b, bytes) else b)


def loupe_tokenizer(token_bytes, encode):
    """Loupe's llguidance tokenizer: these token bytes and EOS set; `encode` (str -> ids) is the
    tokenize_bytes of valid UTF-8 (llguidance falls back to greedy for invalid bytes itself).
    TokenizerWrapper's path ignores n_vocab, so the list is already padded to the vocabulary."""
    return LLTokenizer(TokenizerWrapper(_TokenList(token_bytes, encode)), eos_token=EOS)


def greedy_tokenizer(token_bytes):
    """The same, with TokTrie::greedy_tokenize (over the same trie) as tokenize_bytes."""
    trie_only = loupe_tokenizer(token_bytes, lambda s: [])
    return loupe_tokenizer(token_bytes, trie_only.greedy_tokenize)


def mask_words(matcher):
    b = matcher.compute_bitmask()
    assert len(b) % 4 == 0
    return [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]


def allowed(words, t):
    return (words[t // 32] >> (t % 32)) & 1 == 1


def bits(words):
    return {w * 32 + i for w, v in enumerate(words) for i in range(32) if (v >> i) & 1}


def grammar_for(kind, source):
    if kind == "json_schema":
        schema = json.loads(source)
        if isinstance(schema, dict) and "x-guidance" not in schema:
            schema["x-guidance"] = dict(DEFAULT_JSON_OPTIONS)
            return LLMatcher.grammar_from_json_schema(json.dumps(schema))
        return LLMatcher.grammar_from_json_schema(source)
    if kind == "regex":
        return LLMatcher.grammar_from_regex(source)
    if kind == "lark":
        return LLMatcher.grammar_from_lark(source)
    raise ValueError(kind)


def run_case(lltok, kind, source, tokens, name, strict=True):
    """Masks before every token and after the last; (masks, stopped, accepting)."""
    matcher = LLMatcher(lltok, grammar_for(kind, source), log_level=0)
    if matcher.is_error():
        raise SystemExit(f"{name}: invalid grammar: {matcher.get_error()}")
    masks = []
    for step, t in enumerate(tokens):
        words = mask_words(matcher)
        masks.append(words)
        if not allowed(words, t):
            if not strict:
                return masks, None, None
            raise SystemExit(f"{name}: token {t} ({lltok.dbg_tokens([t])}) at step {step} is not "
                             f"allowed; allowed: {sorted(bits(words))[:40]}")
        if not matcher.consume_token(t) or matcher.is_error():
            raise SystemExit(f"{name}: consume_token({t}) at step {step} failed: {matcher.get_error()}")
    masks.append(mask_words(matcher))
    return masks, matcher.is_stopped(), matcher.is_accepting()


def write_json(path, doc):
    lines = ["{"]
    items = list(doc.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if k == "masks":
            lines.append('  "masks": [')
            for j, m in enumerate(v):
                lines.append("    " + json.dumps(m) + ("," if j + 1 < len(v) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    check_versions()
    core = llguidance.get_version()
    assert core.startswith(f"llguidance@{llguidance.__version__} "), core

    hf = tokenizers.Tokenizer.from_file(str(ROOT / TOKENIZER_REL))
    tj = json.loads(hf.to_str())
    token_bytes = token_bytes_from_tokenizer_json(tj)
    n_tok = len(token_bytes)
    assert n_tok == hf.get_vocab_size(with_added_tokens=True) == 2066, n_tok
    token_bytes += [b""] * (VOCAB_SIZE - n_tok)
    specials = {a["id"] for a in tj["added_tokens"] if a["special"]}
    assert all(token_bytes[i][:1] == bytes([SPECIAL_TOKEN_MARKER]) for i in specials)
    assert specials == set(range(2048, 2062)), sorted(specials)

    lltok = loupe_tokenizer(token_bytes, lambda s: hf.encode(s, add_special_tokens=False).ids)
    assert lltok.vocab_size == VOCAB_SIZE and lltok.eos_tokens == EOS, (lltok.vocab_size, lltok.eos_tokens)

    # Cross-checks of the port against llguidance's own HF tokenizer loader (same byte map).
    own = LLTokenizer(str(ROOT / TOKENIZER_REL), n_vocab=VOCAB_SIZE, eos_token=EOS)
    assert own.vocab_size == VOCAB_SIZE and own.eos_tokens == EOS
    # The trie reads any token starting with byte 0xFF as special: the marked added tokens and
    # the byte token 0xFF itself (id 187, never valid UTF-8 anyway), in Loupe as here.
    marked = {i for i, b in enumerate(token_bytes) if b[:1] == bytes([SPECIAL_TOKEN_MARKER])}
    assert marked == specials | {187}, sorted(marked)
    # llguidance's loader names the ids past the tokenizer as special "<[id]>"; Loupe leaves
    # them empty tokens. Neither can ever match grammar text.
    marked_by_own = set()
    for i, b in enumerate(token_bytes):
        plain = b[1:] if i in marked else b
        if i < n_tok:
            assert lltok.decode_bytes([i]) == plain, i
        else:
            assert lltok.test_trace_tokens([i]) == f"\u227aEMPTY[{i}]\u227b", i
        assert own.decode_bytes([i]) == (plain if i < n_tok else f"<[{i}]>".encode()), i
        assert lltok.is_special_token(i) == (i in marked), i
        if own.is_special_token(i):
            marked_by_own.add(i)
    expected = marked | set(range(2062, 2066)) | set(range(n_tok, VOCAB_SIZE))
    assert marked_by_own == expected, sorted(marked_by_own ^ expected)
    greedy_tok = greedy_tokenizer(token_bytes)

    never = {2049} | specials | set(range(n_tok, VOCAB_SIZE))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, kind, source, text in CASES:
        tokens = hf.encode(text, add_special_tokens=False).ids
        assert hf.decode(tokens, skip_special_tokens=False) == text, name
        masks, stopped, accepting = run_case(lltok, kind, source, tokens, name)
        for step, words in enumerate(masks):
            assert len(words) == VOCAB_SIZE // 32 + 1 and words[-1] == 0, (name, step, len(words))
            bad = bits(words) & (never - set(EOS))
            assert not bad, (name, step, sorted(bad))
            assert not (set(EOS) & bits(words)) or step == len(tokens) or kind != "json_schema", (name, step)
        assert accepting, name
        if stopped:  # llguidance's mask for a stopped matcher: the EOS ids alone
            assert bits(masks[-1]) == set(EOS), (name, sorted(bits(masks[-1])))

        # Diagnostics only (not written): how the library's other tokenizer setups differ.
        notes = []
        for label, other in (("greedy tokenize_bytes", greedy_tok), ("LLTokenizer(tokenizer.json)", own)):
            om, _, _ = run_case(other, kind, source, tokens, name, strict=False)
            diff = [(s, sorted(bits(a) ^ bits(b))[:6]) for s, (a, b) in enumerate(zip(masks, om)) if a != b]
            if len(om) < len(masks):
                diff.append((len(om) - 1, "rejects the output token here"))
            if other is own:  # the port of the token bytes is exact up to the documented ids
                assert len(om) == len(masks), name
                assert all(bits(a) ^ bits(b) <= set(range(2062, 2066)) for a, b in zip(masks, om)), name
            if diff:
                notes.append(f"{label}: {len(diff)} step(s) differ, e.g. {diff[:3]}")

        doc = {
            "llguidance_version": llguidance.__version__,
            "tokenizer": TOKENIZER_REL,
            "vocab_size": VOCAB_SIZE,
            "eos": EOS,
            "kind": kind,
            "source": source,
            "text": text,
            "tokens": tokens,
            "masks": masks,
            "stopped_after": stopped,
            "accepting_after": accepting,
        }
        write_json(OUT / f"{name}.json", doc)
        print(f"{name}: {kind}, {len(tokens)} tokens, stopped_after={stopped}, "
              f"allowed per step {[len(bits(m)) for m in masks]}")
        for n in notes:
            print(f"  {n}")
    print(f"{core}: wrote {len(CASES)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
