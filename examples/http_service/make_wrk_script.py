#!/usr/bin/env python3
"""Writes a wrk Lua script that POSTs real query vectors to /search.

Usage: make_wrk_script.py QUERIES.fvecs OUT.lua [--count 100] [--k 10]
                          [--ef 64] [--nprobe 32]

Each request takes the next of the first --count query vectors (round robin
per wrk thread), so the load is not one cached query repeated. wrk itself reports
"Non-2xx or 3xx responses" when any request failed.
"""
import argparse
import json
import struct


def read_fvecs(path, count):
    vectors = []
    with open(path, "rb") as f:
        while len(vectors) < count:
            header = f.read(4)
            if len(header) < 4:
                break
            (dim,) = struct.unpack("<i", header)
            vectors.append(struct.unpack("<%df" % dim, f.read(4 * dim)))
    return vectors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("queries")
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, default=0)
    parser.add_argument("--nprobe", type=int, default=0)
    args = parser.parse_args()
    bodies = []
    for v in read_fvecs(args.queries, args.count):
        request = {"vector": [float("%.7g" % x) for x in v], "k": args.k}
        if args.ef:
            request["ef"] = args.ef
        if args.nprobe:
            request["nprobe"] = args.nprobe
        bodies.append(json.dumps(request, separators=(",", ":")))
    with open(args.out, "w") as out:
        out.write('wrk.method = "POST"\n')
        out.write('wrk.headers["Content-Type"] = "application/json"\n')
        out.write("local bodies = {\n")
        for body in bodies:
            out.write("  [[%s]],\n" % body)
        out.write("}\n")
        out.write("local i = 0\n")
        out.write("request = function()\n")
        out.write("  i = i % #bodies + 1\n")
        out.write("  return wrk.format(nil, nil, nil, bodies[i])\n")
        out.write("end\n")
    print("wrote %d request bodies to %s" % (len(bodies), args.out))


if __name__ == "__main__":
    main()
