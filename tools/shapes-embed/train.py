"""Trains the shapes embedding model contrastively, starting from the shapes captioner.

Usage: python train.py --init DIR --out DIR [--steps N] [--batch B] [--lr LR] [--seed S]

Every step draws fresh scenes (seeded by the step, so runs repeat exactly): half of the
batch are sampled scenes, the other half hard negatives made from them (one colour or shape
changed, two colours swapped, a shape dropped or added). Each content is rendered twice
(the second time with a new layout, sizes, background and texture) and described --texts times (the
canonical caption, keywords, the detailed description or, mostly, a paraphrase with colour
and shape synonyms). The loss is a symmetric multi-positive InfoNCE over in-batch negatives
between texts and both renders, and between the two renders; inputs that share a content
count as positives of each other. The whole model (vision tower, merger, language model) is
trained; the checkpoint keeps the captioner's HF layout (tied embeddings, bf16).
"""

import argparse
import copy
import json
import math
import random
import shutil
import time
from pathlib import Path

import torch

import embed_def
from embed_def import scenes

TRAIN_SEED_BASE = 20_000_000  # held-out scenes (evaluate.py) use seeds below 10_000_000
COPIED_FILES = ("chat_template.jinja", "config.json", "generation_config.json", "preprocessor_config.json",
                "processor_config.json", "tokenizer.json", "tokenizer_config.json",
                "video_preprocessor_config.json")


def make_step(step, args):
    """Scenes (two renders per content) and texts of one step."""
    rng = random.Random(args.seed * 1_000_003 + step)
    half = args.batch // 2
    base = TRAIN_SEED_BASE + step * 4 * half
    first = [scenes.scene_for(base + j) for j in range(half)]
    contents = [embed_def.content(s) for s in first]
    contents += [embed_def.perturb(c, rng) for c in contents]
    views_a = first + [embed_def.relayout(c, rng, base + half + k) for k, c in enumerate(contents[half:])]
    views_b = [embed_def.relayout(c, rng, base + 2 * half + k) for k, c in enumerate(contents)]
    texts = [(c, embed_def.training_text(s, rng)) for _ in range(args.texts) for c, s in zip(contents, views_a)]
    return contents, views_a, views_b, texts


def multi_positive_nce(q, k, positive, scale):
    """-log(sum of exp(similarity) over the positives / sum over all), averaged over rows."""
    logits = scale * q @ k.T
    pos = logits.masked_fill(~positive, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(pos, dim=1)).mean()


def symmetric(a, b, positive, scale):
    return 0.5 * (multi_positive_nce(a, b, positive, scale) + multi_positive_nce(b, a, positive.T, scale))


def learning_rate(step, peak, warmup, steps):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(args):
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    torch.manual_seed(args.seed)
    processor = AutoProcessor.from_pretrained(args.init)
    model = Qwen3VLForConditionalGeneration.from_pretrained(args.init, dtype=torch.float32)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    scale = torch.tensor(1.0 / args.temperature)
    log, start, smoothed = [], time.time(), None
    for step in range(args.steps):
        contents, views_a, views_b, texts = make_step(step, args)
        positive = torch.tensor([[a == b for b in contents] for a in contents])
        text_positive = torch.tensor([[c == b for b in contents] for c, _ in texts])
        images = [scenes.render(s) for s in views_a + views_b]
        image_batch = embed_def.encode(processor, [embed_def.image_input(im) for im in images])
        text_batch = embed_def.encode(processor, [embed_def.query_input(t) for _, t in texts])
        for group in optim.param_groups:
            group["lr"] = learning_rate(step, args.lr, args.warmup, args.steps)
        e_img = embed_def.embed(model, image_batch)
        e_a, e_b = e_img[: len(contents)], e_img[len(contents):]
        e_t = embed_def.embed(model, text_batch)
        loss_ti = 0.5 * (symmetric(e_t, e_a, text_positive, scale) + symmetric(e_t, e_b, text_positive, scale))
        loss_ii = symmetric(e_a, e_b, positive, scale)
        loss = loss_ti + args.image_weight * loss_ii
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f} (text-image {loss_ti.item():.4f}, image-image "
                  f"{loss_ii.item():.4f})  smoothed {smoothed:.4f}  {time.time() - start:6.0f} s", flush=True)
            log.append({"step": step, "loss": round(loss.item(), 5), "text_image": round(loss_ti.item(), 5),
                        "image_image": round(loss_ii.item(), 5)})
    seconds = time.time() - start
    info = {"init": Path(args.init).name, "steps": args.steps, "batch": args.batch, "lr": args.lr,
            "texts": args.texts, "warmup": args.warmup, "temperature": args.temperature, "image_weight": args.image_weight,
            "seed": args.seed, "parameters": n_params, "loss_log": log}
    save(model, args.init, args.out, info)
    print(f"trained {args.steps} steps in {seconds:.0f} s -> {args.out}", flush=True)


def save(model, init, out, info):
    """The checkpoint in the HF layout of an embedding checkpoint: Qwen3VLForConditionalGeneration
    weight names, bf16, tied embeddings (no lm_head.weight), the captioner's tokenizer,
    processor and config files unchanged, and the sentence-transformers pooling markers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.safetensors*"):
        old.unlink()
    copy.deepcopy(model).eval().to(torch.bfloat16).save_pretrained(out)
    (out / "model.safetensors").chmod(0o644)
    if _without_dtype(json.loads((out / "config.json").read_text())) != \
            _without_dtype(json.loads((Path(init) / "config.json").read_text())):
        raise RuntimeError("the saved config differs from the captioner's")  # (it is replaced by the captioner's)
    for name in COPIED_FILES:  # byte for byte: the embedding model reads inputs exactly as the captioner
        shutil.copyfile(Path(init) / name, out / name)
    hidden = model.config.text_config.hidden_size
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")
    pooling = {"word_embedding_dimension": hidden, "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
               "pooling_mode_lasttoken": True, "include_prompt": True}
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2) + "\n")
    (out / "training_log.json").write_text(json.dumps(info, indent=1) + "\n")


def _without_dtype(config):
    """A config without its dtype entries (the trained model is fp32 in memory, bf16 on disk)."""
    if isinstance(config, dict):
        return {k: _without_dtype(v) for k, v in config.items() if k != "dtype"}
    return config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True, help="the shapes captioner checkpoint to start from")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=32, help="contents per step (half sampled, half hard negatives)")
    ap.add_argument("--texts", type=int, default=3, help="texts per content per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--image-weight", type=float, default=0.5, help="weight of the image-image loss")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    train(args)


if __name__ == "__main__":
    main()
