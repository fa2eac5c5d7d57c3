// ann_bench's vindex contender: an Index built from a factory string, run
// through the same Contender interface as the reference libraries.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.h"
#include "vindex/vindex.h"

namespace vindex::bench {
namespace {

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

}  // namespace

std::unique_ptr<Contender> MakeVindexContender(const std::string& spec,
                                               std::unique_ptr<Index> index,
                                               int threads) {
  return std::make_unique<VindexContender>(spec, std::move(index), threads);
}

}  // namespace vindex::bench
