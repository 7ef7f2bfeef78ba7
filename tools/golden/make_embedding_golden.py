"""Golden data for Qwen3-VL-Embedding pooling and Qwen3-VL-Reranker scoring.

Replicates, with transformers + qwen_vl_utils only, what the official reference code
(QwenLM/Qwen3-VL-Embedding @ 8ce3aab, src/models/qwen3_vl_embedding.py and
src/models/qwen3_vl_reranker.py) does for one input at a time:

  embedding  conversation [system: instruction, user: videos, images, texts | "NULL"]
             -> apply_chat_template(add_generation_prompt=True, tokenize=False)
             -> qwen_vl_utils.process_vision_info(image_patch_size=16)
                (fetch_image: to_rgb, smart_resize factor 32 with min 4*32^2 / max 1800*32^2,
                 PIL Image.resize with its default filter)
             -> processor(..., do_resize=False, padding right) -> Qwen3VLModel
             -> last_hidden_state at the last attention-mask position -> F.normalize
  reranker   fixed system prompt, user content ["<Instruct>: " + instruction, "<Query>:", query
             items | "NULL", "\\n<Document>:", document items | "NULL"], generation prompt,
             left padding -> Qwen3VLModel last_hidden_state[:, -1]
             -> sigmoid(h . (W_lm_head[yes] - W_lm_head[no]))

It also writes the checkpoints these goldens run on (tiny-tied-embed, tiny-untied-nohead,
tiny-reranker; all derived from the tiny checkpoints make_checkpoints.py writes), one
synthetic large image, and preprocessing goldens for the reference image path.

Usage (tools/golden/make_embedding_golden.sh wraps it):
  python make_embedding_golden.py --testdata ../../testdata
"""

import argparse
import hashlib
import io
import json
import math
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageOps
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import transformers
from importlib.metadata import version as pkg_version
from qwen_vl_utils import vision_process as qvp
from transformers import AddedToken, AutoProcessor, Qwen3VLForConditionalGeneration, Qwen3VLModel, Qwen3VLProcessor
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf_smart_resize

ATTN = "eager"

# Reference constants (both reference files define the same image limits).
IMAGE_PATCH_SIZE = 16
IMAGE_FACTOR = IMAGE_PATCH_SIZE * 2
MIN_PIXELS = 4 * IMAGE_FACTOR * IMAGE_FACTOR
MAX_PIXELS = 1800 * IMAGE_FACTOR * IMAGE_FACTOR
EMBED_MAX_LENGTH = 8192
RERANK_MAX_LENGTH = 10240
EMBED_DEFAULT_INSTRUCTION = "Represent the user's input."
RERANK_DEFAULT_INSTRUCTION = "Given a search query, retrieve relevant candidates that answer the query."
RERANK_SYSTEM = (
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".'
)

EMBED_MODELS = ["tiny-tied-embed", "tiny-untied-nohead"]
RERANK_MODEL = "tiny-reranker"
# Kept in pixel_values golden tensors only below this size (the rest: SHA-256 only).
MAX_STORED_TENSOR_BYTES = 1 << 20

EMBED_CASES = [
    {"name": "text_only", "text": "a red circle next to a blue square", "images": [], "instruction": None},
    {"name": "one_image", "text": None, "images": ["gen_nonsquare_150x97.png"], "instruction": None},
    {"name": "two_images_text", "text": "compare these", "images": ["rocket.jpg", "gen_rgba_100x80.png"],
     "instruction": "Retrieve images similar to the query"},
    {"name": "empty", "text": None, "images": [], "instruction": None},
]
RERANK_CASES = [
    {"name": "text_query", "instruction": None,
     "query": {"text": "a red circle"},
     "documents": [{"text": "a red circle on white"}, {"text": "two green stars"},
                   {"image": "gen_nonsquare_150x97.png"}]},
    {"name": "image_query", "instruction": "Find the matching caption",
     "query": {"image": "rocket.jpg"},
     "documents": [{"text": "a rocket"}, {"text": "a cat"}]},
]
PREPROCESS_IMAGES = [
    "gen_nonsquare_150x97.png",
    "gen_palette8_64x40.bmp",
    "rocket.jpg",
    "gen_rgba_100x80.png",
    "gen_exif6_120x80.jpg",
    "gen_grey_90x120.jpg",
    "gen_large_1900x1500.png",
]
LARGE_IMAGE = "gen_large_1900x1500.png"

