"""Golden tensors for every case in cases.py on every tiny checkpoint, computed by
HuggingFace transformers in fp32 with eager attention.

Writes testdata/golden/cases/<case>/inputs.safetensors (processor output, shared by
both checkpoints: they share the processor), testdata/golden/cases/<case>/<model>.safetensors
(model stages) and testdata/golden/manifest.json (what every tensor is).
"""

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import transformers
from transformers import AutoProcessor, Qwen3VLForConditionalGeneration
from transformers.vision_utils import get_vision_interpolation_indices_and_weights, get_vision_position_ids

import checkpoints
from cases import CASES

ATTN = "eager"
MAX_NEW_TOKENS = 20
TOPK_PER_STEP = 8

INPUT_TENSORS = {
    "input_ids": "int64 [L]: token ids after the chat template and placeholder expansion",
    "mm_token_type_ids": "int64 [L]: 0 text, 1 image, 2 video (processor output, drives get_rope_index)",
    "pixel_values": "float32 [N_img_patches, 1536]: image patches, merge-window order",
    "image_grid_thw": "int64 [n_images, 3]",
    "pixel_values_videos": "float32 [N_vid_patches, 1536]",
    "video_grid_thw": "int64 [n_videos, 3]",
    "position_ids": "int64 [3, L]: M-RoPE (t, h, w) positions from get_rope_index",
    "rope_delta": "int64 [1]: max(position)+1-L; decode position = index + delta",
}
MODEL_TENSORS = {
    "{m}.patch_embed": "float32 [N, V]: Conv3d patch embedding output (before pos-embed)",
    "{m}.pos_interp_indices": "int64 [N, 4]: pos_embed rows of the 4 bilinear taps (merge-window order)",
    "{m}.pos_interp_weights": "float32 [N, 4]: their weights",
    "{m}.pos_embed": "float32 [N, V]: interpolated learned position embedding",
    "{m}.vision_rope_pos": "int64 [N, 2]: (row, col) of each patch for the vision 2-D RoPE",
    "{m}.block0_input": "float32 [N, V]: patch_embed + pos_embed",
    "{m}.block0_output": "float32 [N, V]: output of vision block 0",
    "{m}.last_block_output": "float32 [N, V]: output of the last vision block (merger input)",
    "{m}.merger_output": "float32 [N/4, D]: main visual embeddings (images first, then videos, in prompt order)",
    "{m}.deepstack_{k}": "float32 [N/4, D]: deepstack merger k output (vision block deepstack_visual_indexes[k])",
    "text_inputs_embeds": "float32 [L, D]: token embeddings with visual rows replaced (decoder layer 0 input)",
    "text_layer0_output": "float32 [L, D]: decoder layer 0 output BEFORE the deepstack add",
    "text_final_norm_last": "float32 [D]: final RMSNorm output at the last prompt position",
    "prefill_logits_last": "float32 [vocab]: logits at the last prompt position",
    "generated_ids": "int64 [n_new]: greedy (do_sample=False) new tokens from generate()",
    "step_topk_ids": "int64 [n_new, 8]: per decode step, ids of the 8 largest logits",
    "step_topk_logits": "float32 [n_new, 8]: their logits (step 0 = prefill)",
}


def load_inputs(case, processor, images_dir: Path):
    text = processor.apply_chat_template(case["messages"], add_generation_prompt=True, tokenize=False)
    kwargs = {}
    if "images" in case:
        kwargs["images"] = [Image.open(images_dir / f) for f in case["images"]]
        kwargs["images_kwargs"] = case.get("images_kwargs", {})
    if "video" in case:
        v = case["video"]
        frames = [np.asarray(Image.open(images_dir / v["dir"] / f"frame_{i:02d}.png").convert("RGB"))
                  for i in range(v["frames"])]
        kwargs["videos"] = [np.stack(frames)]
        h, w = frames[0].shape[:2]
        kwargs["video_metadata"] = [{"total_num_frames": v["frames"], "fps": v["fps"], "width": w, "height": h,
                                     "duration": v["frames"] / v["fps"]}]
        kwargs["videos_kwargs"] = dict(case.get("videos_kwargs", {}), return_metadata=True)
    batch = processor(text=[text], return_tensors="pt", **kwargs)
    if "video" in case:
        # The processor drops the sampling metadata; ask its video processor for it.
        vp = processor.video_processor(videos=kwargs["videos"], video_metadata=kwargs["video_metadata"],
                                       return_tensors="pt", **kwargs["videos_kwargs"])
        assert torch.equal(vp["pixel_values_videos"], batch["pixel_values_videos"])
        batch["video_metadata"] = vp["video_metadata"]
    return text, batch


def rope_index(model, batch):
    ids = batch["input_ids"]
    pos, delta = model.model.get_rope_index(
        ids,
        mm_token_type_ids=batch["mm_token_type_ids"],
        image_grid_thw=batch.get("image_grid_thw"),
        video_grid_thw=batch.get("video_grid_thw"),
    )
    return pos[:, 0, :].contiguous(), delta.reshape(1).to(torch.int64)


