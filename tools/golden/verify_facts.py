"""Re-derives, independently of the code paths make_cases.py used, the facts that
testdata/golden/README.md states and the runtime relies on; fails loudly if a future
transformers changes one of them. Run by make_golden.sh after the goldens are written.
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoProcessor
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize


def check_alpha_composited_on_white(proc):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent
    pv = proc.image_processor(images=[Image.fromarray(rgba, "RGBA")], return_tensors="pt")["pixel_values"]
    assert torch.all(pv == 1.0), "RGBA is no longer composited over white"


def check_smart_resize():
    f, lo, hi = 32, 65536, 16777216
    assert smart_resize(10, 10, f, lo, hi) == (256, 256)        # side <= 16 rounds to 0, min branch scales up
    assert smart_resize(16, 300, f, lo, hi) == (64, 1120)
    assert smart_resize(48, 80, f, 1024, hi) == (64, 64)        # 1.5 -> 2 and 2.5 -> 2: round half to even
    assert smart_resize(427, 640, f, 4096, 40960) == (160, 224)
    assert smart_resize(300, 451, f, 4096, 24576) == (96, 192)  # 300/beta/32 = 3.996 -> floor 3
    try:
        smart_resize(10, 2100, f, lo, hi)
        raise AssertionError("aspect ratio > 200 accepted")
    except ValueError:
        pass


def merge_window_order(grid, t, h, w, m=2):
    """[h*w, C] raster rows -> merge-window order (t, br, bc, ir, ic), like the patches."""
    c = grid.shape[-1]
    g = grid.reshape(h // m, m, w // m, m, c).permute(0, 2, 1, 3, 4).reshape(h * w, c)
    return g.repeat(t, 1)


def check_pos_embed_is_align_corners(golden, case, model):
    weights = {}
    index = json.loads((golden / "models" / model / "model.safetensors.index.json").read_text())
    shard = index["weight_map"]["model.visual.pos_embed.weight"]
    E = load_file(golden / "models" / model / shard)["model.visual.pos_embed.weight"].to(torch.float32)
    side = int(math.isqrt(E.shape[0]))
    ref = load_file(golden / "cases" / case["name"] / f"{model}.safetensors")
    for kind, grids in (("image", case["image_grid_thw"]), ("video", case["video_grid_thw"])):
        if not grids:
            continue
        parts = []
        for t, h, w in grids:
            table = E.T.reshape(1, -1, side, side)
            up = F.interpolate(table, size=(h, w), mode="bilinear", align_corners=True)[0]
            parts.append(merge_window_order(up.reshape(E.shape[1], h * w).T, t, h, w))
        mine = torch.cat(parts)
        got = ref[f"{kind}.pos_embed"]
        err = (mine - got).abs().max().item() / got.abs().max().item()
        assert err < 1e-5, f"{case['name']}/{model} {kind}: pos_embed is not bilinear align_corners=True ({err})"
        weights[kind] = err
    return weights


def rope_index_457(ids, image_grids, video_grids, ids_cfg, m=2):
    """The 4.57-era formulation (vision_start scan), written from the spec, not HF code."""
    vids = []
    for t, h, w in video_grids:
        vids += [(1, h, w)] * t
    imgs = list(image_grids)
    pos, st = [], 0
    ids = list(ids)

    def first(tok, start):
        try:
            return ids.index(tok, start)
        except ValueError:
            return 10**9

    while True:
        ei = first(ids_cfg["image_token_id"], st) if imgs else 10**9
        ev = first(ids_cfg["video_token_id"], st) if vids else 10**9
        if ei == ev == 10**9:
            break
        if ei < ev:
            (t, h, w), ed = imgs.pop(0), ei
        else:
            (t, h, w), ed = vids.pop(0), ev
        lt, lh, lw = t, h // m, w // m
        base = max(max(p) for p in pos) + 1 if pos else 0
        pos += [(base + i,) * 3 for i in range(ed - st)]
        b2 = base + ed - st
        pos += [(b2 + a, b2 + b, b2 + c) for a in range(lt) for b in range(lh) for c in range(lw)]
        st = ed + lt * lh * lw
    if st < len(ids):
        base = max(max(p) for p in pos) + 1 if pos else 0
        pos += [(base + i,) * 3 for i in range(len(ids) - st)]
    pos = torch.tensor(pos).T
    return pos, int(pos.max()) + 1 - len(ids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, required=True)
    args = ap.parse_args()
    golden = args.testdata / "golden"
    manifest = json.loads((golden / "manifest.json").read_text())
    proc = AutoProcessor.from_pretrained(golden / "models" / "tiny-tied")
    check_alpha_composited_on_white(proc)
    check_smart_resize()
    assert f"{0.25:.1f}" == "0.2" and f"{1.25:.1f}" == "1.2" and f"{2.5:.1f}" == "2.5"
    ids_cfg = manifest["models"]["tiny-tied"]["special_ids"]
    for case in manifest["cases"]:
        inputs = load_file(golden / case["inputs"])
        pos, delta = rope_index_457(inputs["input_ids"].tolist(), case["image_grid_thw"], case["video_grid_thw"],
                                    ids_cfg)
        assert torch.equal(pos, inputs["position_ids"]), f"{case['name']}: v5 and 4.57 get_rope_index disagree"
        assert delta == int(inputs["rope_delta"][0])
        for model in manifest["models"]:
            check_pos_embed_is_align_corners(golden, case, model)
    print("verified: alpha over white, smart_resize rounding, timestamp format, "
          "get_rope_index (v5 == 4.57 formulation), pos-embed == bilinear align_corners=True")


if __name__ == "__main__":
    main()
