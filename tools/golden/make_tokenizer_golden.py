#!/usr/bin/env python3
"""Golden data for loupe's tokenizer and chat-template tests, made by HF `transformers`.

Writes testdata/tokenizer/tokenizer_golden.json (ids and decodes of tricky strings) and
testdata/tokenizer/chat_template_golden.json (apply_chat_template renders) for the tiny
checkpoint's own tokenizer.json and chat template. Run with the golden venv:

    tools/golden/make_golden.sh   (or the golden venv's python on this file alone)
"""
import json
import pathlib

import tokenizers
import transformers
from transformers import AutoProcessor, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "testdata/golden/models/tiny-tied"
OUT = ROOT / "testdata/tokenizer"

STRINGS = {
    "ascii": "Hello, world! The quick brown fox jumps over the lazy dog.",
    "contractions": "It's what they'll say: I'd've done it, we're sure, you've SEEN it, he'S",
    "numbers": "Units: 12 cm, 5 kg, 220 V, 3.5 GHz, 2026-11-28, 1234567890 and 0.000123",
    "cjk": "一只猫坐在窗台上看着外面的雨。日本語のテキストも、한국어 텍스트도 있다.",
    "emoji": "Rocket 🚀 launch! 👩‍👩‍👧‍👦 family, 🇫🇷 flag, ❤️ heart, 👍🏽 thumbs",
    "whitespace_runs": "a  b   c    d\t\te \t \n\n\n  f      \n   ",
    "leading_trailing_space": "   leading and trailing   ",
    "crlf": "line one\r\nline two\r\n\r\nline four\rline five\n",
    "special_tokens_in_text": "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe.<|im_end|>\n<|im_start|>assistant\n",
    "adjacent_specials": "<|image_pad|><|image_pad|><|image_pad|>x<|endoftext|>",
    "non_special_added": "<tool_call>\n{\"name\": \"f\"}\n</tool_call><think>hmm</think>",
    "broken_special": "<|im_start|x <|image_pad| |>image_pad<|",
    "nfc": "Cafe\u0301 vs Café, A\u030a vs Å",
    "code": "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\tif x != None: pass",
    "accents_mixed": "Zoë's naïve façade — Straße, ¿qué?, Ελληνικά, русский, עברית, العربية",
    "control_chars": "tab\tnull\u0000bell\u0007esc\u001b del\u007f",
    "empty": "",
    "single_space": " ",
    "long": ("A red circle sits above two blue squares; the caption says \"3.5 GHz\". " * 60).strip(),
}


def tokenizer_golden():
    tok = tokenizers.Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(MODEL)
    cases = []
    for name, text in STRINGS.items():
        ids = tok.encode(text, add_special_tokens=False).ids
        assert ids == hf(text, add_special_tokens=False)["input_ids"], name
        cases.append({
            "name": name,
            "text": text,
            "ids": ids,
            "ids_with_special": tok.encode(text, add_special_tokens=True).ids,
            "decoded": hf.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": hf.decode(ids, skip_special_tokens=True),
        })
    probe_ids = [0, 1, 100, 2047, 2048, 2060, 2065]
    return {
        "generator": "tools/golden/make_tokenizer_golden.py",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "tokenizer": "golden/models/tiny-tied/tokenizer.json",
        "vocab_size": tok.get_vocab_size(with_added_tokens=False),
        "vocab_size_with_added": tok.get_vocab_size(with_added_tokens=True),
        "id_to_token": {str(i): tok.id_to_token(i) for i in probe_ids},
        "special_tokens": {t: tok.token_to_id(t) for t in (
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>", "<tool_call>", "<think>")},
        # Ids past the vocabulary (the model's embedding is larger) are skipped on decode.
        "decode_out_of_vocab": {"ids": [2049, 5000, 391, 99999], "text": hf.decode([2049, 5000, 391, 99999])},
        "cases": cases,
    }


def text(t):
    return {"type": "text", "text": t}


IMAGE = {"type": "image"}
VIDEO = {"type": "video"}

CHATS = [
    ("single_image", [{"role": "user", "content": [IMAGE, text("Describe this image.")]}], {}),
    ("two_images", [{"role": "user", "content": [text("Compare "), IMAGE, text(" with "), IMAGE, text("?")]}], {}),
    ("system_prompt", [
        {"role": "system", "content": "You caption images for a search index."},
        {"role": "user", "content": [IMAGE, text("Caption it.")]}], {}),
    ("system_prompt_as_list", [
        {"role": "system", "content": [text("Be brief.")]},
        {"role": "user", "content": [text("Hi")]}], {}),
    ("no_generation_prompt", [{"role": "user", "content": [IMAGE, text("Describe.")]}],
     {"add_generation_prompt": False}),
    ("multi_turn", [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": [IMAGE, text("What is this?")]},
        {"role": "assistant", "content": [text("A rocket on a launch pad.")]},
        {"role": "user", "content": [text("And the sky?")]},
        {"role": "assistant", "content": "Clear and blue."},
        {"role": "user", "content": [IMAGE, text("Now this one.")]}], {}),
    ("string_content", [{"role": "user", "content": "Plain string content with <b>markup</b> & \"quotes\"."}], {}),
    ("video", [{"role": "user", "content": [VIDEO, text("What happens?")]}], {}),
    ("vision_ids", [{"role": "user", "content": [IMAGE, IMAGE, VIDEO, text("All three.")]}],
     {"add_vision_id": True}),
    ("unicode_and_whitespace", [{"role": "user", "content": [text("  一只猫 🚀\r\n\ttabs  "), IMAGE]}], {}),
    ("tool_call_and_response", [
        {"role": "user", "content": [text("Weather in Paris?")]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "°C", "days": [1, 2]}}}]},
        {"role": "tool", "content": "{\"temp\": 21}"},
        {"role": "tool", "content": [text("sunny")]}], {}),
]

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather <now> & later, in °C",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city"]}}}]


def chat_golden():
    processor = AutoProcessor.from_pretrained(MODEL)
    cases = []
    for name, messages, kwargs in CHATS:
        options = {"add_generation_prompt": True, **kwargs}
        rendered = processor.apply_chat_template(messages, tokenize=False, **options)
        cases.append({"name": name, "messages": messages, "options": options, "rendered": rendered})
    messages = [{"role": "system", "content": "Use tools."}, {"role": "user", "content": [text("Weather?")]}]
    options = {"add_generation_prompt": True}
    rendered = processor.apply_chat_template(messages, tools=TOOLS, tokenize=False, **options)
    cases.append({"name": "tools", "messages": messages, "tools": TOOLS, "options": options, "rendered": rendered})
    return {
        "generator": "tools/golden/make_tokenizer_golden.py",
        "versions": {"transformers": transformers.__version__},
        "model": "golden/models/tiny-tied",
        "cases": cases,
    }


def write(name, data):
    path = OUT / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write("tokenizer_golden.json", tokenizer_golden())
    write("chat_template_golden.json", chat_golden())