# Reranker vocabulary: plain (non-special) added tokens right after <think>/</think>.
YES_NO_TOKENS = ["yes", "no"]
RERANK_ROW_SEED = 20260


# ----------------------------------------------------------------------------- utilities

def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def f32_le_bytes(t: torch.Tensor) -> bytes:
    return t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()


def write_json(path: Path, obj):
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_tensors(path: Path, tensors: dict):
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
    path.chmod(0o644)


def file_uri(path: Path) -> str:
    # The reference prefixes a local str path with "file://" (fetch_image strips it again).
    return "file://" + str(path.resolve())


# ------------------------------------------------------------------------- sample image

def write_large_image(images_dir: Path) -> Path:
    """1900x1500 (2.85 MP > 1800*32^2): linear colour ramps plus flat shapes and thin lines,
    smooth enough for a small PNG, with edges so the resampling filter matters."""
    w, h = 1900, 1500
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rgb = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 255 * (1 - (x + y) / (w + h - 2))], -1)
    img = Image.fromarray(rgb.round().clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([200, 250, 800, 850], fill=(220, 30, 40))
    d.rectangle([1000, 400, 1700, 1200], fill=(30, 60, 200))
    d.polygon([(950, 80), (1300, 600), (600, 600)], fill=(250, 220, 0))
    for k in range(0, w, 100):
        d.line([(k, 1300), (k + 50, 1450)], fill=(0, 0, 0), width=3)
    path = images_dir / LARGE_IMAGE
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    path.write_bytes(buf.getvalue())
    return path


# --------------------------------------------------------------------------- checkpoints

def copy_checkpoint_files(src: Path, dst: Path, skip=()):
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        if f.is_file() and f.name not in skip:
            shutil.copyfile(f, dst / f.name)


def write_sentence_transformers_markers(dst: Path, hidden: int):
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    write_json(dst / "modules.json", modules)
    pooling = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": True,
        "include_prompt": True,
    }
    (dst / "1_Pooling").mkdir()
    write_json(dst / "1_Pooling" / "config.json", pooling)


def load_index(ckpt: Path):
    return json.loads((ckpt / "model.safetensors.index.json").read_text())


