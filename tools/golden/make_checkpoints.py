"""Writes testdata/images/ and the tiny checkpoints under testdata/golden/models/.

Usage: python make_checkpoints.py --testdata ../../testdata --skimage-wheel PATH
"""

import argparse
import json
from pathlib import Path

import torch

import checkpoints
import sample_images
from tokenizer_build import build_tokenizer

HERE = Path(__file__).resolve().parent
CHAT_TEMPLATE = (HERE / "qwen3_vl_instruct_chat_template.jinja").read_text(encoding="utf-8")

# preprocessor_config.json / video_preprocessor_config.json values of the released
# Qwen3-VL Instruct checkpoints (spec section 1.5); per-request limits go in the call.
IMAGE_PROCESSOR = dict(
    size={"shortest_edge": 65536, "longest_edge": 16777216},
    patch_size=16, temporal_patch_size=2, merge_size=2,
    image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
)
VIDEO_PROCESSOR = dict(
    size={"shortest_edge": 4096, "longest_edge": 25165824},
    patch_size=16, temporal_patch_size=2, merge_size=2,
    image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
    fps=2, min_frames=4, max_frames=768, do_sample_frames=True,
)


def make_processor():
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    tokenizer = build_tokenizer(CHAT_TEMPLATE)
    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(**IMAGE_PROCESSOR),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(**VIDEO_PROCESSOR),
        chat_template=CHAT_TEMPLATE,
    )


def save_checkpoint(name: str, out: Path, processor):
    model = checkpoints.build_model(name)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.safetensors"):
        old.unlink()
    model.save_pretrained(out, max_shard_size=checkpoints.CHECKPOINTS[name]["max_shard_size"])
    checkpoints.make_generation_config().save_pretrained(out)
    processor.save_pretrained(out)
    # Released repos also ship the per-modality files; write them too so loaders of
    # either layout find their config.
    processor.image_processor.save_pretrained(out)
    processor.video_processor.save_pretrained(out)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 2, f"{name}: expected a sharded checkpoint, got {shards}"
    has_lm_head = "lm_head.weight" in index["weight_map"]
    assert has_lm_head != checkpoints.CHECKPOINTS[name]["tie"], f"{name}: lm_head presence is wrong"
    print(f"{name}: {len(index['weight_map'])} tensors in {len(shards)} shards, lm_head stored={has_lm_head}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, required=True)
    ap.add_argument("--skimage-wheel", type=Path, required=True)
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    sample_images.write_images(args.testdata / "images", args.skimage_wheel)
    processor = make_processor()
    for name in checkpoints.CHECKPOINTS:
        save_checkpoint(name, args.testdata / "golden" / "models" / name, processor)


if __name__ == "__main__":
    main()
