import sys
# The CLI's CSV does not quote the spec (which has commas): parse from the right.
def rows(path):
    for line in open(path).read().splitlines()[1:]:
        f = line.split(",")
        spec = ",".join(f[:-9])
        nprobe, ef, rerank, k, recall, qps, build, mem, thr = f[-9:]
        yield dict(spec=spec, nprobe=int(nprobe), ef=int(ef), rerank=int(rerank), recall=float(recall), qps=float(qps), build=float(build), mem=int(mem))
if __name__ == "__main__":
    for path in sys.argv[1:]:
        print("\n###", path)
        print("| spec | knob | recall@10 | QPS (2 threads) |")
        print("|---|---|---:|---:|")
        for r in rows(path):
            knob = ("nprobe=%d" % r["nprobe"]) if r["nprobe"] else (("ef=%d" % r["ef"]) if r["ef"] else "-")
            if r["rerank"]: knob += ", rerank=%d" % r["rerank"]
            print("| %s | %s | %.3f | %.0f |" % (r["spec"], knob, r["recall"], r["qps"]))
        seen = set()
        for r in rows(path):
            if r["spec"] in seen: continue
            seen.add(r["spec"])
            print("build: %s %.1f s, %.1f MiB, %.0f B/vector" % (r["spec"], r["build"], r["mem"]/2**20, r["mem"]/100000))
