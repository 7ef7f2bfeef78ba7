#!/usr/bin/env python3
"""The Elasticsearch half of `./loupe demo`, against a running node with the Loupe plugin.

Creates an ingest pipeline with three image_caption processors (a caption, structured tags
constrained to a JSON schema, and keywords on the same image, sharing its prefix in the radix
cache) and, when the node serves an embedding
model, an image_embedding processor into a dense_vector field; indexes the images with one
_bulk request; then shows caption search (BM25), vector search (kNN with the
loupe_text_embedding query vector builder) and hybrid search side by side for the query and
for a paraphrase that uses none of the captions' words, and terms aggregations over the tags'
typed fields; then the node's _loupe/stats.

  scripts/es-demo.py --es http://127.0.0.1:19200 --query "red circle" [--expected captions.json]
                     [--embedding-model embedder] [--paraphrases queries.json] IMAGE...
Only the Python standard library: it runs on a fresh machine after scripts/bootstrap.
"""
import argparse
import base64
import json
import os
import re
import sys
import textwrap
import time
import urllib.error
import urllib.request

INDEX = "loupe-demo"
PIPELINE = "loupe-demo"


def call(es, method, path, body=None, ndjson=False, timeout=None):
    data = None
    headers = {}
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
    request = urllib.request.Request(es + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        sys.exit(f"demo: {method} {path} -> {error.code}: {detail}")


def show(title, body=None):
    print(f"\n> {title}")
    if body is not None:
        print(textwrap.indent(json.dumps(body, indent=2), "  "))


QUERY_INSTRUCTION = "Retrieve images that match the user's query."


def pipeline(max_new_tokens, embedding_model):
    embed = []
    if embedding_model:
        # Before the keywords processor, whose remove_binary drops the image.
        embed = [{"image_embedding": {"field": "image", "model": embedding_model, "target_field": "embedding"}}]
    return {
        "description": "Loupe demo: a caption, keywords and a vector for every image, written next to it",
        "processors": embed + [
            {"image_caption": {"field": "image", "target_field": "caption", "preset": "caption",
                               "max_new_tokens": max_new_tokens,
                               "properties": ["text", "model", "prompt_tokens", "cached_tokens", "timings"]}},
            # Structured output: JSON constrained to the preset's schema, parsed into typed fields.
            {"image_caption": {"field": "image", "target_field": "tags", "preset": "tags", "max_new_tokens": 96}},
            {"image_caption": {"field": "image", "target_field": "keywords", "preset": "keywords",
                               "max_new_tokens": max(8, max_new_tokens // 2),
                               "properties": ["text", "prompt_tokens", "cached_tokens"], "remove_binary": True}},
        ],
    }


def embedding_size(es, model):
    """The model's vector size from _loupe/stats, once it has loaded (it loads while the node starts)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for node in call(es, "GET", "/_loupe/stats").get("nodes", {}).values():
            info = node.get("models", {}).get(model, {}).get("model", {})
            if info.get("error"):
                sys.exit(f"demo: embedding model [{model}] failed to load: {info['error']}")
            if info.get("loaded"):
                return info["embedding_size"]
        time.sleep(1)
    sys.exit(f"demo: embedding model [{model}] did not load within 300 s")


def index_images(es, images, max_new_tokens, embedding_model):
    pipeline_body = pipeline(max_new_tokens, embedding_model)
    show(f"PUT _ingest/pipeline/{PIPELINE}", pipeline_body)
    call(es, "PUT", f"/_ingest/pipeline/{PIPELINE}", pipeline_body)

    mapping = {"mappings": {"properties": {
        "file": {"type": "keyword"},
        "caption": {"properties": {"text": {"type": "text"}, "model": {"type": "keyword"}}},
        "keywords": {"properties": {"text": {"type": "text"}}},
        "tags": {"properties": {"objects": {"type": "keyword"}, "colors": {"type": "keyword"},
                                "text_present": {"type": "boolean"}, "scene": {"type": "text"}}},
    }}}
    described = "file: keyword, caption.text and keywords.text: text, tags.objects and tags.colors: keyword"
    if embedding_model:
        dims = embedding_size(es, embedding_model)
        # Unit-length vectors: dot_product; int8 HNSW keeps a quarter of the float bytes in memory.
        mapping["mappings"]["properties"]["embedding"] = {
            "type": "dense_vector", "dims": dims, "similarity": "dot_product", "index_options": {"type": "int8_hnsw"}}
        described += f", embedding: dense_vector {dims} dims, dot_product, int8_hnsw"
    call(es, "DELETE", f"/{INDEX}?ignore_unavailable=true")
    show(f"PUT {INDEX}  ({described})", mapping)
    call(es, "PUT", f"/{INDEX}", mapping)

    lines = []
    for path in images:
        with open(path, "rb") as f:
            encoded = base64.b64encode(f.read()).decode()
        name = os.path.basename(path)
        lines.append(json.dumps({"index": {"_index": INDEX, "_id": name}}))
        lines.append(json.dumps({"file": name, "image": encoded}))
    show(f"POST _bulk?pipeline={PIPELINE}&refresh=true  ({len(images)} images, base64 in field 'image')")
    started = time.monotonic()
    answer = call(es, "POST", f"/_bulk?pipeline={PIPELINE}&refresh=true", "\n".join(lines) + "\n", ndjson=True)
    seconds = time.monotonic() - started
    failed = [item["index"] for item in answer["items"] if "error" in item["index"]]
    print(f"  {len(images) - len(failed)} indexed, {len(failed)} failed in {seconds:.1f} s "
          f"({len(images) / seconds:.2f} images/s, caption + tags + keywords{' + vector' if embedding_model else ''} each)")
    for item in failed:
        print(f"  failed {item['_id']}: {item['error'].get('reason')}")


def search(es, query, expected):
    body = {"size": 5, "query": {"multi_match": {"query": query, "fields": ["caption.text^2", "keywords.text"]}},
            "_source": ["file", "caption", "keywords"]}
    show(f'GET {INDEX}/_search  multi_match "{query}" over caption.text and keywords.text')
    hits = call(es, "POST", f"/{INDEX}/_search", body)["hits"]["hits"]
    if not hits:
        print(f'  no caption or keyword matched "{query}"; some indexed documents instead:')
        hits = call(es, "POST", f"/{INDEX}/_search", {"size": 3, "_source": body["_source"]})["hits"]["hits"]
    for hit in hits:
        source = hit["_source"]
        caption = source.get("caption", {})
        print(f"\n  {source['file']}   (score {hit['_score'] or 0:.2f})")
        print(f"    caption : {caption.get('text', '')!r}")
        print(f"    keywords: {source.get('keywords', {}).get('text', '')!r}")
        if source["file"] in expected:
            print(f"    truth   : {expected[source['file']]!r}")
        keywords = source.get("keywords", {})
        print(f"    prompt tokens from the prefix cache: caption {caption.get('cached_tokens', '?')}/"
              f"{caption.get('prompt_tokens', '?')}, keywords {keywords.get('cached_tokens', '?')}/"
              f"{keywords.get('prompt_tokens', '?')} (the image is shared); caption took "
              f"{caption.get('timings', {}).get('total_ms', 0):.0f} ms")


def search_bodies(query, embedding_model, size):
    """Caption search, vector search and hybrid (both in one query: their scores add up) for one query."""
    words = {"match": {"caption.text": query}}
    knn = {"field": "embedding", "k": size, "num_candidates": 20, "query_vector_builder": {
        "loupe_text_embedding": {"model": embedding_model, "text": query, "instruction": QUERY_INSTRUCTION}}}
    return [("caption search (BM25 on caption.text)", {"query": words}),
            ("vector search (kNN, loupe_text_embedding)", {"knn": knn}),
            ("hybrid (BM25 + kNN in one query)", {"query": words, "knn": knn})]


def top_hits(es, body, size):
    body = dict(body, size=size, _source=["file", "caption.text"])
    return call(es, "POST", f"/{INDEX}/_search", body)["hits"]["hits"]


def side_by_side(es, query, embedding_model):
    print(f'\n> "{query}"')
    for title, body in search_bodies(query, embedding_model, 3):
        hits = top_hits(es, body, 3)
        print(f"  {title}:")
        if not hits:
            print("      (no hits)")
        for hit in hits:
            print(f"      {hit['_score']:7.3f}  {hit['_source']['file']:15} {hit['_source'].get('caption', {}).get('text', '')!r}")


def paraphrases_table(es, path, embedding_model, expected):
    """Every paraphrase: which image each search ranks first, against the image it describes."""
    with open(path) as f:
        examples = json.load(f)["queries"]
    caption_words = set(re.findall(r"[a-z]+", " ".join(expected.values()).lower()))
    print(f"\n> Paraphrases ({os.path.basename(path)}): words the captions mostly do not use; the first hit of each search")
    print(f"  {'query':52} {'caption search':15} {'vector':15} {'hybrid':15}")
    right = [0, 0, 0]
    for example in examples:
        truth = example["expected"][0]
        firsts = []
        for i, (_, body) in enumerate(search_bodies(example["query"], embedding_model, 3)):
            hits = top_hits(es, body, 1)
            first = hits[0]["_source"]["file"] if hits else "(no hits)"
            right[i] += first == truth
            firsts.append(("+ " if first == truth else "- ") + first)
        shared = list(dict.fromkeys(w for w in re.findall(r"[a-z]+", example["query"].lower()) if w in caption_words))
        print(f"  {example['query'][:52]:52} {firsts[0]:15} {firsts[1]:15} {firsts[2]:15}")
        print(f"  {'  words also in captions: ' + (', '.join(shared) or 'none'):52} (it describes {truth})")
    n = len(examples)
    print(f"  right image first: caption search {right[0]}/{n}, vector search {right[1]}/{n}, hybrid {right[2]}/{n}")


def semantic(es, query, embedding_model, paraphrases, expected):
    show("Semantic search: caption, vector and hybrid search for the same query (POST /loupe-demo/_search)", {
        "query": {"match": {"caption.text": "<query>"}},
        "knn": {"field": "embedding", "k": 3, "num_candidates": 20, "query_vector_builder": {
            "loupe_text_embedding": {"model": embedding_model, "text": "<query>", "instruction": QUERY_INSTRUCTION}}}})
    side_by_side(es, query, embedding_model)
    if paraphrases and os.path.exists(paraphrases):
        paraphrases_table(es, paraphrases, embedding_model, expected)


def facets(es):
    """The tags preset's typed fields: a terms aggregation over them, and one document's tags."""
    body = {"size": 1, "sort": [{"file": "asc"}], "_source": ["file", "tags"],
            "aggs": {"colors": {"terms": {"field": "tags.colors"}}, "objects": {"terms": {"field": "tags.objects"}}}}
    show(f"Facets from structured output (preset tags, JSON schema): POST /{INDEX}/_search", body)
    answer = call(es, "POST", f"/{INDEX}/_search", body)
    for name in ("colors", "objects"):
        buckets = answer.get("aggregations", {}).get(name, {}).get("buckets", [])
        print(f"  tags.{name:8}: " + (", ".join(f"{b['key']} {b['doc_count']}" for b in buckets) or "(none)"))
    for hit in answer["hits"]["hits"]:
        print(f"  {hit['_source']['file']}: {json.dumps(hit['_source'].get('tags'))}")


def stats(es):
    show("GET _loupe/stats")
    answer = call(es, "GET", "/_loupe/stats")
    for node in answer.get("nodes", {}).values():
        print(f"  node {node.get('name')}:")
        for name, model_stats in node.get("models", {}).items():
            requests = model_stats.get("requests", {})
            model = model_stats.get("model", {})
            prefix = model_stats.get("prefix_cache", {})
            latency = model_stats.get("latency_ms", {})
            state = "loaded" if model.get("loaded") else "not loaded: " + str(model.get("error"))
            print(f"    model [{name}] {model.get('path')} on {model.get('device')} ({state}, {model.get('kind')})")
            print(f"      requests: {requests.get('captioned', 0)} captioned, {requests.get('embedded', 0)} embedded, "
                  f"{requests.get('failed', 0)} failed, {requests.get('rejected', 0)} rejected, "
                  f"{requests.get('timed_out', 0)} timed out")
            if requests.get("captioned"):
                print(f"      throughput: {model_stats.get('images_per_second', 0):.2f} images/s, "
                      f"{model_stats.get('tokens_per_second', 0):.1f} tokens/s; caption latency ms: "
                      + ", ".join(f"{k} {latency.get(k, 0):.1f}" for k in ("image", "queue", "vision", "prefill", "decode", "total")))
            if requests.get("embedded"):
                print(f"      embeddings: {model_stats.get('embeddings_per_second', 0):.2f}/s, mean {latency.get('embed', 0):.1f} ms")
            print(f"      prefix cache: {prefix.get('cached_tokens', 0)} of {prefix.get('prompt_tokens', 0)} prompt tokens "
                  f"reused (hit rate {100 * prefix.get('hit_rate', 0):.1f}%)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", required=True)
    parser.add_argument("--query", default="red circle")
    parser.add_argument("--expected", help="captions.json: {file: true caption}")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--embedding-model", help="name of the node's embedding model (loupe.models.<name>.path)")
    parser.add_argument("--paraphrases", help="queries.json: paraphrased queries and the image each finds")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    expected = {}
    if args.expected and os.path.exists(args.expected):
        with open(args.expected) as f:
            expected = json.load(f)
    index_images(args.es, args.images, args.max_new_tokens, args.embedding_model)
    search(args.es, args.query, expected)
    facets(args.es)
    if args.embedding_model:
        semantic(args.es, args.query, args.embedding_model, args.paraphrases, expected)
    stats(args.es)


if __name__ == "__main__":
    main()
