#!/usr/bin/env python3
"""HuggingFace transformers counterpart of bench_embed: Qwen3-VL-Embedding pooling as the
reference does it (QwenLM/Qwen3-VL-Embedding's embedder, rebuilt from transformers and
qwen_vl_utils), on CPU with the same checkpoint and thread count. Measured like bench_embed:

  image  one 448x448 image, no text, the default instruction
  text   short queries with TEXT_INSTRUCTION

each at batch 1 (latency, one input per forward) and batched (all inputs in one padded
forward, which is how the reference embeds a list). Pipeline per call: conversation
[system: instruction, user: images then text] -> apply_chat_template(add_generation_prompt)
-> qwen_vl_utils.process_vision_info (fetch_image: smart_resize factor 32, min 4*32^2 /
max 1800*32^2 pixels, Pillow bicubic) -> processor(do_resize=False, right padding) ->
Qwen3VLModel -> last_hidden_state at the last attention-mask position -> L2 normalise.

With --loupe-vectors (bench_embed --vectors), also prints the cosine between Loupe's and HF's
vector for every common input. Writes key/value lines.

  bench_hf_embed.py --model DIR --image FILE [--threads N] [--images N] [--texts N]
                    [--latency-runs N] [--dtype bfloat16|float32] [--loupe-vectors FILE]
                    [--out-tsv FILE]
"""
import argparse
import json
import os
import time
import unicodedata
from pathlib import Path

import torch
import torch.nn.functional as F
from qwen_vl_utils import process_vision_info
from transformers import AutoProcessor, Qwen3VLModel

# Keep identical to kTextInstruction and kQueries in bench_embed.cpp.
TEXT_INSTRUCTION = "Retrieve images that match the user's query."
QUERIES = [
    "a red bicycle leaning against a brick wall",
    "two dogs playing in the snow at dusk",
    "a bowl of ramen with a soft boiled egg",
    "an old lighthouse on a rocky coast",
    "children flying kites in a green park",
    "a busy night market with paper lanterns",
    "a cat sleeping on a sunny windowsill",
    "mountain lake reflecting pine trees at sunrise",
    "a vintage car parked on a cobbled street",
    "fresh strawberries in a wicker basket outdoors",
    "a violinist performing on a crowded subway platform",
    "storm clouds gathering over a wheat field",
    "a wooden sailboat moored in a quiet harbour",
    "a person reading a book under a tree",
    "colourful hot air balloons over a valley",
    "a steaming cup of coffee on a desk",
]
DEFAULT_INSTRUCTION = "Represent the user's input."
IMAGE_PATCH_SIZE = 16
FACTOR = 2 * IMAGE_PATCH_SIZE
MIN_PIXELS, MAX_PIXELS = 4 * FACTOR * FACTOR, 1800 * FACTOR * FACTOR


def instruction_text(instruction):
    """The reference's instruction normalisation: strip, '.' unless it ends in punctuation."""
    if instruction:
        instruction = instruction.strip()
        if instruction and not unicodedata.category(instruction[-1]).startswith("P"):
            instruction += "."
    return instruction or DEFAULT_INSTRUCTION


