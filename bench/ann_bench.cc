// ann_bench: recall / QPS sweeps of vindex indexes on TEXMEX datasets (or a
// synthetic one), with FAISS and hnswlib run on the same data in the same
// process. See Usage() for the flags and bench/README notes in the repo
// README for the measurement method.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "linalg/gemm.h"
#include "vindex/vindex.h"

namespace vindex::bench {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ options

struct Options {
  std::string data_dir;
  std::string dataset;
  std::string synthetic;  // "N,D,NQ".
  std::vector<std::string> specs;
  std::vector<int> nprobe = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<int> ef = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
  std::vector<int> rerank = {0, 2, 4, 16};
  int k = 10;
  int threads = 0;
  int64_t queries = 0;  // 0 = all.
  double budget_1t = 1.0;
  double batch_min_s = 0.5;
  std::string csv;
  std::string reference = "auto";
  std::string cache_dir;
};

void Usage() {
  std::cerr
      << "usage: ann_bench (--data DIR --dataset NAME | --synthetic N,D,NQ)\n"
         "                 --spec SPEC [--spec SPEC ...]\n"
         "                 [--nprobe 1,2,4,...] [--ef 10,16,...] "
         "[--rerank 0,2,4,16] [--k 10]\n"
         "                 [--threads N] [--queries N] [--budget-1t SEC] "
         "[--csv FILE]\n"
         "                 [--reference faiss|hnswlib|auto|none] "
         "[--cache-dir DIR]\n"
         "SPEC is a vindex factory string: Flat, IVF1024,Flat, IVF1024,PQ32,\n"
         "IVF1024,PQ64x4fs,Rerank, HNSW32, HNSW32,SQ8.\n"
         "--rerank 0 means no re-rank (for vindex and FAISS alike).\n"
         "Datasets are read as DIR/NAME_{base,query}.fvecs and\n"
         "DIR/NAME_groundtruth.ivecs (.zst versions are unpacked into the\n"
         "cache folder). 'angular' in NAME means inner product on unit "
         "vectors.\n";
}

bool ParseIntList(const std::string& s, std::vector<int>* out) {
  out->clear();
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    char* end = nullptr;
    long v = std::strtol(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || v < 0) return false;
    out->push_back(static_cast<int>(v));
  }
  return !out->empty();
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* v) {
      if (i + 1 >= argc) {
        std::cerr << "missing value after " << a << "\n";
        return false;
      }
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      return false;
    } else if (a == "--data") {
      if (!next(&o->data_dir)) return false;
    } else if (a == "--dataset") {
      if (!next(&o->dataset)) return false;
    } else if (a == "--synthetic") {
      if (!next(&o->synthetic)) return false;
    } else if (a == "--spec") {
      if (!next(&v)) return false;
      o->specs.push_back(v);
    } else if (a == "--nprobe") {
      if (!next(&v) || !ParseIntList(v, &o->nprobe)) return false;
    } else if (a == "--ef") {
      if (!next(&v) || !ParseIntList(v, &o->ef)) return false;
    } else if (a == "--rerank") {
      if (!next(&v) || !ParseIntList(v, &o->rerank)) return false;
    } else if (a == "--k") {
      if (!next(&v)) return false;
      o->k = std::atoi(v.c_str());
    } else if (a == "--threads") {
      if (!next(&v)) return false;
      o->threads = std::atoi(v.c_str());
    } else if (a == "--queries") {
      if (!next(&v)) return false;
      o->queries = std::atoll(v.c_str());
    } else if (a == "--budget-1t") {
      if (!next(&v)) return false;
      o->budget_1t = std::atof(v.c_str());
    } else if (a == "--csv") {
      if (!next(&o->csv)) return false;
    } else if (a == "--reference") {
      if (!next(&o->reference)) return false;
    } else if (a == "--cache-dir") {
      if (!next(&o->cache_dir)) return false;
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return false;
    }
  }
  if (o->specs.empty()) {
    std::cerr << "at least one --spec is needed\n";
    return false;
  }
  if (o->synthetic.empty() && (o->data_dir.empty() || o->dataset.empty())) {
    std::cerr << "give --data and --dataset, or --synthetic\n";
    return false;
  }
  if (o->k < 1) {
    std::cerr << "--k must be >= 1\n";
    return false;
  }
  if (o->reference != "auto" && o->reference != "faiss" &&
      o->reference != "hnswlib" && o->reference != "none") {
    std::cerr << "--reference must be faiss, hnswlib, auto or none\n";
    return false;
  }
  if (o->threads <= 0) {
    o->threads = std::max(1u, std::thread::hardware_concurrency());
  }
  return true;
}

