"""Scores a shapes checkpoint with HF greedy decoding on held-out scenes and exports test sets.

Usage:
  python evaluate.py --model DIR [--count 200] [--metrics FILE]
                     [--export DIR --export-count N]    # held-out images + HF outputs for Loupe
                     [--examples DIR]                   # demo images + captions.json, tags.json

The weights are read as stored (bf16) and upcast to fp32, which is what Loupe's exact CPU
mode computes; Loupe must reproduce these greedy outputs token for token (its default,
bf16-rounded linear inputs, does so on every committed case too; ShapesModelTest runs it).
"""

import argparse
import json
import re
from pathlib import Path

import torch

import scenes

HELDOUT_SEED_BASE = 5_000_000  # training uses seeds >= 10_000_000
EXAMPLE_SEED_BASE = 7_000_000
MAX_NEW_TOKENS = 48

CAPTION_RE = re.compile(
    r"^An? (\w+) (\w+)(?:(?: to the left of| above) an? (\w+) (\w+))?\.$")


def load(model_dir):
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    model = Qwen3VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    return model, AutoProcessor.from_pretrained(model_dir)


@torch.no_grad()
def greedy(model, processor, image, prompt):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    ids = out[0, inputs["input_ids"].shape[1]:].tolist()
    eos = set(model.generation_config.eos_token_id)
    return ids, processor.tokenizer.decode(ids, skip_special_tokens=True), bool(ids) and ids[-1] in eos


@torch.no_grad()
def greedy_batch(model, processor, images, prompt):
    """HF greedy decoding of one prompt over many images at once (left padding): the fast
    path for accuracy numbers. Loupe parity cases use `greedy` (one request, no padding)."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    processor.tokenizer.padding_side = "left"
    inputs = processor(text=[text] * len(images), images=images, return_tensors="pt", padding=True)
    out = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    eos = set(model.generation_config.eos_token_id)
    pad = processor.tokenizer.pad_token_id
    results = []
    for row in out[:, inputs["input_ids"].shape[1]:].tolist():
        ids = []
        for t in row:
            ids.append(t)
            if t in eos:
                break
        results.append((ids, processor.tokenizer.decode(ids, skip_special_tokens=True), ids[-1] in eos))
    return results


def caption_facts(caption):
    """(shapes as [(colour, shape)], relation) read back from a canonical caption, or None."""
    m = CAPTION_RE.match(caption)
    if not m:
        return None
    shapes = [(m.group(1), m.group(2))] + ([(m.group(3), m.group(4))] if m.group(3) else [])
    relation = "" if len(shapes) == 1 else ("horizontal" if "left of" in caption else "vertical")
    return shapes, relation


def schema_errors(value, schema, where="$"):
    """What keeps `value` from validating against `schema`: a small validator for the JSON
    Schema keywords the tags schema uses (the pinned venv has no jsonschema package)."""
    known = {"title", "description", "type", "properties", "required", "additionalProperties", "items",
             "maxItems", "minLength", "maxLength", "x-guidance"}
    assert set(schema) <= known, f"schema keywords not checked here: {set(schema) - known}"
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str}
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: not a boolean"]
    if kind not in types:
        raise ValueError(f"schema type not checked here: {kind}")
    if not isinstance(value, types[kind]):
        return [f"{where}: not a{'n' if kind[0] in 'aeiou' else ''} {kind}"]
    errors = []
    if kind == "object":
        errors += [f"{where}: missing {k}" for k in schema.get("required", ()) if k not in value]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties", True) is False:
            errors += [f"{where}: unexpected {k}" for k in value if k not in properties]
        for k, v in value.items():
            if k in properties:
                errors += schema_errors(v, properties[k], f"{where}.{k}")
    elif kind == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        for i, v in enumerate(value):
            errors += schema_errors(v, schema.get("items", {}), f"{where}[{i}]")
    else:
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: length {len(value)} outside the schema's bounds")
    return errors


def parse_tags(text):
    """A tags answer as a dict, or None when it is not JSON or does not validate against the
    product's schema."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if not schema_errors(value, scenes.TAGS_SCHEMA) else None


