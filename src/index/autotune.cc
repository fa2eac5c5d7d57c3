// Auto-tuning of search knobs (see vindex/tune.h).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "vindex/tune.h"

namespace vindex {
namespace {

// Which knobs an index has.
struct KnobSet {
  bool nprobe = false;  // IVF families.
  bool ef = false;      // HNSW.
  bool rerank = false;  // IVF-PQ with kept raw vectors.
  int nlist = 0;
};

KnobSet KnobsOf(const IndexInfo& info) {
  KnobSet s;
  switch (info.family) {
    case IndexFamily::kIvfFlat:
    case IndexFamily::kIvfPq: {
      s.nprobe = true;
      // The description starts "IVF<nlist>," (after "Rot," if rotated).
      std::string d = info.description;
      if (d.rfind("Rot,", 0) == 0) d.erase(0, 4);
      if (d.rfind("IVF", 0) == 0) s.nlist = std::atoi(d.c_str() + 3);
      s.rerank = info.family == IndexFamily::kIvfPq &&
                 d.find(",Rerank") != std::string::npos;
      break;
    }
    case IndexFamily::kHnsw:
      s.ef = true;
      break;
    case IndexFamily::kFlat:
    case IndexFamily::kRotated:
      break;
  }
  return s;
}

double Seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Tuner {
 public:
  Tuner(const Index& index, MatrixView<const float> queries,
        MatrixView<const int64_t> truth, const TuneOptions& options,
        Executor* executor)
      : index_(index),
        queries_(queries),
        truth_(truth),
        options_(options),
        executor_(executor),
        ids_(queries.rows * options.k),
        distances_(queries.rows * options.k) {}

  // Measures (or recalls) one setting.
  absl::StatusOr<TunePoint> Measure(int nprobe, int ef, int rerank) {
    auto key = std::make_tuple(nprobe, ef, rerank);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    TunePoint p;
    p.params.k = options_.k;
    p.params.nprobe = nprobe;
    p.params.ef = ef;
    p.params.rerank_factor = rerank;
    SearchOutput out{{ids_.data(), queries_.rows, options_.k},
                     {distances_.data(), queries_.rows, options_.k}};
    int64_t searched = 0;
    const double start = Seconds();
    double elapsed = 0;
    do {
      VINDEX_RETURN_IF_ERROR(index_.Search(queries_, p.params, out, executor_));
      searched += queries_.rows;
      elapsed = Seconds() - start;
    } while (elapsed < options_.min_seconds_per_point);
    p.qps = searched / std::max(elapsed, 1e-9);
    p.recall = RecallAtK(
        truth_,
        MatrixView<const int64_t>(ids_.data(), queries_.rows, options_.k),
        options_.k);
    tried_.push_back(p);
    cache_.emplace(key, p);
    return p;
  }

  // The smallest knob in [lo, hi] whose setting reaches the target (make(v)
  // measures knob value v), or the best-recall point if none does. Doubling
  // from lo, then bisection. The doubling gives up early on a plateau: when
  // two doublings together gained less than 0.001 recall.
  template <typename Make>
  absl::StatusOr<std::pair<TunePoint, bool>> Smallest(int lo, int hi,
                                                      Make make) {
    int fail = lo - 1;  // Largest knob known to miss the target.
    int pass = -1;      // Smallest knob known to reach it.
    TunePoint best_recall;
    best_recall.recall = -1;
    TunePoint pass_point;
    std::vector<double> recalls;
    for (int v = lo;; v = std::min(hi, v * 2)) {
      VINDEX_ASSIGN_OR_RETURN(TunePoint p, make(v));
      if (p.recall > best_recall.recall) best_recall = p;
      if (p.recall >= options_.target_recall) {
        pass = v;
        pass_point = p;
        break;
      }
      fail = v;
      recalls.push_back(p.recall);
      const size_t n = recalls.size();
      if (v >= hi || (n >= 3 && recalls[n - 1] - recalls[n - 3] < 0.001)) {
        break;
      }
    }
    if (pass < 0) return std::make_pair(best_recall, false);
    while (pass - fail > 1) {
      int mid = fail + (pass - fail) / 2;
      VINDEX_ASSIGN_OR_RETURN(TunePoint p, make(mid));
      if (p.recall >= options_.target_recall) {
        pass = mid;
        pass_point = p;
      } else {
        fail = mid;
      }
    }
    return std::make_pair(pass_point, true);
  }

  std::vector<TunePoint> TakeTried() { return std::move(tried_); }

 private:
  const Index& index_;
  MatrixView<const float> queries_;
  MatrixView<const int64_t> truth_;
  const TuneOptions& options_;
  Executor* executor_;
  std::vector<int64_t> ids_;
  std::vector<float> distances_;
  std::map<std::tuple<int, int, int>, TunePoint> cache_;
  std::vector<TunePoint> tried_;
};

}  // namespace

double RecallAtK(MatrixView<const int64_t> truth,
                 MatrixView<const int64_t> found, int k) {
  if (truth.rows == 0 || k <= 0) return 0;
  int64_t hits = 0;
  for (int64_t i = 0; i < truth.rows; ++i) {
    const int64_t* t = truth.row(i);
    const int64_t* f = found.row(i);
    for (int a = 0; a < k; ++a) {
      if (f[a] < 0) continue;
      for (int b = 0; b < k; ++b) {
        if (t[b] == f[a]) {
          ++hits;
          break;
        }
      }
    }
  }
  return static_cast<double>(hits) / (static_cast<double>(truth.rows) * k);
}

absl::StatusOr<Matrix<int64_t>> ExactNeighbors(
    MatrixView<const float> base, absl::Span<const int64_t> base_ids,
    MatrixView<const float> queries, int k, Metric metric, Executor* executor) {
  if (base.rows == 0) return absl::InvalidArgumentError("empty base vectors");
  if (!base_ids.empty() && static_cast<int64_t>(base_ids.size()) != base.rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(base_ids.size(), " base ids for ", base.rows, " vectors"));
  }
  VINDEX_ASSIGN_OR_RETURN(
      std::unique_ptr<Index> flat,
      MakeIndex("Flat", static_cast<int>(base.cols), metric));
  std::vector<int64_t> ids;
  if (base_ids.empty()) {
    ids.resize(base.rows);
    for (int64_t i = 0; i < base.rows; ++i) ids[i] = i;
    base_ids = ids;
  }
  VINDEX_RETURN_IF_ERROR(flat->Add(base, base_ids, executor));
  Matrix<int64_t> out;
  out.rows = queries.rows;
  out.cols = k;
  out.data.resize(queries.rows * k);
  std::vector<float> distances(queries.rows * k);
  SearchParams params;
  params.k = k;
  VINDEX_RETURN_IF_ERROR(flat->Search(
      queries, params,
      SearchOutput{out.mutable_view(), {distances.data(), queries.rows, k}},
      executor));
  return out;
}