// ------------------------------------------------------------------ dataset

// Clustered Gaussian data: sqrt(N) centres, points scattered around them,
// queries drawn the same way; exact ground truth from a vindex Flat index.
std::string MakeSynthetic(const Options& o, Dataset* ds, ThreadPool* pool) {
  long long n = 0, d = 0, nq = 0;
  if (std::sscanf(o.synthetic.c_str(), "%lld,%lld,%lld", &n, &d, &nq) != 3 ||
      n < 1 || d < 1 || nq < 1) {
    return "--synthetic wants N,D,NQ";
  }
  ds->name = "synthetic-" + std::to_string(n) + "x" + std::to_string(d);
  ds->dim = static_cast<int>(d);
  ds->n = n;
  ds->nq = nq;
  std::mt19937_64 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t centres = std::max<int64_t>(1, std::llround(std::sqrt(n)));
  std::vector<float> c(centres * d);
  for (auto& x : c) x = 4.0f * normal(rng);
  std::uniform_int_distribution<int64_t> pick(0, centres - 1);
  auto fill = [&](std::vector<float>* v, int64_t rows) {
    v->resize(rows * d);
    for (int64_t i = 0; i < rows; ++i) {
      const float* ci = c.data() + pick(rng) * d;
      for (int64_t j = 0; j < d; ++j) (*v)[i * d + j] = ci[j] + normal(rng);
    }
  };
  fill(&ds->base, n);
  fill(&ds->queries, nq);
  ds->gt_k = static_cast<int>(std::min<int64_t>(100, n));
  auto flat = MakeIndex("Flat", ds->dim, Metric::kL2);
  if (!flat.ok()) return flat.status().ToString();
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  auto st =
      (*flat)->Add(MatrixView<const float>(ds->base.data(), n, d), ids, pool);
  if (!st.ok()) return st.ToString();
  std::vector<int64_t> out_ids(nq * ds->gt_k);
  std::vector<float> out_d(nq * ds->gt_k);
  SearchParams p;
  p.k = ds->gt_k;
  st =
      (*flat)->Search(MatrixView<const float>(ds->queries.data(), nq, d), p,
                      SearchOutput{MatrixView<int64_t>(out_ids.data(), nq, p.k),
                                   MatrixView<float>(out_d.data(), nq, p.k)},
                      pool);
  if (!st.ok()) return st.ToString();
  ds->gt.assign(out_ids.begin(), out_ids.end());
  return "";
}

// ----------------------------------------------------------------- ceilings

struct Ceilings {
  double membw_1t_gbs = 0;
  double membw_all_gbs = 0;
  double sgemm_1t_gflops = 0;
  double sgemm_all_gflops = 0;
};

// A plain streaming read: the sum of a large buffer as 64-bit integers
// (integer adds vectorise at the baseline ISA and are never the limit).
uint64_t SumWords(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

double MeasureReadBandwidth(int threads, size_t bytes) {
  const size_t words = bytes / 8;
  std::vector<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i) buf[i] = i;
  volatile uint64_t sink = 0;
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    double t0 = WallSeconds();
    std::vector<std::thread> pool;
    std::vector<uint64_t> sums(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        size_t b = words * t / threads, e = words * (t + 1) / threads;
        sums[t] = SumWords(buf.data() + b, e - b);
      });
    }
    for (auto& th : pool) th.join();
    double dt = WallSeconds() - t0;
    for (uint64_t s : sums) sink = sink + s;
    best = std::max(best, bytes / dt / 1e9);
  }
  (void)sink;
  return best;
}

