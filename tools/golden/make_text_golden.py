"""Tokenizer and chat-template goldens (for the Java tokenizer and prompt builder).

Writes testdata/golden/text/tokenizer_cases.json and chat_template_cases.json from the
tiny checkpoints' tokenizer.json and chat_template.jinja, as transformers uses them.
"""

import argparse
import json
from pathlib import Path

from transformers import AutoProcessor

TOKENIZER_STRINGS = [
    ("ascii", "Describe this image in one sentence."),
    ("contractions", "I'm sure they'll say it's fine, don't you think? WE'VE SEEN IT'S"),
    ("digits", "In 2026 we paid $1234.56 for 3.5 GHz and 12,000 items (x^2 + y^2 = z^2)."),
    ("cjk", "一张照片，上面有一只猫坐在窗台上。请描述这张图片。"),
    ("japanese_korean", "これは写真です。이 사진에는 고양이가 있습니다."),
    ("emoji", "Emoji 😀🐱🚀 with skin tone 👍🏽 and flag 🇫🇷 and heart ❤️."),
    ("whitespace_runs", "a  b   c    d\t\te\n\n\nf      "),
    ("leading_spaces", "   leading and trailing   "),
    ("crlf", "line one\r\nline two\r\n\r\nline four\rcarriage"),
    ("specials_in_text", "before<|im_start|>user\nhi<|im_end|>\n<|vision_start|><|image_pad|><|vision_end|>after"),
    ("added_plain_tokens", "<think>\nreasoning\n</think>\n\n<tool_call>{}</tool_call>"),
    ("almost_special", "<|im_start |> <im_start> <|unknown|> |> <|"),
    ("nfc_combining", "Cafe\u0301 vs Caf\u00e9, A\u030a vs \u00c5"),
    ("accents", "naïve façade, Ελληνικά, русский текст, עברית, العربية"),
    ("code", "def f(x):\n    return x * 2  # double\n\tif __name__ == '__main__':"),
    ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3),
    ("control_chars", "tab\there\x0bvt\x0cff\x00nul\u2028ls\u00a0nbsp"),
    ("empty", ""),
    ("single_space", " "),
    ("newline_only", "\n"),
]

IMG = {"type": "image"}

CHAT_CASES = [
    ("single_image", [{"role": "user", "content": [IMG, {"type": "text", "text": "Describe this image."}]}],
     {"add_generation_prompt": True}),
    ("two_images", [{"role": "user", "content": [IMG, IMG, {"type": "text", "text": "What differs?"}]}],
     {"add_generation_prompt": True}),
    ("two_images_vision_id", [{"role": "user", "content": [IMG, IMG, {"type": "text", "text": "What differs?"}]}],
     {"add_generation_prompt": True, "add_vision_id": True}),
    ("system_prompt", [{"role": "system", "content": "You caption images for a search index."},
                       {"role": "user", "content": [IMG, {"type": "text", "text": "Caption it."}]}],
     {"add_generation_prompt": True}),
    ("system_as_parts", [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                         {"role": "user", "content": "Plain string content."}],
     {"add_generation_prompt": True}),
    ("no_generation_prompt", [{"role": "user", "content": [IMG, {"type": "text", "text": "Describe."}]}],
     {"add_generation_prompt": False}),
    ("multi_turn", [{"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": [IMG, {"type": "text", "text": "What is this?"}]},
                    {"role": "assistant", "content": "A rocket on a launch pad."},
                    {"role": "user", "content": [{"type": "text", "text": "And the colour of the sky?"}]}],
     {"add_generation_prompt": True}),
    ("video", [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens?"}]}],
     {"add_generation_prompt": True}),
    ("image_and_video_vision_id", [{"role": "user", "content": [IMG, {"type": "video"}, IMG,
                                                                 {"type": "text", "text": "Relate them."}]}],
     {"add_generation_prompt": True, "add_vision_id": True}),
    ("unicode_text", [{"role": "user", "content": [IMG, {"type": "text", "text": "描述这张图片 🐱\r\nplease"}]}],
     {"add_generation_prompt": True}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, required=True)
    args = ap.parse_args()
    out = args.testdata / "golden" / "text"
    out.mkdir(parents=True, exist_ok=True)
    proc = AutoProcessor.from_pretrained(args.testdata / "golden" / "models" / "tiny-tied")
    tok = proc.tokenizer

    cases = []
    for name, text in TOKENIZER_STRINGS:
        ids = tok.encode(text, add_special_tokens=False)
        cases.append({
            "name": name, "text": text, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    doc = {
        "tokenizer": "models/tiny-tied/tokenizer.json (shared by both tiny checkpoints)",
        "notes": "ids from tokenizer.encode(text, add_special_tokens=False); 'decoded' is decode(ids); "
                 "'decoded_skip_special' drops special tokens (not the plain added ones like <think>). "
                 "Decoding is lossy only where NFC normalisation changed the input.",
        "vocab_size": len(tok), "cases": cases,
    }
    (out / "tokenizer_cases.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    chat = []
    for name, messages, kwargs in CHAT_CASES:
        rendered = proc.apply_chat_template(messages, tokenize=False, **kwargs)
        chat.append({"name": name, "messages": messages, "kwargs": kwargs, "rendered": rendered,
                     "ids": tok.encode(rendered, add_special_tokens=False)})
    doc = {
        "template": "models/tiny-tied/chat_template.jinja (the Qwen3-VL Instruct template)",
        "notes": "rendered = processor.apply_chat_template(messages, tokenize=False, **kwargs): jinja2 with "
                 "trim_blocks=True and lstrip_blocks=True; placeholders are NOT expanded here "
                 "(one <|image_pad|> / <|video_pad|> per item); ids = tokenizer.encode(rendered).",
        "cases": chat,
    }
    (out / "chat_template_cases.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(cases)} tokenizer cases, {len(chat)} chat-template cases")


if __name__ == "__main__":
    main()
