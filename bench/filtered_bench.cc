// filtered_bench: HNSW search restricted by a filter, at several
// selectivities, vindex against hnswlib (>= 0.7, whose searchKnn takes a
// filter functor) in the same run.
//
// Each selectivity s allows a pseudo-random s-fraction of the base ids,
// independent of the vectors. The ground truth is exact: a vindex Flat search
// under the same filter. Searches run one query per call on one thread and
// sweep ef; the summary gives the best QPS at recall@10 >= 0.90 / 0.95 / 0.99
// per library and selectivity.
//
// vindex runs twice: with IdFilter::Predicate over the same bitmap hnswlib's
// functor reads, and with IdFilter::AllowList of the allowed ids (what a
// service holding a small allowed set would pass).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "vindex/vindex.h"

#if defined(VINDEX_BENCH_HNSWLIB_FILTER)
#include <hnswlib/hnswlib.h>
#endif

namespace vindex::bench {
namespace {

struct Options {
  std::string data_dir, dataset, cache_dir, csv;
  int m = 32;
  int ef_construction = 200;
  int threads = 2;
  int64_t queries = 1000;
  double budget_1t = 1.0;
  std::vector<double> selectivities = {0.5, 0.1, 0.01, 0.001};
  std::vector<int> efs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
};

const char kUsage[] =
    "usage: filtered_bench --data DIR --dataset NAME [--m 32]\n"
    "                      [--selectivity 0.5,0.1,0.01,0.001] [--ef "
    "10,16,...]\n"
    "                      [--queries 1000] [--budget-1t SEC] [--threads 2]\n"
    "                      [--cache-dir DIR] [--csv FILE]\n"
    "Build uses --threads threads; searches run one query per call on one "
    "thread.\n";

template <typename T>
bool ParseList(const std::string& s, std::vector<T>* out) {
  out->clear();
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0' || !(v > 0)) return false;
    out->push_back(static_cast<T>(v));
  }
  return !out->empty();
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--data") {
      o->data_dir = v;
    } else if (a == "--dataset") {
      o->dataset = v;
    } else if (a == "--cache-dir") {
      o->cache_dir = v;
    } else if (a == "--csv") {
      o->csv = v;
    } else if (a == "--m") {
      o->m = std::atoi(v.c_str());
    } else if (a == "--threads") {
      o->threads = std::max(1, std::atoi(v.c_str()));
    } else if (a == "--queries") {
      o->queries = std::max(1, std::atoi(v.c_str()));
    } else if (a == "--budget-1t") {
      o->budget_1t = std::atof(v.c_str());
    } else if (a == "--selectivity") {
      if (!ParseList(v, &o->selectivities)) return false;
    } else if (a == "--ef") {
      if (!ParseList(v, &o->efs)) return false;
    } else {
      return false;
    }
  }
  return !o->data_dir.empty() && !o->dataset.empty() && o->m >= 2;
}

// Whether id is allowed at selectivity s: a hash of the id, so the allowed
// set is spread evenly and unrelated to the vectors.
bool Allowed(int64_t id, double s) {
  uint64_t x = static_cast<uint64_t>(id) + 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53 < s;
}

// One library's filtered searcher: writes k ids for one query.
class FilteredSearcher {
 public:
  virtual ~FilteredSearcher() = default;
  virtual std::string name() const = 0;
  virtual std::string Search(const float* query, int k, int ef,
                             int64_t* ids) = 0;
};

class VindexSearcher final : public FilteredSearcher {
 public:
  VindexSearcher(const Index& index, int dim, IdFilter filter, std::string name)
      : index_(index), dim_(dim), filter_(std::move(filter)), name_(name) {}
  std::string name() const override { return name_; }
  std::string Search(const float* query, int k, int ef, int64_t* ids) override {
    distances_.resize(k);
    SearchParams p;
    p.k = k;
    p.ef = ef;
    p.filter = &filter_;
    absl::Status s =
        index_.Search(MatrixView<const float>(query, 1, dim_), p,
                      {MatrixView<int64_t>(ids, 1, k),
                       MatrixView<float>(distances_.data(), 1, k)});
    return s.ok() ? "" : s.ToString();
  }

 private:
  const Index& index_;
  int dim_;
  IdFilter filter_;
  std::string name_;
  std::vector<float> distances_;
};

#if defined(VINDEX_BENCH_HNSWLIB_FILTER)
// Reads the same bitmap as vindex's predicate.
class BitmapFilter final : public hnswlib::BaseFilterFunctor {
 public:
  explicit BitmapFilter(const std::vector<uint8_t>* allowed)
      : allowed_(allowed) {}
  bool operator()(hnswlib::labeltype id) override { return (*allowed_)[id]; }

 private:
  const std::vector<uint8_t>* allowed_;
};