def write_index(ckpt: Path, index):
    # Same formatting as transformers' save_pretrained.
    (ckpt / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def rewrite_shards(src: Path, dst: Path, edit):
    """Copies the shards of src to dst, byte for byte where edit leaves a shard alone.
    edit(name, tensor) returns the new tensor or None to drop it. Rewrites the index."""
    index = load_index(src)
    shards = sorted(set(index["weight_map"].values()))
    weight_map, total_size, total_params = {}, 0, 0
    for shard in shards:
        with safe_open(str(src / shard), "pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(src / shard))
        out, changed = {}, False
        for name, t in tensors.items():
            new = edit(name, t)
            if new is None:
                changed = True
                continue
            if new is not t:
                changed = True
            out[name] = new
        assert out, f"{shard} would be empty"
        if changed:
            save_file(out, str(dst / shard), metadata=metadata)
            (dst / shard).chmod(0o644)
        else:
            shutil.copyfile(src / shard, dst / shard)
        for name, t in out.items():
            weight_map[name] = shard
            total_size += t.numel() * t.element_size()
            total_params += t.numel()
    index = {"metadata": {"total_parameters": total_params, "total_size": total_size},
             "weight_map": dict(sorted(weight_map.items()))}
    write_index(dst, index)
    return index


def hidden_size(ckpt: Path) -> int:
    return json.loads((ckpt / "config.json").read_text())["text_config"]["hidden_size"]


def make_tiny_tied_embed(models: Path):
    src, dst = models / "tiny-tied", models / "tiny-tied-embed"
    copy_checkpoint_files(src, dst)
    write_sentence_transformers_markers(dst, hidden_size(src))


def make_tiny_untied_nohead(models: Path):
    src, dst = models / "tiny-untied", models / "tiny-untied-nohead"
    shards = set(load_index(src)["weight_map"].values())
    copy_checkpoint_files(src, dst, skip=shards | {"model.safetensors.index.json"})
    index = rewrite_shards(src, dst, lambda name, t: None if name == "lm_head.weight" else t)
    assert "lm_head.weight" not in index["weight_map"]
    assert len(set(index["weight_map"].values())) >= 2
    config = json.loads((dst / "config.json").read_text())
    assert config["tie_word_embeddings"] is False and config["text_config"]["tie_word_embeddings"] is False
    write_sentence_transformers_markers(dst, hidden_size(src))


def make_tiny_reranker(models: Path):
    """tiny-untied weights and config; tokenizer + "yes", "no" (plain added tokens at the next
    free ids, contiguous with the other added tokens); the embed_tokens and lm_head rows of those
    two ids are redrawn at the scale of the ordinary rows (make_checkpoints shrinks rows past the
    old tokenizer x0.01), so the yes-no score direction is not near zero."""
    src, dst = models / "tiny-untied", models / RERANK_MODEL
    shards = set(load_index(src)["weight_map"].values())
    copy_checkpoint_files(src, dst, skip=shards | {"model.safetensors.index.json", "tokenizer.json"})
    tok = transformers.AutoTokenizer.from_pretrained(src)
    n_before = len(tok)
    added = tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in YES_NO_TOKENS])
    assert added == 2
    tok.save_pretrained(dst)
    # Plain added tokens live in tokenizer.json only; save_pretrained would also add loader
    # bookkeeping (is_local, ...) to tokenizer_config.json, so keep the original files.
    for extra in ("chat_template.jinja", "tokenizer_config.json"):
        shutil.copyfile(src / extra, dst / extra)
    ids = [tok.get_vocab()[t] for t in YES_NO_TOKENS]
    assert ids == [n_before, n_before + 1], ids

    config = json.loads((src / "config.json").read_text())
    rows = config["text_config"]["vocab_size"]
    assert max(ids) < rows
    gen = torch.Generator().manual_seed(RERANK_ROW_SEED)

    def redraw(name, t):
        if name not in ("lm_head.weight", "model.language_model.embed_tokens.weight"):
            return t
        w = t.to(torch.float32).clone()
        std = w[:n_before].std().item()
        w[ids] = std * torch.randn((len(ids), w.shape[1]), generator=gen)
        return w.to(t.dtype)

    rewrite_shards(src, dst, redraw)
    # Written by save_pretrained of the tokenizer only; drop anything not in the HF layout.
    for f in dst.iterdir():
        if f.name == "special_tokens_map.json" or f.name == "added_tokens.json":
            f.unlink()
    return ids


# ----------------------------------------------------------------- reference replication

def normalize_instruction(instruction):
    """Qwen3VLEmbedder.format_model_input: strip, then add '.' unless the last char is
    punctuation (Unicode category P*). Falsy (None, "" or all blanks) -> default."""
    if instruction:
        instruction = instruction.strip()
        if instruction and not unicodedata.category(instruction[-1]).startswith("P"):
            instruction = instruction + "."
    return instruction or EMBED_DEFAULT_INSTRUCTION


