// FAISS as a reference contender for ann_bench: the FAISS index equivalent to
// each vindex factory spec, built and searched with the same parameters.
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexRefine.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/utils/utils.h>
#include <omp.h>

#include <exception>
#include <memory>
#include <string>

#include "bench_common.h"

namespace vindex::bench {
namespace {

#if FAISS_VERSION_MAJOR == 1 && FAISS_VERSION_MINOR == 7 && \
    FAISS_VERSION_PATCH <= 3
using FaissIdx = faiss::Index::idx_t;
#else
using FaissIdx = faiss::idx_t;
#endif

class FaissContender final : public Contender {
 public:
  FaissContender(SpecInfo spec, int dim, bool ip)
      : spec_(spec),
        dim_(dim),
        metric_(ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2) {}

  std::string library() const override { return FaissLabel(); }
  std::string method() const override { return method_; }

  std::string Build(const Dataset& ds, int threads) override {
    try {
      Create();
      omp_set_num_threads(threads);
      SetBlasThreads(threads);
      faiss::Index* top = refine_ ? refine_.get() : base_.get();
      const double t0 = WallSeconds();
      if (!top->is_trained) top->train(ds.n, ds.base.data());
      train_s_ = WallSeconds() - t0;
      top->add(ds.n, ds.base.data());
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  uint64_t memory_bytes() const override {
    try {
      faiss::VectorIOWriter w;
      faiss::write_index(refine_ ? refine_.get() : base_.get(), &w);
      return w.data.size();
    } catch (const std::exception&) {
      return 0;
    }
  }

  double train_seconds() const override { return train_s_; }

  void UseThreads(int threads) override {
    omp_set_num_threads(threads);
    SetBlasThreads(threads);
  }

  std::string Search(const float* queries, int64_t nq, int k,
                     const Knobs& knobs, int64_t* ids) override {
    try {
      if (ivf_ != nullptr && knobs.nprobe > 0) {
        ivf_->nprobe = std::min<size_t>(knobs.nprobe, ivf_->nlist);
      }
      if (hnsw_ != nullptr && knobs.ef > 0) hnsw_->hnsw.efSearch = knobs.ef;
      faiss::Index* index = base_.get();
      if (refine_ != nullptr && knobs.rerank > 0) {
        refine_->k_factor = static_cast<float>(knobs.rerank);
        index = refine_.get();
      }
      distances_.resize(static_cast<size_t>(nq) * k);
      static_assert(sizeof(FaissIdx) == sizeof(int64_t));
      index->search(nq, queries, k, distances_.data(),
                    reinterpret_cast<FaissIdx*>(ids));
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

 private:
  void Create() {
    using F = SpecInfo::Family;
    switch (spec_.family) {
      case F::kFlat:
        if (metric_ == faiss::METRIC_L2) {
          base_ = std::make_unique<faiss::IndexFlatL2>(dim_);
          method_ = "IndexFlatL2";
        } else {
          base_ = std::make_unique<faiss::IndexFlatIP>(dim_);
          method_ = "IndexFlatIP";
        }
        break;
      case F::kIvfFlat: {
        quantizer_ = MakeQuantizer();
        auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer_.get(), dim_,
                                                         spec_.nlist, metric_);
        method_ = "IndexIVFFlat(nlist=" + std::to_string(spec_.nlist) + ")";
        ivf_ = ivf.get();
        base_ = std::move(ivf);
        break;
      }
      case F::kIvfPq: {
        quantizer_ = MakeQuantizer();
        if (spec_.pq_bits == 4) {
          auto ivf = std::make_unique<faiss::IndexIVFPQFastScan>(
              quantizer_.get(), dim_, spec_.nlist, spec_.pq_m, 4, metric_, 32);
          method_ = "IndexIVFPQFastScan(nlist=" + std::to_string(spec_.nlist) +
                    ",M=" + std::to_string(spec_.pq_m) + ",nbits=4,bbs=32)";
          ivf_ = ivf.get();
          base_ = std::move(ivf);
        } else {
          auto ivf = std::make_unique<faiss::IndexIVFPQ>(
              quantizer_.get(), dim_, spec_.nlist, spec_.pq_m, 8, metric_);
          method_ = "IndexIVFPQ(nlist=" + std::to_string(spec_.nlist) +
                    ",M=" + std::to_string(spec_.pq_m) + ",nbits=8)";
          ivf_ = ivf.get();
          base_ = std::move(ivf);
        }
        break;
      }
      case F::kHnsw:
        if (spec_.hnsw_traversal != HnswOptions::Traversal::kFloat) {
          const HnswOptions::Traversal t = spec_.hnsw_traversal;
          const bool sq8 = t == HnswOptions::Traversal::kSq8;
          const bool sq4 = t == HnswOptions::Traversal::kSq4;
          auto h = std::make_unique<faiss::IndexHNSWSQ>(
              dim_,
              sq8   ? faiss::ScalarQuantizer::QT_8bit
              : sq4 ? faiss::ScalarQuantizer::QT_4bit
                    : faiss::ScalarQuantizer::QT_fp16,
              spec_.hnsw_m, metric_);
          method_ = "IndexHNSWSQ(M=" + std::to_string(spec_.hnsw_m) +
                    (sq8   ? ",QT_8bit"
                     : sq4 ? ",QT_4bit"
                           : ",QT_fp16") +
                    ",efConstruction=200)";
          hnsw_ = h.get();
          base_ = std::move(h);
        } else {
          auto h = std::make_unique<faiss::IndexHNSWFlat>(dim_, spec_.hnsw_m,
                                                          metric_);
          method_ = "IndexHNSWFlat(M=" + std::to_string(spec_.hnsw_m) +
                    ",efConstruction=200)";
          hnsw_ = h.get();
          base_ = std::move(h);
        }
        hnsw_->hnsw.efConstruction = 200;
        break;
      case F::kUnknown:
        throw std::runtime_error("spec has no FAISS equivalent");
    }
    if (ivf_ != nullptr) {
      // FAISS defaults except: 10 k-means iterations and the training sample
      // capped at nlist * 256 points, as vindex's IVF options.
      ivf_->cp.niter = 10;
      ivf_->cp.max_points_per_centroid = 256;
    }
    // The PQ codebooks too: 10 iterations, as vindex's kmeans_iterations
    // (FAISS's default is 25); both cap the sample at 256 points per centroid.
    if (auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(ivf_)) pq->pq.cp.niter = 10;
    if (auto* pq = dynamic_cast<faiss::IndexIVFPQFastScan*>(ivf_))
      pq->pq.cp.niter = 10;
    if (spec_.rerank) {
      refine_ = std::make_unique<faiss::IndexRefineFlat>(base_.get());
      method_ += "+IndexRefineFlat";
    }
  }

  std::unique_ptr<faiss::Index> MakeQuantizer() const {
    if (metric_ == faiss::METRIC_L2) {
      return std::make_unique<faiss::IndexFlatL2>(dim_);
    }
    return std::make_unique<faiss::IndexFlatIP>(dim_);
  }

  SpecInfo spec_;
  int dim_;
  faiss::MetricType metric_;
  std::string method_;
  // Destroyed in reverse order: refine_ (refers to base_), base_ (refers to
  // quantizer_), quantizer_.
  std::unique_ptr<faiss::Index> quantizer_;
  std::unique_ptr<faiss::Index> base_;
  std::unique_ptr<faiss::IndexRefineFlat> refine_;
  faiss::IndexIVF* ivf_ = nullptr;
  faiss::IndexHNSW* hnsw_ = nullptr;
  std::vector<float> distances_;
  double train_s_ = -1;
};

}  // namespace

std::string FaissLabel() {
  std::string options = faiss::get_compile_options();
  while (!options.empty() && options.back() == ' ') options.pop_back();
  return "faiss-" + std::to_string(FAISS_VERSION_MAJOR) + "." +
         std::to_string(FAISS_VERSION_MINOR) + "." +
         std::to_string(FAISS_VERSION_PATCH) + " [" + options + "]";
}

std::unique_ptr<Contender> MakeFaissContender(const std::string& spec, int dim,
                                              bool inner_product,
                                              std::string* why) {
  SpecInfo info = ParseSpec(spec, dim);
  if (info.family == SpecInfo::Family::kUnknown) {
    *why = "no FAISS equivalent of \"" + spec + "\"";
    return nullptr;
  }
  return std::make_unique<FaissContender>(info, dim, inner_product);
}

}  // namespace vindex::bench