class HnswlibSearcher final : public FilteredSearcher {
 public:
  HnswlibSearcher(hnswlib::HierarchicalNSW<float>* index,
                  const std::vector<uint8_t>* allowed)
      : index_(index), filter_(allowed) {}
  std::string name() const override { return "hnswlib"; }
  std::string Search(const float* query, int k, int ef, int64_t* ids) override {
    index_->setEf(ef);
    auto result = index_->searchKnn(query, k, &filter_);
    std::fill(ids, ids + k, -1);
    int64_t pos = static_cast<int64_t>(result.size()) - 1;
    while (!result.empty()) {  // Farthest first.
      if (pos < k) ids[pos] = static_cast<int64_t>(result.top().second);
      result.pop();
      --pos;
    }
    return "";
  }

 private:
  hnswlib::HierarchicalNSW<float>* index_;
  BitmapFilter filter_;
};

std::unique_ptr<hnswlib::HierarchicalNSW<float>> BuildHnswlib(
    const Dataset& ds, const Options& o,
    std::unique_ptr<hnswlib::SpaceInterface<float>>* space) {
  if (ds.inner_product) {
    *space = std::make_unique<hnswlib::InnerProductSpace>(ds.dim);
  } else {
    *space = std::make_unique<hnswlib::L2Space>(ds.dim);
  }
  auto index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      space->get(), ds.n, o.m, o.ef_construction, 100);
  std::vector<std::thread> pool;
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next.fetch_add(1); i < ds.n; i = next.fetch_add(1)) {
      index->addPoint(ds.base.data() + i * ds.dim,
                      static_cast<hnswlib::labeltype>(i));
    }
  };
  for (int t = 1; t < o.threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return index;
}
#endif

struct Point {
  std::string library;
  double selectivity = 0;
  int ef = 0;
  double recall10 = 0;
  double qps = 0;
};

// Runs queries one per call for up to budget seconds (at least 100 or all);
// returns recall@10 against `truth` over the queries run.
std::string Measure(FilteredSearcher& searcher, const Dataset& ds, int64_t nq,
                    const std::vector<int64_t>& truth, int ef, double budget,
                    Point* p) {
  constexpr int kK = 10;
  std::vector<int64_t> ids(kK);
  int64_t hits = 0, done = 0;
  const double t0 = WallSeconds();
  for (int64_t q = 0; q < nq; ++q) {
    const std::string err =
        searcher.Search(ds.queries.data() + q * ds.dim, kK, ef, ids.data());
    if (!err.empty()) return err;
    for (int j = 0; j < kK; ++j) {
      const int64_t t = truth[q * kK + j];
      if (t >= 0 && std::find(ids.begin(), ids.end(), t) != ids.end()) ++hits;
    }
    ++done;
    if (done >= 100 && WallSeconds() - t0 > budget) break;
  }
  const double seconds = WallSeconds() - t0;
  int64_t expected = 0;
  for (int64_t q = 0; q < done; ++q) {
    for (int j = 0; j < kK; ++j) expected += truth[q * kK + j] >= 0 ? 1 : 0;
  }
  p->recall10 = expected > 0 ? static_cast<double>(hits) / expected : 1.0;
  p->qps = done / seconds;
  return "";
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::cerr << kUsage;
    return 2;
  }
  Dataset ds;
  if (std::string err =
          LoadTexmexDataset(o.data_dir, o.dataset, o.cache_dir, &ds);
      !err.empty()) {
    std::cerr << "filtered_bench: " << err << "\n";
    return 1;
  }
  const int64_t nq = std::min(o.queries, ds.nq);
  const Metric metric = ds.inner_product ? Metric::kInnerProduct : Metric::kL2;
  std::cout << "filtered_bench: " << ds.name << " (" << ds.n << " x " << ds.dim
            << "), " << nq << " queries, HNSW M=" << o.m
            << " ef_construction=" << o.ef_construction << ", build on "
            << o.threads << " threads, search 1 thread one query per call, "
            << "vindex ISA " << ActiveIsaName() << "\n";
  ThreadPool pool(o.threads);
  std::vector<int64_t> all_ids(ds.n);
  for (int64_t i = 0; i < ds.n; ++i) all_ids[i] = i;
  const MatrixView<const float> base(ds.base.data(), ds.n, ds.dim);

  double t0 = WallSeconds();
  auto hnsw = MakeIndex("HNSW" + std::to_string(o.m), ds.dim, metric);
  absl::Status st =
      hnsw.ok() ? (*hnsw)->Add(base, all_ids, &pool) : hnsw.status();
  if (!st.ok()) {
    std::cerr << "filtered_bench: vindex build: " << st << "\n";
    return 1;
  }
  std::cout << "vindex HNSW" << o.m << " built in " << WallSeconds() - t0
            << " s\n";
