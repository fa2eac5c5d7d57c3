#!/usr/bin/env python3
"""Semantic search over Debian package descriptions.

The dataset debian-desc-use512-angular holds one 512-d sentence embedding per
package description (base) and per query sentence, with the sentences in
*_texts.jsonl. This indexes the descriptions with cosine HNSW and prints the
nearest descriptions of a few query sentences, or of a description you name:

    python3 examples/python/semantic_search.py [--data DIR] [--queries 5]
    python3 examples/python/semantic_search.py --like "image viewer" --index /tmp/desc.vdx
"""

import argparse
import json
import os
import time

import numpy as np
import vindex

NAME = "debian-desc-use512-angular"


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32)


def read_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("VINDEX_DATA_DIR", "data"),
                        help="folder with the dataset files (default: $VINDEX_DATA_DIR)")
    parser.add_argument("--queries", type=int, default=5, help="query sentences to show")
    parser.add_argument("--like", help="use the first description containing this text as the query")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--index", help="load the index from here if it exists, else save it here")
    args = parser.parse_args()

    prefix = os.path.join(args.data, NAME)
    base = read_fvecs(prefix + "_base.fvecs")
    texts = read_texts(prefix + "_base_texts.jsonl")
    if args.index and os.path.exists(args.index):
        index = vindex.load(args.index, mmap=True)
    else:
        start = time.perf_counter()
        index = vindex.Index("HNSW32", base.shape[1], "cosine")
        index.add(base, threads=0)
        print(f"indexed {len(index)} descriptions in {time.perf_counter() - start:.1f} s")
        if args.index:
            index.save(args.index)

    if args.like:
        row = next((i for i, t in enumerate(texts) if args.like.lower() in t.lower()), None)
        if row is None:
            raise SystemExit(f"no description contains {args.like!r}")
        queries, query_texts = base[row:row + 1], [texts[row]]
    else:
        queries = read_fvecs(prefix + "_query.fvecs")[: args.queries]
        query_texts = read_texts(prefix + "_query_texts.jsonl")[: args.queries]

    similarities, ids = index.search(queries, args.k, ef=128)
    for text, sims, found in zip(query_texts, similarities, ids):
        print(f"\n> {text}")
        for s, i in zip(sims, found):
            print(f"  {s:.3f}  {texts[i][:100]}")


if __name__ == "__main__":
    main()
