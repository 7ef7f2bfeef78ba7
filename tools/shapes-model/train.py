"""Trains the shapes model from scratch on freshly generated scenes and saves it in the HF layout.

Usage: python train.py --out DIR [--steps N] [--batch B] [--seed S]

Every training example is a new scene (seeded by its step and slot, so runs repeat exactly)
asked one of the product's five prompts through the real chat template; the loss covers
only the assistant's answer and its closing <|im_end|>.
"""

import argparse
import copy
import json
import math
import random
import time
from pathlib import Path

import torch

import model_def
import scenes

TRAIN_SEED_BASE = 10_000_000  # held-out scenes use seeds below this (see evaluate.py)
PRESET_WEIGHTS = {"caption": 0.35, "keywords": 0.20, "detailed": 0.20, "ocr": 0.05, "tags": 0.20}


class PromptCodec:
    """Token ids of a chat-formatted request: prefix + image pads + suffix (+ answer)."""

    def __init__(self, processor):
        self.processor = processor
        tok = processor.tokenizer
        self.tokenizer = tok
        self.image_pad = tok.convert_tokens_to_ids("<|image_pad|>")
        self.im_end = tok.convert_tokens_to_ids("<|im_end|>")
        self.pad = tok.convert_tokens_to_ids("<|endoftext|>")
        self.parts = {}
        for preset, text in scenes.PROMPTS.items():
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            ids = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tok.encode(ids)
            at = ids.index(self.image_pad)
            self.parts[preset] = (ids[:at], ids[at + 1:])

    def prompt_ids(self, preset, n_image_tokens):
        prefix, suffix = self.parts[preset]
        return prefix + [self.image_pad] * n_image_tokens + suffix

    def answer_ids(self, answer):
        return self.tokenizer.encode(answer) + [self.im_end]


def make_batch(codec, seeds, presets):
    images, prompts, answers = [], [], []
    for seed, preset in zip(seeds, presets):
        scene = scenes.scene_for(seed)
        images.append(scenes.render(scene))
        answers.append(scenes.answers(scene)[preset])
    vision = codec.processor.image_processor(images=images, return_tensors="pt")
    merge = codec.processor.image_processor.merge_size ** 2
    rows = []
    for grid, preset, answer in zip(vision["image_grid_thw"], presets, answers):
        prompt = codec.prompt_ids(preset, int(grid.prod()) // merge)
        target = codec.answer_ids(answer)
        rows.append((prompt + target, [-100] * len(prompt) + target))
    length = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), length), codec.pad, dtype=torch.long)
    labels = torch.full((len(rows), length), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    for r, (ids, lab) in enumerate(rows):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        labels[r, : len(lab)] = torch.tensor(lab)
        attention[r, : len(ids)] = 1
    return dict(
        input_ids=input_ids,
        attention_mask=attention,
        labels=labels,
        mm_token_type_ids=(input_ids == codec.image_pad).to(torch.int32),
        pixel_values=vision["pixel_values"],
        image_grid_thw=vision["image_grid_thw"],
    )


def learning_rate(step, peak, warmup, horizon):
    """Warmup, then cosine decay to 5 % over a fixed horizon and flat after it. It does not
    depend on --steps, so the snapshot a long run saves at step N equals a run of N steps."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(args):
    from transformers import Qwen3VLForConditionalGeneration

    torch.manual_seed(args.seed)
    processor = model_def.build_processor()
    codec = PromptCodec(processor)
    config = model_def.build_config(processor.tokenizer)
    model = Qwen3VLForConditionalGeneration(config).to(torch.float32)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    presets, weights = list(PRESET_WEIGHTS), list(PRESET_WEIGHTS.values())
    log = []
    start = time.time()
    smoothed = None
    for step in range(args.steps):
        rng = random.Random(args.seed * 1_000_003 + step)
        seeds = [TRAIN_SEED_BASE + step * args.batch + j for j in range(args.batch)]
        batch = make_batch(codec, seeds, rng.choices(presets, weights, k=args.batch))
        for group in optim.param_groups:
            group["lr"] = learning_rate(step, args.lr, args.warmup, args.horizon)
        loss = model(**batch).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            elapsed = time.time() - start
            print(f"step {step:5d}  loss {loss.item():.4f}  smoothed {smoothed:.4f}  {elapsed:6.0f} s", flush=True)
            log.append({"step": step, "loss": round(loss.item(), 5)})
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < args.steps:
            save(model, processor, Path(args.out) / f"snapshot-{step + 1:05d}", run_info(args, step + 1, n_params, log))
    seconds = time.time() - start
    save(model, processor, args.out, run_info(args, args.steps, n_params, log))
    print(f"trained {args.steps} steps in {seconds:.0f} s -> {args.out}", flush=True)


def run_info(args, steps, n_params, log):
    return {"steps": steps, "batch": args.batch, "lr": args.lr, "warmup": args.warmup, "horizon": args.horizon,
            "seed": args.seed, "parameters": n_params, "loss_log": [e for e in log if e["step"] < steps]}


def save(model, processor, out, info):
    """The checkpoint in the HF layout, plus training_log.json (settings and losses, no
    wall-clock times, so two runs of the same command write identical files)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.safetensors"):
        old.unlink()
    # bf16 on disk (like the released checkpoints); evaluation upcasts these exact values.
    # A copy, so a snapshot mid-run leaves the fp32 training weights untouched.
    copy.deepcopy(model).eval().to(torch.bfloat16).save_pretrained(out, max_shard_size="1MB")
    model_def.build_generation_config(processor.tokenizer).save_pretrained(out)
    processor.save_pretrained(out)
    processor.image_processor.save_pretrained(out)
    processor.video_processor.save_pretrained(out)
    (out / "training_log.json").write_text(json.dumps(info, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--horizon", type=int, default=2400, help="steps of the cosine decay")
    ap.add_argument("--save-every", type=int, default=0, help="also save snapshots (for learning curves)")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    train(args)


if __name__ == "__main__":
    main()