def score(results):
    exact = {p: [0, 0] for p in scenes.PROMPTS}
    attr = {"count": [0, 0], "colour": [0, 0], "shape": [0, 0], "relation": [0, 0], "parsed": [0, 0]}
    tag_fields = {"valid": [0, 0], "objects": [0, 0], "colors": [0, 0], "text_present": [0, 0], "scene": [0, 0]}
    for r in results:
        for preset, out in r["outputs"].items():
            exact[preset][0] += out["text"] == r["truth"][preset]
            exact[preset][1] += 1
        truth_tags = json.loads(r["truth"]["tags"])
        assert not schema_errors(truth_tags, scenes.TAGS_SCHEMA), r["truth"]["tags"]
        assert list(truth_tags) == list(scenes.TAGS_KEYS) and json.dumps(truth_tags) == r["truth"]["tags"]
        got_tags = parse_tags(r["outputs"]["tags"]["text"]) or {}
        tag_fields["valid"][0] += bool(got_tags)
        for field, hit_total in tag_fields.items():
            if field != "valid":
                hit_total[0] += field in got_tags and got_tags[field] == truth_tags[field]
            hit_total[1] += 1
        truth_shapes = [(s["colour"], s["shape"]) for s in r["scene"]["shapes"]]
        got = caption_facts(r["outputs"]["caption"]["text"])
        attr["parsed"][0] += got is not None
        attr["parsed"][1] += 1
        shapes, relation = got if got else ([], None)
        attr["count"][0] += len(shapes) == len(truth_shapes)
        attr["count"][1] += 1
        for i, (colour, shape) in enumerate(truth_shapes):
            attr["colour"][0] += i < len(shapes) and shapes[i][0] == colour
            attr["shape"][0] += i < len(shapes) and shapes[i][1] == shape
            attr["colour"][1] += 1
            attr["shape"][1] += 1
        if len(truth_shapes) == 2:
            attr["relation"][0] += relation == r["scene"]["relation"]
            attr["relation"][1] += 1
    as_pct = lambda hit_total: {"correct": hit_total[0], "total": hit_total[1],
                                "percent": round(100.0 * hit_total[0] / max(1, hit_total[1]), 2)}
    return {"exact_match": {k: as_pct(v) for k, v in exact.items()},
            "caption_attributes": {k: as_pct(v) for k, v in attr.items()},
            "tags_fields": {k: as_pct(v) for k, v in tag_fields.items()}}


def evaluate(model, processor, seeds, exact_count=0, batch=25):
    """Every prompt on every scene; the first `exact_count` scenes one request at a time
    (their outputs are the Loupe parity references), the rest in left-padded batches."""
    results = []
    for seed in seeds:
        scene = scenes.scene_for(seed)
        results.append({"seed": seed, "scene": scenes.describe(scene), "truth": scenes.answers(scene), "outputs": {}})
    images = [scenes.render(scenes.scene_for(seed)) for seed in seeds]
    for preset, prompt in scenes.PROMPTS.items():
        for n in range(min(exact_count, len(seeds))):
            ids, text, stopped = greedy(model, processor, images[n], prompt)
            results[n]["outputs"][preset] = {"ids": ids, "text": text, "stopped": stopped, "batched": False}
        for start in range(exact_count, len(seeds), batch):
            chunk = greedy_batch(model, processor, images[start:start + batch], prompt)
            for k, (ids, text, stopped) in enumerate(chunk):
                results[start + k]["outputs"][preset] = {"ids": ids, "text": text, "stopped": stopped, "batched": True}
        print(f"  {preset}: {len(seeds)} scenes", flush=True)
    return results


