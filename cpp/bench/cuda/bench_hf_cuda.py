#!/usr/bin/env python3
"""HF transformers reference for bench_caption on the same GPU and checkpoint: the same
prompt shape (chat tokens around one image's placeholder run, synthetic pixel values),
greedy, exactly --new-tokens per image, batches of --batch images (HF has no continuous
batching: static batches of equal-length prompts). Prints images/s as a key=value line.

  bench_hf_cuda.py --model DIR [--images 256] [--new-tokens 100] [--image-size 448] [--batch 64]
"""
import argparse
import time

import torch
from transformers import AutoConfig, Qwen3VLForConditionalGeneration


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--new-tokens", type=int, default=100)
    p.add_argument("--image-size", type=int, default=448)
    p.add_argument("--batch", type=int, default=64)
    a = p.parse_args()
    cfg = AutoConfig.from_pretrained(a.model)
    v = cfg.vision_config
    merge, patch = v.spatial_merge_size, v.patch_size
    side = a.image_size // (patch * merge) * merge
    patches, merged = side * side, side * side // (merge * merge)
    patch_dim = v.in_channels * v.temporal_patch_size * patch * patch
    vocab = cfg.text_config.vocab_size
    im_start = 151644 if 151644 < vocab else 1
    # Keep identical to bench_caption.cpp's prompt.
    head = [im_start, 872, 198, cfg.vision_start_token_id]
    tail = [cfg.vision_end_token_id, 74785, 279, 2168, 13, im_start + 1, 198, im_start, 77091, 198]
    ids = [min(t, vocab - 1) for t in head] + [cfg.image_token_id] * merged + [min(t, vocab - 1) for t in tail]

    model = Qwen3VLForConditionalGeneration.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
    gen = torch.Generator(device="cuda").manual_seed(1)

    def run(n):
        input_ids = torch.tensor([ids] * n, device="cuda")
        pixels = torch.rand(n * patches, patch_dim, device="cuda", generator=gen, dtype=torch.float32) * 3.9 - 1.8
        grid = torch.tensor([[1, side, side]] * n, device="cuda")
        with torch.inference_mode():
            model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                           pixel_values=pixels.to(torch.bfloat16), image_grid_thw=grid,
                           max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens, do_sample=False,
                           eos_token_id=None, pad_token_id=0)

    run(1)  # warm-up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    done = 0
    while done < a.images:
        n = min(a.batch, a.images - done)
        run(n)
        done += n
    torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    print(f"hf_images_per_s={a.images / wall:.3f}")
    print(f"hf_wall_s={wall:.2f}")


if __name__ == "__main__":
    main()
