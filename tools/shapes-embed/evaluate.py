"""Scores a shapes embedding checkpoint on held-out scenes and exports Loupe's test data.

Usage:
  python evaluate.py --model DIR [--count 200] [--metrics FILE]
                     [--export DIR --export-count 24]    # images, queries, HF embeddings, rankings
                     [--examples DIR]                    # DIR/queries.json for examples/images

All embeddings are HF transformers' (the checkpoint's bf16 weights upcast to fp32, which is
what Loupe's exact CPU mode computes) with the reference pooling (embed_def.py). A hit is an
image with the same content (set of colour+shape pairs) as the query, so scenes that tie on
content count as correct answers for each other.
"""

import argparse
import json
import random
from pathlib import Path

import torch

import embed_def
from embed_def import scenes

HELDOUT_SEED_BASE = 6_000_000  # training uses seeds >= 20_000_000; the captioner's held-out set is 5_000_000+
RELAYOUT_SEED_BASE = 8_000_000  # second renders of held-out contents (image -> image queries)
BATCH = 25

# Query sets over the held-out scenes: name -> (how the text is made, what it tests).
QUERY_SETS = {
    "canonical": "the scene's canonical caption (\"A red circle to the left of a blue square.\")",
    "paraphrased": "a paraphrase: colour and shape words from the training vocabulary (captions' own words "
                   "or synonyms), either order, counts, relation",
    "colour_synonyms": "a paraphrase whose colour words never occur in the captions (crimson, navy, ...)",
    "all_synonyms": "colour and shape words that never occur in the captions (\"a crimson disc and a navy box\")",
    "unseen_templates": "paraphrase templates never used in training (\"show me ...\", \"looking for ...\")",
}


def load(model_dir):
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    model = Qwen3VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    return model, AutoProcessor.from_pretrained(model_dir)


@torch.no_grad()
def embed_all(model, processor, inputs, batch=BATCH):
    out = []
    for start in range(0, len(inputs), batch):
        out.append(embed_def.embed(model, embed_def.encode(processor, inputs[start:start + batch])))
    return torch.cat(out)


def query_text(kind, scene, rng):
    if kind == "canonical":
        return scenes.answers(scene)["caption"]
    if kind == "paraphrased":
        return embed_def.paraphrase(scene, rng)
    if kind == "colour_synonyms":
        return embed_def.paraphrase(scene, rng, colour_mode="synonym")
    if kind == "all_synonyms":
        return embed_def.paraphrase(scene, rng, colour_mode="synonym", shape_mode="synonym")
    if kind == "unseen_templates":
        return embed_def.paraphrase(scene, rng, heldout_templates=True)
    raise ValueError(kind)


def query_rng(seed, kind):
    return random.Random(seed * 101 + list(QUERY_SETS).index(kind))


def second_render(scene, index):
    """Another render of the scene's content: new layout, sizes, background and texture."""
    return embed_def.relayout(embed_def.content(scene), random.Random(RELAYOUT_SEED_BASE + index),
                              RELAYOUT_SEED_BASE + index)


def recall(queries, gallery, query_contents, gallery_contents, ks=(1, 5)):
    scores = queries @ gallery.T
    order = scores.argsort(dim=1, descending=True)
    hits = {k: 0 for k in ks}
    for q, row in enumerate(order.tolist()):
        relevant = [gallery_contents[g] == query_contents[q] for g in row]
        for k in ks:
            hits[k] += any(relevant[:k])
    n = len(query_contents)
    return {f"recall@{k}": round(100.0 * hits[k] / n, 2) for k in ks}