#if defined(VINDEX_BENCH_HNSWLIB_FILTER)
  t0 = WallSeconds();
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  auto hnswlib_index = BuildHnswlib(ds, o, &space);
  std::cout << "hnswlib built in " << WallSeconds() - t0 << " s\n";
#else
  std::cout << "hnswlib with filters not built in (configure with "
               "HNSWLIB_FILTER_INCLUDE=<dir holding hnswlib/ of version "
               ">= 0.7>): vindex only\n";
#endif
  auto flat = MakeIndex("Flat", ds.dim, metric);
  st = flat.ok() ? (*flat)->Add(base, all_ids, &pool) : flat.status();
  if (!st.ok()) {
    std::cerr << "filtered_bench: flat: " << st << "\n";
    return 1;
  }

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    csv << "dataset,n,dim,m,selectivity,allowed,library,ef,recall10,qps_1t\n";
  }
  std::vector<Point> points;
  for (double s : o.selectivities) {
    std::vector<uint8_t> allowed(ds.n);
    std::vector<int64_t> allowed_ids;
    for (int64_t i = 0; i < ds.n; ++i) {
      allowed[i] = Allowed(i, s);
      if (allowed[i]) allowed_ids.push_back(i);
    }
    // Exact filtered ground truth.
    IdFilter predicate = IdFilter::Predicate(
        [&allowed](int64_t id) { return allowed[id] != 0; });
    std::vector<int64_t> truth(nq * 10);
    std::vector<float> truth_d(nq * 10);
    SearchParams gp;
    gp.k = 10;
    gp.filter = &predicate;
    st = (*flat)->Search(MatrixView<const float>(ds.queries.data(), nq, ds.dim),
                         gp,
                         {MatrixView<int64_t>(truth.data(), nq, 10),
                          MatrixView<float>(truth_d.data(), nq, 10)},
                         &pool);
    if (!st.ok()) {
      std::cerr << "filtered_bench: ground truth: " << st << "\n";
      return 1;
    }
    std::cout << "\n== selectivity " << s << ": " << allowed_ids.size()
              << " allowed ids ==\n";
    std::vector<std::unique_ptr<FilteredSearcher>> searchers;
    searchers.push_back(std::make_unique<VindexSearcher>(
        **hnsw, ds.dim, predicate, "vindex (predicate)"));
    searchers.push_back(std::make_unique<VindexSearcher>(
        **hnsw, ds.dim, IdFilter::AllowList(allowed_ids),
        "vindex (allow-list)"));
#if defined(VINDEX_BENCH_HNSWLIB_FILTER)
    searchers.push_back(
        std::make_unique<HnswlibSearcher>(hnswlib_index.get(), &allowed));
#endif
    for (auto& searcher : searchers) {
      for (int ef : o.efs) {
        Point p;
        p.library = searcher->name();
        p.selectivity = s;
        p.ef = ef;
        if (std::string err =
                Measure(*searcher, ds, nq, truth, ef, o.budget_1t, &p);
            !err.empty()) {
          std::cerr << "filtered_bench: " << p.library << ": " << err << "\n";
          return 1;
        }
        std::printf("%-22s ef=%-5d recall@10 %.4f  QPS 1T %10.1f\n",
                    p.library.c_str(), ef, p.recall10, p.qps);
        std::fflush(stdout);
        if (csv.is_open()) {
          csv << ds.name << "," << ds.n << "," << ds.dim << "," << o.m << ","
              << s << "," << allowed_ids.size() << ",\"" << p.library << "\","
              << ef << "," << p.recall10 << "," << p.qps << "\n";
        }
        points.push_back(p);
        if (p.recall10 >= 0.9995) break;
      }
    }
  }

  std::cout << "\n== Best QPS 1T at recall@10 >= threshold ==\n";
  std::printf("%-12s %-22s %12s %12s %12s\n", "selectivity", "library",
              ">=0.90", ">=0.95", ">=0.99");
  for (double s : o.selectivities) {
    std::vector<std::string> libs;
    for (const Point& p : points) {
      if (p.selectivity == s &&
          std::find(libs.begin(), libs.end(), p.library) == libs.end()) {
        libs.push_back(p.library);
      }
    }
    for (const std::string& lib : libs) {
      std::printf("%-12g %-22s", s, lib.c_str());
      for (double th : {0.90, 0.95, 0.99}) {
        double best = 0;
        int best_ef = 0;
        for (const Point& p : points) {
          if (p.selectivity == s && p.library == lib && p.recall10 >= th &&
              p.qps > best) {
            best = p.qps;
            best_ef = p.ef;
          }
        }
        if (best > 0) {
          std::printf(" %7.0f ef%-4d", best, best_ef);
        } else {
          std::printf(" %12s", "-");
        }
      }
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace
}  // namespace vindex::bench

int main(int argc, char** argv) { return vindex::bench::Main(argc, argv); }