// GFLOP/s of C[m x n] = A[m x k] B[n x k]^T through vindex's GEMM wrapper,
// rows of A split across `threads` threads (as vindex's batch paths do).
double MeasureSgemm(int threads, int64_t m, int64_t n, int64_t k) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(m * k), b(n * k), c(m * n);
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  ThreadPool pool(threads);
  auto once = [&] {
    pool.ParallelFor(threads, [&](int64_t t) {
      int64_t r0 = m * t / threads, r1 = m * (t + 1) / threads;
      if (r1 > r0) {
        linalg::GemmABt(a.data() + r0 * k, r1 - r0, k, b.data(), n, k, k,
                        c.data() + r0 * n, n);
      }
    });
  };
  once();
  double best = 0, total = 0;
  while (total < 0.3) {
    double t0 = WallSeconds();
    once();
    double dt = WallSeconds() - t0;
    total += dt;
    best = std::max(best, 2.0 * m * n * k / dt / 1e9);
  }
  return best;
}

// ---------------------------------------------------------- vindex contender

class VindexContender final : public Contender {
 public:
  VindexContender(std::string spec, std::unique_ptr<Index> index, int threads)
      : spec_(std::move(spec)),
        index_(std::move(index)),
        dim_(index_->info().dim),
        pool_(threads) {}

  std::string library() const override {
    return "vindex [" + std::string(ActiveIsaName()) + "]";
  }
  std::string method() const override { return spec_; }

  std::string Build(const Dataset& ds, int) override {
    SetBlasThreads(1);
    MatrixView<const float> base(ds.base.data(), ds.n, ds.dim);
    const double t0 = WallSeconds();
    auto st = index_->Train(base, &pool_);
    train_s_ = WallSeconds() - t0;
    if (!st.ok()) return st.ToString();
    std::vector<int64_t> ids(ds.n);
    for (int64_t i = 0; i < ds.n; ++i) ids[i] = i;
    st = index_->Add(base, ids, &pool_);
    if (!st.ok()) return st.ToString();
    return "";
  }

  uint64_t memory_bytes() const override { return index_->info().memory_bytes; }
  double train_seconds() const override { return train_s_; }

  void UseThreads(int threads) override {
    SetBlasThreads(1);  // vindex runs BLAS on one thread per task.
    executor_ = threads > 1 ? &pool_ : nullptr;
  }

  std::string Search(const float* queries, int64_t nq, int k,
                     const Knobs& knobs, int64_t* ids) override {
    distances_.resize(static_cast<size_t>(nq) * k);
    SearchParams p;
    p.k = k;
    p.nprobe = knobs.nprobe;
    p.ef = knobs.ef;
    // Knob 0 means no re-rank (as for FAISS, which then skips its refine
    // step), not the index's default.
    p.rerank_factor =
        knobs.rerank == 0 ? SearchParams::kNoRerank : knobs.rerank;
    auto st = index_->Search(
        MatrixView<const float>(queries, nq, dim_), p,
        SearchOutput{MatrixView<int64_t>(ids, nq, k),
                     MatrixView<float>(distances_.data(), nq, k)},
        executor_);
    return st.ok() ? "" : st.ToString();
  }

 private:
  std::string spec_;
  std::unique_ptr<Index> index_;
  int dim_;  // Cached: info() may be costly, and Search is timed per query.
  ThreadPool pool_;
  Executor* executor_ = nullptr;
  std::vector<float> distances_;
  double train_s_ = -1;
};

// ------------------------------------------------------------- measurement

struct Point {
  std::string library;
  std::string spec;
  std::string method;
  std::string knobs;
  double recall1 = 0;
  double recall10 = 0;
  double qps_1t = 0;
  double qps_batch = 0;
  double build_s = 0;
  uint64_t bytes = 0;
  uint64_t heap_bytes = 0;  // Heap growth over the build (0: unknown).
  double cpu_1t = 0;
  double cpu_batch = 0;
  int64_t queries_1t = 0;
};

void Recall(const Dataset& ds, int64_t nq, int k,
            const std::vector<int64_t>& ids, double* r1, double* r10) {
  const int kk = std::min({k, 10, ds.gt_k});
  int64_t hit1 = 0, hit10 = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const int32_t* g = ds.gt.data() + q * ds.gt_k;
    const int64_t* r = ids.data() + q * k;
    if (r[0] == g[0]) ++hit1;
    for (int i = 0; i < kk; ++i) {
      for (int j = 0; j < kk; ++j) {
        if (r[i] == g[j]) {
          ++hit10;
          break;
        }
      }
    }
  }
  *r1 = static_cast<double>(hit1) / nq;
  *r10 = static_cast<double>(hit10) / (static_cast<double>(nq) * kk);
}