def evaluate(model, processor, count):
    seeds = [HELDOUT_SEED_BASE + i for i in range(count)]
    held = [scenes.scene_for(s) for s in seeds]
    contents = [embed_def.content(s) for s in held]
    gallery = embed_all(model, processor, [embed_def.image_input(scenes.render(s)) for s in held])
    metrics = {"heldout_scenes": count, "distinct_contents": len(set(contents)),
               "mean_relevant_per_query": round(sum(contents.count(c) for c in contents) / count, 3),
               "text_to_image": {}, "examples": {}}
    for kind, about in QUERY_SETS.items():
        texts = [query_text(kind, scene, query_rng(seed, kind)) for seed, scene in zip(seeds, held)]
        q = embed_all(model, processor, [embed_def.query_input(t) for t in texts])
        metrics["text_to_image"][kind] = {"about": about, "queries": count, **recall(q, gallery, contents, contents)}
        metrics["examples"][kind] = texts[:4]
        print(f"  text->image {kind}: {metrics['text_to_image'][kind]}", flush=True)
    second = [second_render(scene, i) for i, scene in enumerate(held)]
    q = embed_all(model, processor, [embed_def.image_input(scenes.render(s)) for s in second])
    metrics["image_to_image"] = {
        "about": "query = another render of a held-out scene's content (new layout, sizes, background, "
                 "texture); gallery = the held-out images",
        "queries": count, **recall(q, gallery, [embed_def.content(s) for s in second], contents)}
    print(f"  image->image: {metrics['image_to_image']}", flush=True)
    return metrics


# ---------------------------------------------------------------- Loupe test data

@torch.no_grad()
def embed_one(model, processor, item):
    """One input alone (no padding): the reference a Loupe embedding must reproduce."""
    batch = embed_def.encode(processor, [item])
    return embed_def.embed(model, batch)[0], batch


def as_list(vector):
    return [float(f"{v:.7g}") for v in vector.tolist()]


def export(model, processor, out_dir, count):
    """count held-out images (PNG, lossless), text queries about them, HF's embeddings of
    both and HF's top-5 images per query."""
    from PIL import Image

    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "images").glob("*.png"):
        old.unlink()
    images, image_vecs, contents = [], [], []
    for i in range(count):
        seed = HELDOUT_SEED_BASE + i
        scene = scenes.scene_for(seed)
        name = f"images/heldout_{seed}.png"
        scenes.render(scene).save(out_dir / name)
        image = Image.open(out_dir / name)
        vec, batch = embed_one(model, processor, embed_def.image_input(image))
        grid = batch["image_grid_thw"][0].tolist()
        images.append({"file": name, "width": image.width, "height": image.height,
                       "resized_width": grid[2] * 16, "resized_height": grid[1] * 16, "image_grid_thw": grid,
                       "input_tokens": int(batch["input_ids"].shape[1]),
                       "content": [list(p) for p in embed_def.content(scene)], "caption": scenes.answers(scene)["caption"],
                       "embedding": as_list(vec)})
        image_vecs.append(vec)
        contents.append(embed_def.content(scene))
    gallery = torch.stack(image_vecs)
    kinds = ["canonical", "paraphrased", "colour_synonyms", "all_synonyms"]
    queries = []
    for i in range(count):
        seed = HELDOUT_SEED_BASE + i
        scene = scenes.scene_for(seed)
        for kind in (kinds[i % 4], kinds[(i + 1) % 4]) if i < count // 2 else (kinds[i % 4],):
            text = query_text(kind, scene, query_rng(seed, kind))
            vec, batch = embed_one(model, processor, embed_def.query_input(text))
            scores = (gallery @ vec).tolist()
            top = sorted(range(count), key=lambda g: -scores[g])[:5]
            relevant = [images[g]["file"] for g in range(count) if contents[g] == embed_def.content(scene)]
            queries.append({"text": text, "instruction": embed_def.QUERY_INSTRUCTION, "kind": kind,
                            "relevant": relevant, "input_ids": batch["input_ids"][0].tolist(),
                            "embedding": as_list(vec),
                            "hf_top5": [{"file": images[g]["file"], "score": round(scores[g], 6)} for g in top],
                            "hf_top1_relevant": images[top[0]]["file"] in relevant})
    doc = {
        "about": "Held-out shapes scenes and text queries with HF transformers' embeddings (fp32 compute on the "
                 "checkpoint's bf16 weights, one input at a time, last-token pooling, L2-normalised) and HF's "
                 "top-5 images per query by cosine similarity; made by tools/shapes-embed/evaluate.py.",
        "model": "models/shapes-embed-tiny",
        "document_instruction": embed_def.DOCUMENT_INSTRUCTION,
        "query_instruction": embed_def.QUERY_INSTRUCTION,
        "image_resize": {"factor": embed_def.IMAGE_FACTOR, "min_pixels": embed_def.MIN_PIXELS,
                         "max_pixels": embed_def.MAX_PIXELS, "resample": "PIL bicubic", "processor_do_resize": False},
        "pooling": "last token (the \\n after <|im_start|>assistant), after the final norm; L2-normalised",
        "relevance": "an image is relevant to a query when it shows the same set of (colour, shape) pairs",
        "images": images,
        "queries": queries,
    }
    (out_dir / "retrieval.json").write_text(json.dumps(doc, indent=1) + "\n")
    hits = sum(q["hf_top1_relevant"] for q in queries)
    print(f"exported {count} images, {len(queries)} queries ({hits} with a relevant top-1) to {out_dir}", flush=True)