@torch.no_grad()
def vision_stages(model, pixel_values, grid_thw, prefix):
    visual = model.model.visual
    out, captured = {}, {}
    hooks = [
        visual.patch_embed.register_forward_hook(lambda m, a, o: captured.__setitem__("patch_embed", o)),
        visual.blocks[0].register_forward_pre_hook(
            lambda m, a, kw: captured.__setitem__("block0_input", a[0] if a else kw["hidden_states"]),
            with_kwargs=True),
        visual.blocks[0].register_forward_hook(lambda m, a, o: captured.__setitem__("block0_output", o)),
    ]
    try:
        res = visual(pixel_values.to(torch.float32), grid_thw=grid_thw, return_dict=True)
    finally:
        for h in hooks:
            h.remove()
    idx, w = get_vision_interpolation_indices_and_weights(
        grid_thw, num_grid_per_side=visual.num_grid_per_side, mode=visual.interpolation_mode,
        align_corners=visual.interpolation_align_corners, spatial_merge_size=visual.spatial_merge_size)
    pos = (visual.pos_embed(idx) * w[:, :, None]).sum(1)
    # The recomputed pos-embed must be the one the forward added (same ops, same order).
    torch.testing.assert_close(captured["patch_embed"] + pos, captured["block0_input"], rtol=0, atol=0)
    out[f"{prefix}.patch_embed"] = captured["patch_embed"]
    out[f"{prefix}.pos_interp_indices"] = idx.to(torch.int64)
    out[f"{prefix}.pos_interp_weights"] = w.to(torch.float32)
    out[f"{prefix}.pos_embed"] = pos
    out[f"{prefix}.vision_rope_pos"] = get_vision_position_ids(grid_thw, visual.spatial_merge_size).to(torch.int64)
    out[f"{prefix}.block0_input"] = captured["block0_input"]
    out[f"{prefix}.block0_output"] = captured["block0_output"]
    out[f"{prefix}.last_block_output"] = res.last_hidden_state
    out[f"{prefix}.merger_output"] = res.pooler_output
    for k, feat in enumerate(res.deepstack_features):
        out[f"{prefix}.deepstack_{k}"] = feat
    return out


@torch.no_grad()
def text_stages(model, batch):
    lm = model.model.language_model
    captured = {}
    hooks = [
        lm.layers[0].register_forward_pre_hook(
            lambda m, a, kw: captured.__setitem__("in", a[0] if a else kw["hidden_states"]), with_kwargs=True),
        lm.layers[0].register_forward_hook(lambda m, a, o: captured.__setitem__("l0", o[0] if isinstance(o, tuple) else o)),
        lm.norm.register_forward_hook(lambda m, a, o: captured.__setitem__("norm", o)),
    ]
    try:
        model.model.rope_deltas = None
        logits = model(**batch, use_cache=False, logits_to_keep=0).logits
    finally:
        for h in hooks:
            h.remove()
    return {
        "text_inputs_embeds": captured["in"][0],
        "text_layer0_output": captured["l0"][0],
        "text_final_norm_last": captured["norm"][0, -1],
        "prefill_logits_last": logits[0, -1],
    }


@torch.no_grad()
def greedy(model, batch, eos_ids):
    model.model.rope_deltas = None
    gen = model.generate(**batch, do_sample=False, max_new_tokens=MAX_NEW_TOKENS, temperature=None,
                         top_p=None, top_k=None, output_logits=True, return_dict_in_generate=True)
    new = gen.sequences[0, batch["input_ids"].shape[1]:]
    logits = torch.stack([s[0] for s in gen.logits]).to(torch.float32)
    top = logits.topk(TOPK_PER_STEP, dim=-1)
    margins = (top.values[:, 0] - top.values[:, 1]).tolist()
    hit_eos = [i for i, t in enumerate(new.tolist()) if t in eos_ids]
    return new, top, margins, hit_eos, logits