def export(results, out_dir, count):
    """Held-out images (PNG: lossless, so HF and Loupe see the same pixels) and HF's outputs."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    cases = []
    for r in results[:count]:
        name = f"heldout_{r['seed']}.png"
        scenes.render(scenes.scene_for(r["seed"])).save(out_dir / "images" / name)
        for preset, out in r["outputs"].items():
            cases.append({"image": f"images/{name}", "preset": preset, "prompt": scenes.PROMPTS[preset],
                          "truth": r["truth"][preset], "hf_ids": out["ids"], "hf_text": out["text"], "hf_batched": out["batched"],
                          "shapes": r["scene"]["shapes"]})
    doc = {"about": "Held-out shapes scenes with HF transformers' greedy output (fp32 compute on the "
                    "checkpoint's bf16 weights), one case per image and prompt; made by "
                    "tools/shapes-model/evaluate.py.",
           "max_new_tokens": MAX_NEW_TOKENS, "cases": cases}
    (out_dir / "heldout.json").write_text(json.dumps(doc, indent=1) + "\n")


def example_seeds(model, processor, out_dir, n=8):
    """Demo scenes that together show every colour and shape, red circle first. A scene is
    kept only if the model captions, keywords and tags it exactly right from the file as
    saved (JPEG included): the demo shows what the model can do, and the model card reports the
    unselected held-out accuracy beside it. Returns (seed, file name) pairs."""
    chosen, colours, shapes = [], set(), set()
    seed = EXAMPLE_SEED_BASE
    while len(chosen) < n:
        scene = scenes.scene_for(seed)
        pairs = {(i.colour, i.shape) for i in scene.items}
        new = {c for c, _ in pairs} - colours or {s for _, s in pairs} - shapes
        covered = len(colours) == len(scenes.COLOURS) and len(shapes) == len(scenes.SHAPES)
        wanted = ("red", "circle") in pairs if not chosen else (new or covered)
        if wanted:
            name = save_example(scene, out_dir, len(chosen))
            if model_gets_right(model, processor, scene, out_dir / name):
                chosen.append((seed, name))
                colours |= {c for c, _ in pairs}
                shapes |= {s for _, s in pairs}
            else:
                (out_dir / name).unlink()
        seed += 1
        if seed > EXAMPLE_SEED_BASE + 100_000:
            raise RuntimeError("could not find enough varied example scenes")
    return chosen


def save_example(scene, out_dir, k):
    # A mix of formats, as users would index: PNG and high-quality JPEG.
    name = f"shapes_{k + 1:02d}.{'png' if k % 2 == 0 else 'jpg'}"
    image = scenes.render(scene)
    if name.endswith("jpg"):
        image.save(out_dir / name, quality=95)
    else:
        image.save(out_dir / name)
    return name


def model_gets_right(model, processor, scene, path):
    from PIL import Image

    image = Image.open(path).convert("RGB")
    truth = scenes.answers(scene)
    return all(greedy(model, processor, image, scenes.PROMPTS[p])[1] == truth[p] for p in ("caption", "keywords", "tags"))


def write_examples(model, processor, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("shapes_*"):
        old.unlink()
    chosen = example_seeds(model, processor, out_dir)
    captions = {name: scenes.answers(scenes.scene_for(seed))["caption"] for seed, name in chosen}
    (out_dir / "captions.json").write_text(json.dumps(captions, indent=1) + "\n")
    # The tags preset's true answers, as JSON objects (the canonical answer is json.dumps of each).
    tags = {name: scenes.tags(scenes.scene_for(seed)) for seed, name in chosen}
    (out_dir / "tags.json").write_text(json.dumps(tags, indent=1) + "\n")
    return {name: {"seed": seed, "caption": captions[name], "tags": json.dumps(tags[name])} for seed, name in chosen}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--metrics")
    ap.add_argument("--results")
    ap.add_argument("--export")
    ap.add_argument("--export-count", type=int, default=24)
    ap.add_argument("--exact", type=int, help="scenes decoded one request at a time (default: --export-count)")
    ap.add_argument("--examples")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, processor = load(args.model)
    seeds = [HELDOUT_SEED_BASE + i for i in range(args.count)]
    exact = args.exact if args.exact is not None else (args.export_count if args.export else 0)
    results = evaluate(model, processor, seeds, exact_count=exact)
    metrics = score(results)
    metrics["heldout_scenes"] = args.count
    print(json.dumps(metrics, indent=1))
    if args.metrics:
        Path(args.metrics).write_text(json.dumps(metrics, indent=1) + "\n")
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1) + "\n")
    if args.export:
        export(results, args.export, args.export_count)
    if args.examples:
        print(json.dumps(write_examples(model, processor, args.examples), indent=1))


if __name__ == "__main__":
    main()