// Measures one sweep point; returns "" or an error.
std::string Measure(Contender& c, const Dataset& ds, const Options& o,
                    int64_t nq, const Knobs& knobs, Point* pt) {
  const int k = o.k;
  std::vector<int64_t> ids(static_cast<size_t>(nq) * k);
  // Batch: all queries in one call on all threads; best of calls totalling
  // >= batch_min_s. The first call also gives the recall.
  c.UseThreads(o.threads);
  double best = 1e300, total = 0, best_cpu = 0;
  int calls = 0;
  while (calls == 0 || total < o.batch_min_s) {
    double c0 = ProcessCpuSeconds(), t0 = WallSeconds();
    std::string err = c.Search(ds.queries.data(), nq, k, knobs, ids.data());
    double dt = WallSeconds() - t0, dc = ProcessCpuSeconds() - c0;
    if (!err.empty()) return err;
    if (calls == 0) Recall(ds, nq, k, ids, &pt->recall1, &pt->recall10);
    if (dt < best) {
      best = dt;
      best_cpu = dc / (dt * o.threads);
    }
    total += dt;
    ++calls;
  }
  pt->qps_batch = nq / best;
  pt->cpu_batch = best_cpu;
  // 1T: one query per call, sequentially, for up to budget_1t seconds.
  c.UseThreads(1);
  {
    std::vector<int64_t> one(k);
    c.Search(ds.queries.data(), 1, k, knobs, one.data());  // Warm-up.
    double c0 = ProcessCpuSeconds(), t0 = WallSeconds(), dt = 0;
    int64_t done = 0;
    while (done < nq) {
      std::string err =
          c.Search(ds.queries.data() + done * ds.dim, 1, k, knobs, one.data());
      if (!err.empty()) return err;
      ++done;
      dt = WallSeconds() - t0;
      if (dt >= o.budget_1t) break;
    }
    pt->qps_1t = done / dt;
    pt->cpu_1t = (ProcessCpuSeconds() - c0) / dt;
    pt->queries_1t = done;
  }
  return "";
}

std::vector<Knobs> SweepPoints(const SpecInfo& s, const Options& o) {
  std::vector<Knobs> pts;
  using F = SpecInfo::Family;
  if (s.family == F::kIvfFlat || s.family == F::kIvfPq) {
    std::vector<int> reranks = s.rerank ? o.rerank : std::vector<int>{0};
    for (int r : reranks) {
      for (int np : o.nprobe) {
        if (np < 1 || np > s.nlist) continue;
        pts.push_back(Knobs{.nprobe = np, .rerank = r});
      }
    }
  } else if (s.family == F::kHnsw) {
    for (int ef : o.ef) pts.push_back(Knobs{.ef = ef});
  } else {
    pts.push_back(Knobs{});
  }
  return pts;
}

// ------------------------------------------------------------------ output

std::string Fixed(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", prec, v);
  return buf;
}

std::string Pad(std::string s, size_t w, bool right = true) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s
               : s + std::string(w - s.size(), ' ');
}

constexpr int kLibW = 34, kSpecW = 26, kKnobW = 20;

void PrintHeader() {
  std::cout << Pad("library", kLibW, false) << " " << Pad("spec", kSpecW, false)
            << " " << Pad("params", kKnobW, false) << Pad("R@1", 8)
            << Pad("R@10", 8) << Pad("QPS 1T", 10) << Pad("QPS batch", 11)
            << Pad("build s", 9) << Pad("MiB", 9) << Pad("heapMiB", 9)
            << Pad("cpu1T", 7) << Pad("cpuB", 6) << "\n";
}

void PrintPoint(const Point& p) {
  std::cout << Pad(p.library, kLibW, false) << " " << Pad(p.spec, kSpecW, false)
            << " " << Pad(p.knobs, kKnobW, false) << Pad(Fixed(p.recall1, 4), 8)
            << Pad(Fixed(p.recall10, 4), 8) << Pad(Fixed(p.qps_1t, 1), 10)
            << Pad(Fixed(p.qps_batch, 1), 11) << Pad(Fixed(p.build_s, 2), 9)
            << Pad(Fixed(p.bytes / 1048576.0, 1), 9)
            << Pad(Fixed(p.heap_bytes / 1048576.0, 1), 9)
            << Pad(Fixed(p.cpu_1t, 2), 7) << Pad(Fixed(p.cpu_batch, 2), 6)
            << "\n"
            << std::flush;
}