def contiguous(d):
    return {k: v.detach().to("cpu").contiguous() for k, v in d.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    golden = args.testdata / "golden"
    models_dir = golden / "models"
    manifest = {
        "format": 1,
        "generator": "tools/golden/make_golden.sh (make_cases.py)",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
        "compute": {"dtype": "float32 (bf16 checkpoints are upcast exactly at load)", "attn_implementation": ATTN,
                    "device": "cpu", "generation": {"do_sample": False, "max_new_tokens": MAX_NEW_TOKENS,
                                                    "stop": "generation_config.json eos_token_id"}},
        "models": {}, "input_tensors": INPUT_TENSORS, "model_tensors": MODEL_TENSORS, "cases": [],
    }
    procs = {}
    loaded = {}
    for name, spec in checkpoints.CHECKPOINTS.items():
        d = models_dir / name
        loaded[name] = Qwen3VLForConditionalGeneration.from_pretrained(d, dtype=torch.float32,
                                                                       attn_implementation=ATTN).eval()
        procs[name] = AutoProcessor.from_pretrained(d)
        cfg = json.loads((d / "config.json").read_text())
        manifest["models"][name] = {
            "dir": f"models/{name}", "weights_dtype_on_disk": str(spec["dtype"]).replace("torch.", ""),
            "tie_word_embeddings": spec["tie"], "seed": spec["seed"],
            "shards": sorted({*json.loads((d / "model.safetensors.index.json").read_text())["weight_map"].values()}),
            "special_ids": {k: cfg[k] for k in ("image_token_id", "video_token_id", "vision_start_token_id",
                                                "vision_end_token_id")},
        }
    eos_ids = set(json.loads((models_dir / "tiny-tied" / "generation_config.json").read_text())["eos_token_id"])
    proc = procs["tiny-tied"]
    for case in CASES:
        text, batch = load_inputs(case, proc, args.testdata / "images")
        # Same processor files in both checkpoints: the inputs must be identical.
        text2, batch2 = load_inputs(case, procs["tiny-untied"], args.testdata / "images")
        assert text == text2 and torch.equal(batch["input_ids"], batch2["input_ids"])
        cdir = golden / "cases" / case["name"]
        cdir.mkdir(parents=True, exist_ok=True)
        model_inputs = {k: v for k, v in batch.items() if k != "video_metadata"}
        pos, delta = rope_index(loaded["tiny-tied"], batch)
        inputs = {"input_ids": batch["input_ids"][0], "mm_token_type_ids": batch["mm_token_type_ids"][0].to(torch.int64),
                  "position_ids": pos, "rope_delta": delta}
        for k in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
            if k in batch:
                inputs[k] = batch[k]
        save_file(contiguous(inputs), cdir / "inputs.safetensors", metadata={"case": case["name"]})
        entry = {
            "name": case["name"], "messages": case["messages"], "prompt": text,
            "expanded_prompt": proc.tokenizer.decode(batch["input_ids"][0], skip_special_tokens=False),
            "add_generation_prompt": True, "images": [f"images/{f}" for f in case.get("images", [])],
            "images_kwargs": case.get("images_kwargs"), "inputs": f"cases/{case['name']}/inputs.safetensors",
            "num_tokens": int(batch["input_ids"].shape[1]),
            "image_grid_thw": batch["image_grid_thw"].tolist() if "image_grid_thw" in batch else [],
            "video_grid_thw": batch["video_grid_thw"].tolist() if "video_grid_thw" in batch else [],
            "rope_delta": int(delta[0]), "results": {},
        }
        if "video" in case:
            md = batch["video_metadata"][0]
            entry["video"] = {"frames": [f"images/{case['video']['dir']}/frame_{i:02d}.png"
                                         for i in range(case["video"]["frames"])],
                              "fps": case["video"]["fps"], "sampled_frame_indices": [int(i) for i in md.frames_indices],
                              "videos_kwargs": case.get("videos_kwargs")}
        for name, model in loaded.items():
            # Other checkpoint: its own get_rope_index must agree (same merge size, same ids).
            p2, d2 = rope_index(model, batch)
            assert torch.equal(p2, pos) and torch.equal(d2, delta)
            out = {}
            if "pixel_values" in batch:
                out.update(vision_stages(model, batch["pixel_values"], batch["image_grid_thw"], "image"))
            if "pixel_values_videos" in batch:
                out.update(vision_stages(model, batch["pixel_values_videos"], batch["video_grid_thw"], "video"))
            out.update(text_stages(model, model_inputs))
            new, top, margins, hit_eos, step_logits = greedy(model, model_inputs, eos_ids)
            torch.testing.assert_close(step_logits[0], out["prefill_logits_last"], rtol=1e-5, atol=1e-5)
            out["generated_ids"] = new
            out["step_topk_ids"] = top.indices
            out["step_topk_logits"] = top.values
            # One metadata key: safetensors does not keep the order of several, and the
            # files must be byte-identical across regenerations.
            save_file(contiguous(out), cdir / f"{name}.safetensors", metadata={"golden": f"{case['name']}/{name}"})
            entry["results"][name] = {
                "tensors": f"cases/{case['name']}/{name}.safetensors",
                "generated_ids": new.tolist(),
                "generated_text": proc.tokenizer.decode(new, skip_special_tokens=False),
                "num_new_tokens": int(new.numel()), "stopped_on_eos_at": hit_eos[0] if hit_eos else None,
                "min_top1_top2_margin": min(margins),
                "max_abs_prefill_logit": float(out["prefill_logits_last"].abs().max()),
            }
            print(f"{case['name']:12s} {name:12s} L={entry['num_tokens']:4d} new={new.numel()} "
                  f"eos_at={hit_eos[:1]} min_margin={min(margins):.4f}")
        manifest["cases"].append(entry)
    (golden / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