def conversation(text=None, image=None, instruction=None):
    content = []
    if image is not None:
        content.append({"type": "image", "image": "file://" + str(Path(image).resolve()),
                        "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS})
    if text is not None:
        content.append({"type": "text", "text": text})
    if not content:
        content = [{"type": "text", "text": "NULL"}]
    return [{"role": "system", "content": [{"type": "text", "text": instruction_text(instruction)}]},
            {"role": "user", "content": content}]


class Embedder:
    def __init__(self, model_dir, dtype):
        self.model = Qwen3VLModel.from_pretrained(model_dir, dtype=dtype).eval()
        self.processor = AutoProcessor.from_pretrained(model_dir, padding_side="right")

    def __call__(self, conversations):
        """Unit vectors (float32) for a batch of conversations, plus the padded prompt length."""
        text = self.processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=False)
        images, _ = process_vision_info(conversations, image_patch_size=IMAGE_PATCH_SIZE)
        inputs = self.processor(text=text, images=images, padding=True, do_resize=False, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state
        mask = inputs["attention_mask"]
        last = mask.shape[1] - 1 - mask.flip(dims=[1]).argmax(dim=1)
        pooled = hidden[torch.arange(hidden.shape[0]), last]
        return F.normalize(pooled.float(), p=2, dim=-1), int(mask[0].sum())


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--images", type=int, default=4, help="inputs in the batched image forward (0: skip)")
    p.add_argument("--texts", type=int, default=16, help="queries in the batched text forward (0: skip)")
    p.add_argument("--latency-runs", type=int, default=2)
    p.add_argument("--warmup-image", help="small image for the warm-up forward (default --image)")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    p.add_argument("--loupe-vectors", help="bench_embed --vectors output: print Loupe-vs-HF cosines")
    p.add_argument("--out-tsv")
    a = p.parse_args()
    assert 0 <= a.texts <= len(QUERIES) and a.images >= 0 and a.latency_runs >= 1
    torch.set_num_threads(a.threads)
    results = {}

    def put(key, value):
        results[key] = value
        print(f"{key}\t{value:.4g}", flush=True)

    t0 = time.perf_counter()
    embed = Embedder(a.model, getattr(torch, a.dtype))
    put("hf_embed_load_s", time.perf_counter() - t0)

    t0 = time.perf_counter()
    embed([conversation(text="warm up", instruction=TEXT_INSTRUCTION)])
    if a.images > 0:
        embed([conversation(image=a.warmup_image or a.image)])
    put("hf_embed_warmup_s", time.perf_counter() - t0)

    hf = {}
    if a.images > 0:
        runs = [timed(embed, [conversation(image=a.image)]) for _ in range(a.latency_runs)]
        put("hf_embed_image_prompt_tokens", runs[0][1][1])
        put("hf_embed_image_b1_ms", 1e3 * min(s for s, _ in runs))
        put("hf_embed_image_b1_mean_ms", 1e3 * sum(s for s, _ in runs) / len(runs))
        hf["image"] = runs[0][1][0][0]
        seconds, _ = timed(embed, [conversation(image=a.image) for _ in range(a.images)])
        put("hf_embed_image_batch", a.images)
        put("hf_embed_image_per_s", a.images / seconds)

    if a.texts > 0:
        runs = [timed(embed, [conversation(text=QUERIES[i], instruction=TEXT_INSTRUCTION)])
                for i in range(min(a.latency_runs, a.texts))]
        put("hf_embed_text_prompt_tokens", runs[0][1][1])
        put("hf_embed_text_b1_ms", 1e3 * min(s for s, _ in runs))
        put("hf_embed_text_b1_mean_ms", 1e3 * sum(s for s, _ in runs) / len(runs))
        seconds, (vectors, _) = timed(embed, [conversation(text=q, instruction=TEXT_INSTRUCTION)
                                              for q in QUERIES[:a.texts]])
        put("hf_embed_text_batch", a.texts)
        put("hf_embed_text_per_s", a.texts / seconds)
        put("hf_embed_text_batch_vs_b1_cosine", float(vectors[0] @ runs[0][1][0][0]))
        hf["texts"] = vectors

    if a.loupe_vectors:
        loupe = json.loads(Path(a.loupe_vectors).read_text())
        if loupe.get("image") and "image" in hf:
            put("cosine_loupe_hf_image", float(torch.tensor(loupe["image"]["vector"]) @ hf["image"]))
        if loupe.get("texts") and "texts" in hf:
            assert loupe["text_instruction"] == TEXT_INSTRUCTION, "bench_embed.cpp and this script differ"
            cosines = []
            for i, item in enumerate(loupe["texts"][:len(hf["texts"])]):
                assert item["text"] == QUERIES[i], "bench_embed.cpp and this script differ"
                cosines.append(float(torch.tensor(item["vector"]) @ hf["texts"][i]))
            put("cosine_loupe_hf_text_min", min(cosines))
            put("cosine_loupe_hf_text_mean", sum(cosines) / len(cosines))

    if a.out_tsv:
        with open(a.out_tsv, "w") as f:
            f.writelines(f"{k}\t{v}\n" for k, v in results.items())


if __name__ == "__main__":
    main()