std::string CsvEscape(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// Flat only: how close the scan and the batch come to the machine ceilings.
void PrintFlatEfficiency(const Point& p, const Dataset& ds, int64_t nq,
                         const Ceilings& c, int threads) {
  const double row_bytes = 4.0 * ds.dim;
  const double scan_gbs = p.qps_1t * ds.n * row_bytes / 1e9;
  const double gflops = 2.0 * p.qps_batch * ds.n * ds.dim / 1e9;
  std::cout << "  Flat efficiency of " << p.library << ": 1T scan "
            << Fixed(scan_gbs, 2) << " GB/s of base vectors = "
            << Fixed(100 * scan_gbs / c.membw_1t_gbs, 1)
            << "% of 1T memory read bandwidth; batch (" << nq << " queries, "
            << threads << " threads) " << Fixed(gflops, 1)
            << " GFLOP/s = " << Fixed(100 * gflops / c.sgemm_all_gflops, 1)
            << "% of SGEMM " << threads << "T ("
            << Fixed(100 * gflops / c.sgemm_1t_gflops, 1) << "% of SGEMM 1T)\n";
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

void PrintSummary(const std::vector<Point>& points) {
  const double thresholds[] = {0.90, 0.95, 0.99};
  // Best point per (group, threshold), for 1T and batch separately.
  struct Best {
    double qps = 0;
    std::string where;
  };
  auto best_of = [&](auto pred, double th, bool batch) {
    Best b;
    for (const Point& p : points) {
      if (!pred(p) || p.recall10 < th) continue;
      double q = batch ? p.qps_batch : p.qps_1t;
      if (q > b.qps) {
        b.qps = q;
        b.where = p.spec + " " + p.knobs;
      }
    }
    return b;
  };
  std::vector<std::string> libs;
  for (const Point& p : points) {
    if (std::find(libs.begin(), libs.end(), p.library) == libs.end()) {
      libs.push_back(p.library);
    }
  }
  std::vector<std::string> specs;
  for (const Point& p : points) {
    if (std::find(specs.begin(), specs.end(), p.spec) == specs.end()) {
      specs.push_back(p.spec);
    }
  }
  std::string ours;
  for (const auto& l : libs) {
    if (l.rfind("vindex", 0) == 0) ours = l;
  }
  auto fmt = [](const Best& b) {
    return b.qps > 0 ? Fixed(b.qps, 1) : std::string("-");
  };
  // A generic reference build gets no ratio: it would headline a number
  // that says nothing about the library (its QPS columns still show).
  std::vector<std::string> generic;
  for (const auto& l : libs) {
    if (IsGenericReference(l)) generic.push_back(l);
  }
  auto ratio_for = [&](const std::string& lib, const Best& a, const Best& b) {
    if (IsGenericReference(lib)) return std::string("n/r");
    return (a.qps > 0 && b.qps > 0) ? Fixed(a.qps / b.qps, 2) + "x"
                                    : std::string("-");
  };
  std::cout << "\n== Summary: best QPS at recall@10 >= threshold (over all "
               "specs and knobs) ==\n";
  std::cout << Pad("library", kLibW, false) << Pad("R@10>=", 7);
  std::cout << Pad("QPS 1T", 10) << Pad("QPS batch", 11) << "  "
            << Pad("ratio vindex/lib 1T", 20) << Pad("batch", 7)
            << "  best 1T point\n";
  for (const auto& lib : libs) {
    for (double th : thresholds) {
      auto is_lib = [&](const Point& p) { return p.library == lib; };
      auto is_ours = [&](const Point& p) { return p.library == ours; };
      Best b1 = best_of(is_lib, th, false), bb = best_of(is_lib, th, true);
      Best o1 = best_of(is_ours, th, false), ob = best_of(is_ours, th, true);
      std::cout << Pad(lib, kLibW, false) << Pad(Fixed(th, 2), 7)
                << Pad(fmt(b1), 10) << Pad(fmt(bb), 11) << "  "
                << Pad(lib == ours ? "" : ratio_for(lib, o1, b1), 20)
                << Pad(lib == ours ? "" : ratio_for(lib, ob, bb), 7) << "  "
                << (b1.qps > 0 ? b1.where : "") << "\n";
    }
  }
  std::cout << "\n== Per spec (same method): best QPS 1T / batch at recall@10 "
               ">= threshold, and vindex/lib ==\n";
  for (const auto& spec : specs) {
    for (const auto& lib : libs) {
      bool any = false;
      for (const Point& p : points) any |= p.spec == spec && p.library == lib;
      if (!any) continue;
      std::cout << Pad(spec, kSpecW, false) << " " << Pad(lib, kLibW, false);
      for (double th : thresholds) {
        auto is_lib = [&](const Point& p) {
          return p.library == lib && p.spec == spec;
        };
        auto is_ours = [&](const Point& p) {
          return p.library == ours && p.spec == spec;
        };
        Best b1 = best_of(is_lib, th, false), bb = best_of(is_lib, th, true);
        std::cout << "  " << Fixed(th, 2) << ": " << fmt(b1) << " / "
                  << fmt(bb);
        if (lib != ours) {
          Best o1 = best_of(is_ours, th, false),
               ob = best_of(is_ours, th, true);
          std::cout << " (" << ratio_for(lib, o1, b1) << " / "
                    << ratio_for(lib, ob, bb) << ")";
        }
      }
      std::cout << "\n";
    }
  }
  for (const auto& lib : generic) {
    std::cout << "\nn/r (not representative): " << lib
              << " is a generic build (ISA: " << LabelIsa(lib)
              << ", no AVX2 or AVX-512 kernels), so no vindex/" << lib
              << " ratio is printed; compare against a build for this CPU "
                 "(FAISS: configure ann_bench with -DFAISS_ROOT=PREFIX of a "
                 "FAISS built with FAISS_OPT_LEVEL=avx2 or avx512).\n";
  }
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    Usage();
    return 2;
  }
  ThreadPool setup_pool(o.threads);
  Dataset ds;
  std::string err =
      o.synthetic.empty()
          ? LoadTexmexDataset(o.data_dir, o.dataset, o.cache_dir, &ds)
          : MakeSynthetic(o, &ds, &setup_pool);
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

  Ceilings ceil;
  ceil.membw_1t_gbs = MeasureReadBandwidth(1, size_t{512} << 20);
  ceil.membw_all_gbs = MeasureReadBandwidth(o.threads, size_t{512} << 20);
  ceil.sgemm_1t_gflops = MeasureSgemm(1, 1024, 1024, 128);
  ceil.sgemm_all_gflops = MeasureSgemm(o.threads, 1024, 1024, 128);
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
    csv << "dataset,n,dim,queries,k,threads,library,spec,method,params,"
           "build_s,index_bytes,recall1,recall10,qps_1t,qps_batch,"
           "queries_1t,cpu_share_1t,cpu_share_batch,membw_1t_gbs,"
           "sgemm_1t_gflops,sgemm_all_gflops,heap_bytes\n";
  }

  std::vector<Point> all;
  PrintHeader();
  for (const std::string& spec : o.specs) {
    const SpecInfo info = ParseSpec(spec, ds.dim);
    std::vector<std::unique_ptr<Contender>> contenders;
    auto made = MakeIndex(
        spec, ds.dim, ds.inner_product ? Metric::kInnerProduct : Metric::kL2);
    if (made.ok()) {
      contenders.push_back(
          std::make_unique<VindexContender>(spec, std::move(*made), o.threads));
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
        if (csv.is_open()) {
          csv << CsvEscape(ds.name) << "," << ds.n << "," << ds.dim << "," << nq
              << "," << o.k << "," << o.threads << "," << CsvEscape(p.library)
              << "," << CsvEscape(p.spec) << "," << CsvEscape(p.method) << ","
              << CsvEscape(p.knobs) << "," << Fixed(p.build_s, 3) << ","
              << p.bytes << "," << Fixed(p.recall1, 5) << ","
              << Fixed(p.recall10, 5) << "," << Fixed(p.qps_1t, 2) << ","
              << Fixed(p.qps_batch, 2) << "," << p.queries_1t << ","
              << Fixed(p.cpu_1t, 3) << "," << Fixed(p.cpu_batch, 3) << ","
              << Fixed(ceil.membw_1t_gbs, 2) << ","
              << Fixed(ceil.sgemm_1t_gflops, 2) << ","
              << Fixed(ceil.sgemm_all_gflops, 2) << "," << p.heap_bytes << "\n"
              << std::flush;
        }
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
