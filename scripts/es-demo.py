#!/usr/bin/env python3
"""The Elasticsearch half of `./loupe demo`, against a running node with the Loupe plugin.

Creates an ingest pipeline with two image_caption processors (a caption and keywords on the
same image, sharing its prefix in the radix cache), indexes the images with one _bulk
request, searches the captions and prints the hits, then the node's _loupe/stats.

  scripts/es-demo.py --es http://127.0.0.1:19200 --query "red circle" [--expected captions.json] IMAGE...
Only the Python standard library: it runs on a fresh machine after scripts/bootstrap.
"""
import argparse
import base64
import json
import os
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


def pipeline(max_new_tokens):
    return {
        "description": "Loupe demo: a caption and keywords for every image, written next to it",
        "processors": [
            {"image_caption": {"field": "image", "target_field": "caption", "preset": "caption",
                               "max_new_tokens": max_new_tokens,
                               "properties": ["text", "model", "prompt_tokens", "cached_tokens", "timings"]}},
            {"image_caption": {"field": "image", "target_field": "keywords", "preset": "keywords",
                               "max_new_tokens": max(8, max_new_tokens // 2),
                               "properties": ["text", "prompt_tokens", "cached_tokens"], "remove_binary": True}},
        ],
    }


def index_images(es, images, max_new_tokens):
    pipeline_body = pipeline(max_new_tokens)
    show(f"PUT _ingest/pipeline/{PIPELINE}", pipeline_body)
    call(es, "PUT", f"/_ingest/pipeline/{PIPELINE}", pipeline_body)

    mapping = {"mappings": {"properties": {
        "file": {"type": "keyword"},
        "caption": {"properties": {"text": {"type": "text"}, "model": {"type": "keyword"}}},
        "keywords": {"properties": {"text": {"type": "text"}}},
    }}}
    call(es, "DELETE", f"/{INDEX}?ignore_unavailable=true")
    show(f"PUT {INDEX}  (file: keyword, caption.text and keywords.text: text)")
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
          f"({len(images) / seconds:.2f} images/s, caption + keywords each)")
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


def stats(es):
    show("GET _loupe/stats")
    answer = call(es, "GET", "/_loupe/stats")
    for node in answer.get("nodes", {}).values():
        docs = node.get("documents", {})
        model = node.get("model", {})
        prefix = node.get("prefix_cache", {})
        latency = node.get("latency_ms", {})
        print(f"  node {node.get('name')}: model {model.get('path')} on {model.get('device')} ({'loaded' if model.get('loaded') else 'not loaded: ' + str(model.get('error'))})")
        print(f"    documents: {docs.get('captioned', 0)} captioned, {docs.get('failed', 0)} failed, "
              f"{docs.get('rejected', 0)} rejected, {docs.get('timed_out', 0)} timed out")
        print(f"    throughput: {node.get('images_per_second', 0):.2f} images/s, {node.get('tokens_per_second', 0):.1f} tokens/s")
        print(f"    prefix cache: {prefix.get('cached_tokens', 0)} of {prefix.get('prompt_tokens', 0)} prompt tokens reused "
              f"(hit rate {100 * prefix.get('hit_rate', 0):.1f}%)")
        if latency:
            print("    latency ms: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, (int, float)) else f"{k} {v}"
                                              for k, v in latency.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", required=True)
    parser.add_argument("--query", default="red circle")
    parser.add_argument("--expected", help="captions.json: {file: true caption}")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    expected = {}
    if args.expected and os.path.exists(args.expected):
        with open(args.expected) as f:
            expected = json.load(f)
    index_images(args.es, args.images, args.max_new_tokens)
    search(args.es, args.query, expected)
    stats(args.es)


if __name__ == "__main__":
    main()
