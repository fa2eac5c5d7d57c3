// ann_bench: recall / QPS sweeps of vindex indexes on TEXMEX datasets (or a
// synthetic one), with FAISS and hnswlib run on the same data in the same
// process. See PrintUsage() for the flags and bench/README notes in the repo
// README for the measurement method.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ann_bench_options.h"
#include "ann_bench_report.h"
#include "ann_bench_sweep.h"
#include "bench_common.h"
#include "machine_ceiling.h"
#include "vindex/vindex.h"

namespace vindex::bench {
namespace {

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    PrintUsage();
    return 2;
  }
  ThreadPool setup_pool(o.threads);
  Dataset ds;
  std::string err =
      o.synthetic.empty()
          ? LoadTexmexDataset(o.data_dir, o.dataset, o.cache_dir, &ds)
          : MakeSyntheticDataset(o.synthetic, &ds, &setup_pool);
  if (!err.empty()) {
    std::cerr << "ann_bench: " << err << "\n";
    return 1;
  }
  const int64_t nq = o.queries > 0 ? std::min(o.queries, ds.nq) : ds.nq;

  std::cout << "ann_bench: dataset " << ds.name << " n=" << ds.n
            << " dim=" << ds.dim << " queries=" << nq << "/" << ds.nq
            << " metric=" << (ds.inner_product ? "inner_product" : "L2")
            << " k=" << o.k << " threads=" << o.threads << "\n";
  std::cout << "machine: " << CpuModel() << ", "
            << std::thread::hardware_concurrency() << " hardware threads\n";
  std::cout << "vindex ISA: " << ActiveIsaName()
            << " (VINDEX_ISA=scalar|avx2|avx512 caps it)\n";
  const bool want_faiss = o.reference == "auto" || o.reference == "faiss";
  const bool want_hnswlib = o.reference == "auto" || o.reference == "hnswlib";
  for (const std::string& label :
       {want_faiss ? FaissLabel() : "", want_hnswlib ? HnswlibLabel() : ""}) {
    if (label.empty()) continue;
    std::cout << "reference: " << label << ", ISA: " << LabelIsa(label)
              << (IsGenericReference(label)
                      ? " (generic build: ratios against it are not "
                        "representative and are not printed)"
                      : "")
              << "\n";
  }

  const Ceilings ceil = MeasureCeilings(o.threads);
  std::cout << "ceilings: memory read " << Fixed(ceil.membw_1t_gbs, 1)
            << " GB/s 1T, " << Fixed(ceil.membw_all_gbs, 1) << " GB/s "
            << o.threads << "T; SGEMM 1024x1024x128 "
            << Fixed(ceil.sgemm_1t_gflops, 1) << " GFLOP/s 1T, "
            << Fixed(ceil.sgemm_all_gflops, 1) << " GFLOP/s " << o.threads
            << "T\n\n";

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    if (!csv) {
      std::cerr << "ann_bench: cannot write " << o.csv << "\n";
      return 1;
    }
    WriteCsvHeader(csv);
  }

  std::vector<Point> all;
  PrintHeader();
  for (const std::string& spec : o.specs) {
    const SpecInfo info = ParseSpec(spec, ds.dim);
    std::vector<std::unique_ptr<Contender>> contenders;
    const Metric angular =
        o.angular_metric == "ip" ? Metric::kInnerProduct : Metric::kCosine;
    auto made =
        MakeIndex(spec, ds.dim, ds.inner_product ? angular : Metric::kL2);
    if (made.ok()) {
      contenders.push_back(
          MakeVindexContender(spec, std::move(*made), o.threads));
    } else {
      std::cout << Pad("vindex", kLibW, false) << " "
                << Pad(spec, kSpecW, false) << " " << made.status().ToString()
                << "\n";
    }
    std::string why;
    if (want_faiss) {
      auto f = MakeFaissContender(spec, ds.dim, ds.inner_product, &why);
      if (f) {
        contenders.push_back(std::move(f));
      } else if (o.reference == "faiss") {
        std::cout << "  (faiss: " << why << ")\n";
      }
    }
    if (want_hnswlib) {
      auto h = MakeHnswlibContender(spec, ds.dim, ds.inner_product, &why);
      if (h) {
        contenders.push_back(std::move(h));
      } else if (o.reference == "hnswlib") {
        std::cout << "  (hnswlib: " << why << ")\n";
      }
    }
    for (auto& c : contenders) {
      const uint64_t heap0 = HeapBytesInUse();
      double t0 = WallSeconds();
      err = c->Build(ds, o.threads);
      double build_s = WallSeconds() - t0;
      const uint64_t heap1 = HeapBytesInUse();
      const uint64_t heap = heap1 > heap0 ? heap1 - heap0 : 0;
      if (!err.empty()) {
        std::cout << Pad(c->library(), kLibW, false) << " "
                  << Pad(spec, kSpecW, false) << " build failed: " << err
                  << "\n";
        continue;
      }
      const uint64_t bytes = c->memory_bytes();
      // Self-reported bytes differ in what each library counts; the heap
      // growth counts every allocation the same way for all of them.
      std::cout << Pad(c->library(), kLibW, false) << " "
                << Pad(spec, kSpecW, false)
                << " memory: " << Fixed(static_cast<double>(bytes) / ds.n, 1)
                << " bytes/vector self-reported, "
                << Fixed(static_cast<double>(heap) / ds.n, 1)
                << " bytes/vector heap growth over the build\n";
      if (c->train_seconds() >= 0) {
        std::cout << Pad(c->library(), kLibW, false) << " "
                  << Pad(spec, kSpecW, false) << " build: train "
                  << Fixed(c->train_seconds(), 2) << " s, add "
                  << Fixed(build_s - c->train_seconds(), 2) << " s, "
                  << Fixed(static_cast<double>(bytes) / ds.n, 1)
                  << " bytes/vector\n";
      }
      int last_rerank = -1;
      bool done_for_rerank = false;
      for (const Knobs& kn : SweepPoints(info, o)) {
        if (kn.rerank != last_rerank) {
          last_rerank = kn.rerank;
          done_for_rerank = false;
        }
        if (done_for_rerank) continue;
        Point p;
        p.library = c->library();
        p.spec = spec;
        p.method = c->method();
        p.knobs = KnobsString(info, kn);
        p.build_s = build_s;
        p.bytes = bytes;
        p.heap_bytes = heap;
        err = Measure(*c, ds, o, nq, kn, &p);
        if (!err.empty()) {
          std::cout << Pad(p.library, kLibW, false) << " "
                    << Pad(spec, kSpecW, false) << " " << p.knobs
                    << " search failed: " << err << "\n";
          break;
        }
        PrintPoint(p);
        if (info.family == SpecInfo::Family::kFlat) {
          PrintFlatEfficiency(p, ds, nq, ceil, o.threads);
        }
        if (csv.is_open()) WriteCsvRow(csv, ds, nq, o, ceil, p);
        all.push_back(p);
        if (p.recall10 >= 0.9995) done_for_rerank = true;
      }
      c.reset();  // Free the index before the next contender builds.
    }
  }
  PrintSummary(all);
  return 0;
}

}  // namespace
}  // namespace vindex::bench

int main(int argc, char** argv) { return vindex::bench::Main(argc, argv); }