def image_item(path: Path):
    return {"type": "image", "image": file_uri(path), "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS}


def mm_items(text, images, images_dir):
    """Videos first (none here), then images, then texts; nothing at all -> "NULL"."""
    texts = [] if text is None else ([text] if isinstance(text, str) else list(text))
    imgs = [] if images is None else ([images] if isinstance(images, str) else list(images))
    if not texts and not imgs:
        return [{"type": "text", "text": "NULL"}]
    return [image_item(images_dir / i) for i in imgs] + [{"type": "text", "text": t} for t in texts]


def embedding_conversation(case, images_dir):
    return [
        {"role": "system", "content": [{"type": "text", "text": normalize_instruction(case["instruction"])}]},
        {"role": "user", "content": mm_items(case["text"], case["images"], images_dir)},
    ]


def rerank_conversation(query, doc, instruction, images_dir):
    content = [{"type": "text", "text": "<Instruct>: " + (instruction or RERANK_DEFAULT_INSTRUCTION)}]
    content += [{"type": "text", "text": "<Query>:"}] + mm_items(query.get("text"), query.get("image"), images_dir)
    content += [{"type": "text", "text": "\n<Document>:"}] + mm_items(doc.get("text"), doc.get("image"), images_dir)
    return [{"role": "system", "content": [{"type": "text", "text": RERANK_SYSTEM}]},
            {"role": "user", "content": content}]


def embedding_inputs(processor, conversation):
    """Qwen3VLEmbedder._preprocess_inputs for a batch of one conversation."""
    conversations = [conversation]
    text = processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=False)
    images, videos, video_kwargs = qvp.process_vision_info(
        conversations, image_patch_size=IMAGE_PATCH_SIZE, return_video_metadata=True, return_video_kwargs=True)
    assert videos is None
    inputs = processor(text=text, images=images, videos=None, video_metadata=None, truncation=True,
                       max_length=EMBED_MAX_LENGTH, padding=True, do_resize=False, return_tensors="pt",
                       **video_kwargs)
    return text[0], images, inputs


def pool_last(hidden, attention_mask):
    """Qwen3VLEmbedder._pooling_last: the last position whose mask is 1, per row."""
    last = attention_mask.flip(dims=[1]).argmax(dim=1)
    col = attention_mask.shape[1] - last - 1
    return hidden[torch.arange(hidden.shape[0]), col]


def rerank_inputs(processor, pair):
    """Qwen3VLReranker.tokenize for a list of one pair: unpadded processor call, the
    special-token-preserving truncation of all but the last 5 ids (a no-op at these lengths),
    then tokenizer.pad."""
    pairs = [pair]
    text = processor.apply_chat_template(pairs, tokenize=False, add_generation_prompt=True)
    images, videos, video_kwargs = qvp.process_vision_info(
        pairs, image_patch_size=IMAGE_PATCH_SIZE, return_video_kwargs=True, return_video_metadata=True)
    assert videos is None
    inputs = processor(text=text, images=images, videos=None, video_metadata=None, truncation=False,
                       padding=False, do_resize=False, **video_kwargs)
    special = set(processor.tokenizer.all_special_ids)
    for i, ids in enumerate(inputs["input_ids"]):
        head, tail = ids[:-5], ids[-5:]
        if len(head) > RERANK_MAX_LENGTH:
            keep = RERANK_MAX_LENGTH - sum(1 for t in head if t in special)
            kept, out = 0, []
            for t in head:
                if t in special:
                    out.append(t)
                elif kept < keep:
                    out.append(t)
                    kept += 1
            head = out
        inputs["input_ids"][i] = head + tail
    padded = processor.tokenizer.pad({"input_ids": inputs["input_ids"]}, padding=True, return_tensors="pt",
                                     max_length=RERANK_MAX_LENGTH)
    for k in padded:
        inputs[k] = padded[k]
    return text[0], inputs


def to_model_inputs(inputs):
    """The reference moves the BatchFeature to the device; values the processor left as
    Python lists (only when called without return_tensors) become tensors here."""
    out = {}
    for k, v in inputs.items():
        out[k] = v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v))
    return out


# ------------------------------------------------------------------------ preprocessing

def exif_orientation(img):
    try:
        return img.getexif().get(0x0112)
    except Exception:
        return None


def torchvision_bicubic_aa(rgb: Image.Image, h: int, w: int) -> np.ndarray:
    from torchvision.transforms.v2 import functional as tvF

    t = torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1).contiguous()
    r = tvF.resize(t, [h, w], interpolation=tvF.InterpolationMode.BICUBIC, antialias=True)
    return r.permute(1, 2, 0).numpy()