# ---------------------------------------------------------------- demo queries

# Hand-written queries about the demo images (examples/images/captions.json), in words the
# captions never use; each must retrieve its image first among the demo images.
EXAMPLE_QUERIES = [
    ("a tangerine five-pointed star above a crimson disc", "shapes_01.png"),
    ("an amber star and a navy star-shaped figure", "shapes_02.jpg"),
    ("a violet box and an emerald round shape", "shapes_03.png"),
    ("a jade triangular shape next to a plum three-sided shape", "shapes_04.jpg"),
    ("a golden three-sided shape above an apricot disc", "shapes_05.png"),
    ("a red three-sided shape and a lilac circle", "shapes_06.jpg"),
    ("a lemon triangle next to an emerald dot", "shapes_07.png"),
    ("a scarlet triangular shape beside a tangerine round shape", "shapes_08.jpg"),
]


def write_example_queries(model, processor, examples_dir):
    from PIL import Image

    examples_dir = Path(examples_dir)
    files = sorted(json.loads((examples_dir / "images" / "captions.json").read_text()))
    gallery = torch.stack([embed_one(model, processor, embed_def.image_input(Image.open(examples_dir / "images" / f)))[0]
                           for f in files])
    entries, passed = [], 0
    for text, expected in EXAMPLE_QUERIES:
        vec, _ = embed_one(model, processor, embed_def.query_input(text))
        scores = (gallery @ vec).tolist()
        ranking = sorted(range(len(files)), key=lambda g: -scores[g])
        ok = files[ranking[0]] == expected
        passed += ok
        entries.append({"query": text, "instruction": embed_def.QUERY_INSTRUCTION, "expected": [expected],
                        "hf_ranking": [files[g] for g in ranking[:3]],
                        "hf_scores": [round(scores[g], 4) for g in ranking[:3]], "hf_top1_expected": ok})
    doc = {"about": "Paraphrased text queries for the demo images in images/ (words the captions never use) and "
                    "the image each should retrieve first; hf_* are HF transformers' results with "
                    "models/shapes-embed-tiny (tools/shapes-embed/evaluate.py --examples).",
           "document_instruction": embed_def.DOCUMENT_INSTRUCTION, "queries": entries}
    (examples_dir / "queries.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"example queries: {passed}/{len(entries)} retrieve their image first", flush=True)
    return passed, len(entries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--metrics")
    ap.add_argument("--export")
    ap.add_argument("--export-count", type=int, default=24)
    ap.add_argument("--examples", help="the examples folder (reads images/, writes queries.json)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, processor = load(args.model)
    if args.count:
        metrics = evaluate(model, processor, args.count)
        print(json.dumps({k: v for k, v in metrics.items() if k != "examples"}, indent=1))
        if args.metrics:
            Path(args.metrics).write_text(json.dumps(metrics, indent=1) + "\n")
    if args.export:
        export(model, processor, args.export, args.export_count)
    if args.examples:
        write_example_queries(model, processor, args.examples)


if __name__ == "__main__":
    main()
