#!/usr/bin/env python3
"""HF reference timing for bench_image: decode (PIL + exif_transpose, as load_image) and
the default Qwen3-VL image processor (torchvision backend) on the same file.

  bench_hf.py <image> [iterations] [threads] [max_pixels]
"""
import io
import statistics
import sys
import time

import torch
from PIL import Image, ImageOps
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor


def main():
    path = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    if len(sys.argv) > 3 and int(sys.argv[3]) > 0:
        torch.set_num_threads(int(sys.argv[3]))
    max_pixels = int(sys.argv[4]) if len(sys.argv) > 4 else 16777216
    data = open(path, "rb").read()
    proc = Qwen2VLImageProcessor(size={"shortest_edge": 65536, "longest_edge": max_pixels}, patch_size=16,
                                 temporal_patch_size=2, merge_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    decode, pre, total = [], [], []
    for i in range(iterations + 1):
        t0 = time.perf_counter()
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        image.load()
        t1 = time.perf_counter()
        out = proc(images=[image], return_tensors="pt")
        t2 = time.perf_counter()
        if i:
            decode.append((t1 - t0) * 1e3)
            pre.append((t2 - t1) * 1e3)
            total.append((t2 - t0) * 1e3)
    print(f"hf grid {out['image_grid_thw'][0].tolist()} torch threads {torch.get_num_threads()}")
    print(f"hf decode        median {statistics.median(decode):8.2f} ms  best {min(decode):8.2f} ms")
    print(f"hf preprocess    median {statistics.median(pre):8.2f} ms  best {min(pre):8.2f} ms")
    print(f"hf total         median {statistics.median(total):8.2f} ms  best {min(total):8.2f} ms")


if __name__ == "__main__":
    main()