def hf_own_path(image_processor, path: Path):
    """What transformers does when it resizes itself, at the same pixel limits, for a file
    opened the way the rest of the golden kit does (make_preprocess_golden.py):
    Image.open -> ImageOps.exif_transpose -> convert_to_rgb (alpha over white) ->
    smart_resize (transformers' variant) -> torchvision bicubic antialias."""
    img = ImageOps.exif_transpose(Image.open(path))
    out = image_processor(images=[img], do_resize=True, size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
                          return_tensors="pt")
    return out["pixel_values"], out["image_grid_thw"][0].tolist()


def alpha_mode_facts():
    """to_rgb composites over white only for mode RGBA; transformers' convert_to_rgb does it for
    any image with an alpha band or palette transparency. Two in-memory images show the gap."""
    facts = {}
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.arange(24, dtype=np.uint8).reshape(4, 6) * 11
    samples = {
        "RGBA": Image.fromarray(rgba, "RGBA"),
        "LA": Image.fromarray(rgba[..., [0, 3]], "LA"),
        "P+transparency": Image.fromarray((np.arange(24, dtype=np.uint8).reshape(4, 6) % 2), "P"),
    }
    samples["P+transparency"].putpalette([200, 0, 0, 0, 0, 200])
    samples["P+transparency"].info["transparency"] = 0  # index 0 (red) fully transparent
    for mode, img in samples.items():
        ours = np.asarray(qvp.to_rgb(img)).astype(np.int16)
        hf = transformers.image_transforms.convert_to_rgb(img, return_numpy=True).astype(np.int16)
        facts[mode] = {"differing_values": int(np.count_nonzero(ours != hf)), "values": int(ours.size),
                       "max_abs_u8": int(np.abs(ours - hf).max())}
    return facts