std::string KnobsString(const Index& index, const SearchParams& params) {
  KnobSet s = KnobsOf(index.info());
  std::string out;
  // 0 asks for the index's default.
  auto value = [](int v) {
    return v == 0 ? std::string("default") : std::to_string(v);
  };
  if (s.nprobe) absl::StrAppend(&out, "nprobe=", value(params.nprobe));
  if (s.rerank) absl::StrAppend(&out, " rerank=", value(params.rerank_factor));
  if (s.ef) absl::StrAppend(&out, "ef=", value(params.ef));
  return out.empty() ? "-" : out;
}

absl::StatusOr<TuneResult> Tune(const Index& index,
                                MatrixView<const float> queries,
                                const TuneOptions& options,
                                Executor* executor) {
  if (options.k < 1) {
    return absl::InvalidArgumentError(absl::StrCat("k ", options.k, " < 1"));
  }
  if (!(options.target_recall > 0 && options.target_recall <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target recall ", options.target_recall, " is not in (0, 1]"));
  }
  if (queries.rows == 0) return absl::InvalidArgumentError("no sample queries");
  const IndexInfo info = index.info();
  if (queries.cols != info.dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("query dim ", queries.cols, " != index dim ", info.dim));
  }
  Matrix<int64_t> computed;
  MatrixView<const int64_t> truth = options.groundtruth;
  if (truth.rows == 0) {
    if (options.base.rows == 0) {
      return absl::InvalidArgumentError(
          "tuning needs ground truth or the base vectors");
    }
    VINDEX_ASSIGN_OR_RETURN(
        computed, ExactNeighbors(options.base, options.base_ids, queries,
                                 options.k, info.metric, executor));
    truth = computed.view();
  }
  if (truth.rows != queries.rows) {
    return absl::InvalidArgumentError(absl::StrCat("ground truth has ",
                                                   truth.rows, " rows for ",
                                                   queries.rows, " queries"));
  }
  if (truth.cols < options.k) {
    return absl::InvalidArgumentError(
        absl::StrCat("ground truth has ", truth.cols,
                     " neighbours per query, fewer than k ", options.k));
  }

  Tuner tuner(index, queries, truth, options, executor);
  const KnobSet knobs = KnobsOf(info);
  TuneResult result;
  if (knobs.ef) {
    const int hi =
        std::max(options.k, options.max_knob > 0 ? options.max_knob : 4096);
    VINDEX_ASSIGN_OR_RETURN(auto r, tuner.Smallest(options.k, hi, [&](int ef) {
      return tuner.Measure(0, ef, 0);
    }));
    result.best = r.first;
    result.reached = r.second;
  } else if (knobs.nprobe) {
    int hi = knobs.nlist > 0 ? knobs.nlist : 4096;
    if (options.max_knob > 0) hi = std::min(hi, options.max_knob);
    // Re-rank factors from the largest down: a smaller factor never needs
    // fewer lists, so each search starts at the previous factor's nprobe,
    // and once a factor misses the target all smaller ones would too.
    std::vector<int> reranks = {0};
    if (knobs.rerank) reranks = {16, 8, 4, 2, 1};
    int start = 1;
    for (const int rerank : reranks) {
      VINDEX_ASSIGN_OR_RETURN(auto r,
                              tuner.Smallest(start, hi, [&](int nprobe) {
                                return tuner.Measure(nprobe, 0, rerank);
                              }));
      if (!r.second) {
        if (!result.reached) result.best = r.first;
        break;
      }
      if (!result.reached || r.first.qps > result.best.qps) {
        result.best = r.first;
        result.reached = true;
      }
      start = r.first.params.nprobe;
    }
  } else {
    VINDEX_ASSIGN_OR_RETURN(result.best, tuner.Measure(0, 0, 0));
    result.reached = result.best.recall >= options.target_recall;
  }
  result.tried = tuner.TakeTried();
  return result;
}

}  // namespace vindex
