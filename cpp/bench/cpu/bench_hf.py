#!/usr/bin/env python3
"""HuggingFace transformers reference for bench_cpu: end-to-end captioning (448² image,
the same ~30-token prompt, fixed number of greedy new tokens) and decode tokens/s at batch 1,
on CPU with the same checkpoint and torch.set_num_threads = cores. Writes key/value lines.

  bench_hf.py --model DIR --image448 FILE [--threads N] [--caption-tokens 64]
              [--decode-tokens 32] [--dtype bfloat16|float32] [--out-tsv FILE]
"""
import argparse
import os
import time

import torch
from PIL import Image
from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

# Keep identical to kCaptionPrompt in bench_cpu.cpp.
CAPTION_PROMPT = ("Describe this image in one detailed paragraph for a search index: the main objects, "
                  "their colours, the setting, any visible text, and the overall mood.")


def generate(model, inputs, new_tokens):
    """Greedy generation of exactly new_tokens tokens (no stop ids: random weights)."""
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
        return time.perf_counter() - t0, out.shape[1] - inputs["input_ids"].shape[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--image448", required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--caption-tokens", type=int, default=64)
    p.add_argument("--decode-tokens", type=int, default=32)
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    p.add_argument("--out-tsv")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    results = {}

    t0 = time.perf_counter()
    model = Qwen3VLForConditionalGeneration.from_pretrained(a.model, dtype=getattr(torch, a.dtype)).eval()
    processor = AutoProcessor.from_pretrained(a.model)
    results["hf_load_s"] = time.perf_counter() - t0

    side = 448 * 448
    size = {"shortest_edge": side, "longest_edge": side}

    def caption(new_tokens, prompt):
        start = time.perf_counter()
        image = Image.open(a.image448).convert("RGB")
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=[text], images=[image], return_tensors="pt", images_kwargs={"size": size})
        _, produced = generate(model, inputs, new_tokens)
        return time.perf_counter() - start, produced, inputs["input_ids"].shape[1]

    caption(1, "Warm up.")
    seconds, produced, prompt_tokens = caption(a.caption_tokens, CAPTION_PROMPT)
    results["hf_caption_s"] = seconds
    results["hf_caption_prompt_tokens"] = prompt_tokens
    results["hf_caption_new_tokens"] = produced

    # Decode tokens/s at batch 1: the difference between N and 1 new tokens on a text prompt.
    vocab = model.config.text_config.vocab_size
    ids = torch.tensor([[(1000 + (i * 7919 + 104729) % 140000) % vocab for i in range(16)]])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    t1, _ = generate(model, inputs, 1)
    tn, n = generate(model, inputs, a.decode_tokens)
    results["hf_decode_tps_b1"] = (n - 1) / max(tn - t1, 1e-9)

    for key, value in results.items():
        print(f"{key}\t{value:.4g}")
    if a.out_tsv:
        with open(a.out_tsv, "w") as f:
            f.writelines(f"{k}\t{v}\n" for k, v in results.items())


if __name__ == "__main__":
    main()