def preprocess_goldens(processor, images_dir: Path, out_dir: Path):
    ip = processor.image_processor
    entries, tensors = [], {}
    for name in PREPROCESS_IMAGES:
        path = images_dir / name
        raw = Image.open(path)
        raw.load()
        orient = exif_orientation(raw)
        fetched = qvp.fetch_image(image_item(path), image_patch_size=IMAGE_PATCH_SIZE)
        res = ip(images=[fetched], do_resize=False, return_tensors="pt")
        pv, grid = res["pixel_values"], res["image_grid_thw"][0].tolist()
        rw, rh = fetched.size
        assert grid == [1, rh // IMAGE_PATCH_SIZE, rw // IMAGE_PATCH_SIZE]
        resized_u8 = np.asarray(fetched)
        # The fused rescale+normalize: (u8 - 127.5) / 127.5 in float32, patchified in merge-window order.
        u = torch.from_numpy(resized_u8.copy()).permute(2, 0, 1).to(torch.float32)
        u = (u - 127.5) / 127.5
        g = IMAGE_PATCH_SIZE
        mine = (u.reshape(3, rh // (2 * g), 2, g, rw // (2 * g), 2, g).permute(1, 4, 2, 5, 0, 3, 6)
                .unsqueeze(5).expand(-1, -1, -1, -1, -1, 2, -1, -1).reshape(-1, 3 * 2 * g * g))
        # Facts: EXIF, smart_resize variants, filter, alpha handling.
        if orient in (None, 1):
            exif_applied = None  # nothing to apply
        else:
            transposed = ImageOps.exif_transpose(raw.copy())
            via_transposed = qvp.fetch_image(dict(image_item(path), image=transposed), image_patch_size=IMAGE_PATCH_SIZE)
            exif_applied = via_transposed.size == fetched.size and np.array_equal(np.asarray(via_transposed), resized_u8)
        rgb = qvp.to_rgb(raw)
        hf_rgb = transformers.image_transforms.convert_to_rgb(raw, return_numpy=True)
        tv = torchvision_bicubic_aa(rgb, rh, rw).astype(np.int16)
        pil_diff = np.abs(tv - resized_u8.astype(np.int16))
        hf_h, hf_w = hf_smart_resize(raw.height, raw.width, factor=IMAGE_FACTOR, min_pixels=MIN_PIXELS,
                                     max_pixels=MAX_PIXELS)
        hf_pv, hf_grid = hf_own_path(ip, path)
        entry = {
            "image": f"testdata/images/{name}",
            "file_sha256": sha256_bytes(path.read_bytes()),
            "mode": raw.mode,
            "size_hw": [raw.height, raw.width],
            "exif_orientation": orient,
            "exif_transpose_applied": exif_applied,
            "resized_hw": [rh, rw],
            "image_grid_thw": grid,
            "n_patches": int(pv.shape[0]),
            "resized_rgb_u8_sha256": sha256_bytes(resized_u8.tobytes()),
            "pixel_values_sha256": sha256_bytes(f32_le_bytes(pv)),
            "pixel_values_bytes": int(pv.numel() * 4),
            "pixel_values_stored": False,
            "pixel_values_equal_u8_minus_127.5_div_127.5": bool(torch.equal(mine, pv)),
            "hf_smart_resize_hw": [hf_h, hf_w],
            "to_rgb_vs_transformers_convert_to_rgb_differing_values": int(
                np.count_nonzero(np.asarray(rgb).astype(np.int16) != hf_rgb.astype(np.int16))),
            "pil_bicubic_vs_torchvision_bicubic_antialias": {
                "max_abs_u8": int(pil_diff.max()), "differing_values": int(np.count_nonzero(pil_diff)),
                "values": int(pil_diff.size)},
            "hf_own_resize_path": {
                "image_grid_thw": hf_grid,
                "same_pixel_values": bool(hf_grid == grid and torch.equal(hf_pv, pv)),
                "max_abs_pixel_diff": (float((hf_pv - pv).abs().max()) if hf_grid == grid else None)},
        }
        key = name.rsplit(".", 1)[0]
        entry["resized_rgb_u8_stored"] = resized_u8.nbytes < MAX_STORED_TENSOR_BYTES
        if entry["resized_rgb_u8_stored"]:
            tensors[f"{key}.resized_rgb_u8"] = torch.from_numpy(resized_u8.copy())
        if pv.numel() * 4 < MAX_STORED_TENSOR_BYTES:
            tensors[f"{key}.pixel_values"] = pv.to(torch.float32)
            tensors[f"{key}.image_grid_thw"] = torch.tensor(grid, dtype=torch.int64)
            entry["pixel_values_stored"] = True
        entries.append(entry)
    smart = []
    for h, w in [(97, 150), (40, 64), (427, 640), (80, 100), (80, 120), (120, 90), (1500, 1900),
                 (16, 1000), (10, 10), (16, 300), (20, 3000), (8, 1600), (4000, 30)]:
        q = qvp.smart_resize(h, w, IMAGE_FACTOR, MIN_PIXELS, MAX_PIXELS)
        hf = hf_smart_resize(h, w, factor=IMAGE_FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
        smart.append({"size_hw": [h, w], "qwen_vl_utils_hw": list(q), "transformers_hw": list(hf),
                      "equal": tuple(q) == tuple(hf)})
    save_tensors(out_dir / "preprocess.safetensors", tensors)
    return {
        "path": "qwen_vl_utils.fetch_image({'image': 'file://<abs path>', 'min_pixels': %d, 'max_pixels': %d}, "
                "image_patch_size=16) -> Qwen2VLImageProcessor(do_resize=False)" % (MIN_PIXELS, MAX_PIXELS),
        "factor": IMAGE_FACTOR, "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS,
        "images": entries,
        "smart_resize_comparison": smart,
        "to_rgb_vs_convert_to_rgb_synthetic": alpha_mode_facts(),
        "tensors": "preprocess.safetensors: <image stem>.resized_rgb_u8 uint8 [H, W, 3] (fetch_image output, "
                   "stored when < 1 MiB; pixel_values = patchify((u8 - 127.5) / 127.5) exactly), and "
                   "<image stem>.pixel_values float32 [N, 1536] + <image stem>.image_grid_thw int64 [3] when "
                   "pixel_values are < 1 MiB",
    }


# ----------------------------------------------------------------------------- goldens

def load_embedding_model(ckpt: Path, dtype):
    model = Qwen3VLModel.from_pretrained(ckpt, attn_implementation=ATTN, dtype=dtype).eval()
    return model


@torch.no_grad()
def embedding_goldens(models_dir: Path, images_dir: Path, out_dir: Path):
    records = []
    for model_name in EMBED_MODELS:
        ckpt = models_dir / model_name
        processor = Qwen3VLProcessor.from_pretrained(ckpt, padding_side="right")
        m32 = load_embedding_model(ckpt, torch.float32)
        m16 = load_embedding_model(ckpt, torch.bfloat16)
        for case in EMBED_CASES:
            conv = embedding_conversation(case, images_dir)
            prompt, _, inputs = embedding_inputs(processor, conv)
            mi = to_model_inputs(inputs)
            h32 = m32(**mi).last_hidden_state
            pooled = pool_last(h32, mi["attention_mask"])[0]
            emb = F.normalize(pooled[None], p=2, dim=-1)[0]
            h16 = m16(**mi).last_hidden_state
            pooled16 = pool_last(h16, mi["attention_mask"])[0].to(torch.float32)
            emb16 = F.normalize(pooled16[None], p=2, dim=-1)[0]
            tensors = {"embedding": emb, "hidden": pooled, "embedding_bf16": emb16}
            rec = {
                "name": case["name"], "model": model_name,
                "text": case["text"],
                "images": [f"testdata/images/{i}" for i in case["images"]],
                "instruction": case["instruction"],
                "system_text": conv[0]["content"][0]["text"],
                "prompt": prompt,
                "input_ids": mi["input_ids"][0].tolist(),
                "attention_mask_all_ones": bool(mi["attention_mask"].all()),
                "pooled_position": int(mi["attention_mask"].shape[1] - 1),
                "image_grid_thw": mi["image_grid_thw"].tolist() if "image_grid_thw" in mi else [],
                "bf16_vs_fp32": {
                    "cosine": float(torch.dot(emb, emb16)),
                    "max_abs_diff": float((emb - emb16).abs().max()),
                },
                "file": f"{case['name']}.{model_name}.safetensors",
            }
            if "pixel_values" in mi:
                pv = mi["pixel_values"].to(torch.float32)
                rec["pixel_values_sha256"] = sha256_bytes(f32_le_bytes(pv))
                rec["pixel_values_shape"] = list(pv.shape)
                rec["pixel_values_stored"] = pv.numel() * 4 < MAX_STORED_TENSOR_BYTES
                if rec["pixel_values_stored"]:
                    tensors["pixel_values"] = pv
            save_tensors(out_dir / rec["file"], tensors)
            records.append(rec)
            print(f"embedding {case['name']:16s} {model_name:18s} L={len(rec['input_ids'])} "
                  f"grids={rec['image_grid_thw']} bf16 cos={rec['bf16_vs_fp32']['cosine']:.6f}")
        del m32, m16
    return records


@torch.no_grad()
def rerank_goldens(models_dir: Path, images_dir: Path, out_dir: Path):
    ckpt = models_dir / RERANK_MODEL
    lm = Qwen3VLForConditionalGeneration.from_pretrained(ckpt, attn_implementation=ATTN, dtype=torch.float32).eval()
    model = lm.model
    processor = AutoProcessor.from_pretrained(ckpt, padding_side="left")
    vocab = processor.tokenizer.get_vocab()
    yes_id, no_id = vocab["yes"], vocab["no"]
    w = lm.lm_head.weight.data
    score_linear = torch.nn.Linear(w.shape[1], 1, bias=False)
    score_linear.weight[0] = w[yes_id] - w[no_id]
    score_linear.to(model.dtype).eval()
    cases = []
    for case in RERANK_CASES:
        tensors, pairs, scores, logits = {}, [], [], []
        for i, doc in enumerate(case["documents"]):
            pair = rerank_conversation(case["query"], doc, case["instruction"], images_dir)
            prompt, inputs = rerank_inputs(processor, pair)
            mi = to_model_inputs(inputs)
            h = model(**mi).last_hidden_state[:, -1]
            logit = score_linear(h)
            score = torch.sigmoid(logit).squeeze(-1)
            tensors[f"hidden_{i}"] = h[0]
            scores.append(score[0])
            logits.append(logit[0, 0])
            pairs.append({
                "document": {k: (f"testdata/images/{v}" if k == "image" else v) for k, v in doc.items()},
                "prompt": prompt,
                "input_ids": mi["input_ids"][0].tolist(),
                "image_grid_thw": mi["image_grid_thw"].tolist() if "image_grid_thw" in mi else [],
                "logit": float(logit[0, 0]),
                "score": float(score[0]),
            })
        tensors["score"] = torch.stack(scores)
        tensors["logit"] = torch.stack(logits)
        save_tensors(out_dir / f"rerank_{case['name']}.safetensors", tensors)
        s = tensors["score"]
        assert (s - 0.5).abs().min() > 1e-3, s
        print(f"rerank {case['name']}: scores {[round(float(x), 6) for x in s]}")
        cases.append({
            "name": case["name"],
            "query": {k: (f"testdata/images/{v}" if k == "image" else v) for k, v in case["query"].items()},
            "instruction": case["instruction"],
            "instruction_used": case["instruction"] or RERANK_DEFAULT_INSTRUCTION,
            "pairs": pairs,
            "file": f"rerank_{case['name']}.safetensors",
        })
    return {"model": RERANK_MODEL, "yes_id": yes_id, "no_id": no_id,
            "system_prompt": RERANK_SYSTEM, "default_instruction": RERANK_DEFAULT_INSTRUCTION,
            "cases": cases}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, default=Path(__file__).resolve().parents[2] / "testdata")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    testdata = args.testdata.resolve()
    images_dir = testdata / "images"
    models_dir = testdata / "golden" / "models"
    out_dir = testdata / "golden" / "embedding"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    write_large_image(images_dir)
    make_tiny_tied_embed(models_dir)
    make_tiny_untied_nohead(models_dir)
    yes_no = make_tiny_reranker(models_dir)
    print(f"checkpoints written; reranker yes/no ids {yes_no}")

    processor = Qwen3VLProcessor.from_pretrained(models_dir / "tiny-tied-embed", padding_side="right")
    write_json(out_dir / "preprocess.json", preprocess_goldens(processor, images_dir, out_dir))

    embedding = embedding_goldens(models_dir, images_dir, out_dir)
    rerank = rerank_goldens(models_dir, images_dir, out_dir)
    manifest = {
        "reference": "QwenLM/Qwen3-VL-Embedding @ 8ce3aab (src/models/qwen3_vl_embedding.py, "
                     "src/models/qwen3_vl_reranker.py), replicated step by step",
        "versions": {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
                     "qwen-vl-utils": pkg_version("qwen-vl-utils"), "pillow": Image.__version__,
                     "torchvision": pkg_version("torchvision")},
        "settings": {"device": "cpu", "dtype": "float32 (embedding_bf16: model loaded in bfloat16)",
                     "attn_implementation": ATTN, "image_patch_size": IMAGE_PATCH_SIZE,
                     "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS,
                     "embedding_default_instruction": EMBED_DEFAULT_INSTRUCTION,
                     "embedding_padding_side": "right", "rerank_padding_side": "left"},
        "embedding_models": EMBED_MODELS,
        "embedding_cases": embedding,
        "rerank": rerank,
        "tensors": {
            "<case>.<model>.safetensors": {
                "embedding": "float32 [D]: F.normalize(hidden)",
                "hidden": "float32 [D]: last_hidden_state (after the final RMSNorm) at the last attention-mask position",
                "embedding_bf16": "float32 [D]: same run with the model loaded in bfloat16, pooled hidden cast to "
                                  "float32 and normalized",
                "pixel_values": "float32 [N, 1536]: processor output (only when the case has images and it is < 1 MiB; "
                                "pixel_values_sha256 in the manifest always)",
            },
            "rerank_<case>.safetensors": {
                "hidden_<i>": "float32 [D]: last_hidden_state[:, -1] of pair i",
                "logit": "float32 [n_docs]: hidden . (W_lm_head[yes] - W_lm_head[no])",
                "score": "float32 [n_docs]: sigmoid(logit)",
            },
        },
    }
    write_json(out_dir / "manifest.json", manifest)
    print(f"embedding/reranker goldens written under {out_dir}")


if __name__ == "__main__":
    main()
