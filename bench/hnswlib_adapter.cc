// hnswlib as a reference contender for ann_bench (HNSW<M> specs only).
// hnswlib is header-only and chooses its SIMD path from this file's compile
// flags (bench/CMakeLists.txt gives this one file -mavx2 -mfma).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace vindex::bench {
namespace {

// Runs fn(i) for i in [0, n) on `threads` threads (the caller included).
template <typename Fn>
void RunParallel(int64_t n, int threads, Fn fn) {
  if (threads <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

class HnswlibContender final : public Contender {
 public:
  HnswlibContender(SpecInfo spec, int dim, bool ip) : spec_(spec), dim_(dim) {
    if (ip) {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
    } else {
      space_ = std::make_unique<hnswlib::L2Space>(dim);
    }
  }

  std::string library() const override { return HnswlibLabel(); }
  std::string method() const override {
    return "HierarchicalNSW(M=" + std::to_string(spec_.hnsw_m) +
           ",ef_construction=200)";
  }

  std::string Build(const Dataset& ds, int threads) override {
    try {
      index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
          space_.get(), ds.n, spec_.hnsw_m, 200, 100);
      const float* base = ds.base.data();
      const int dim = dim_;
      RunParallel(ds.n, threads, [&](int64_t i) {
        index_->addPoint(base + i * dim, static_cast<hnswlib::labeltype>(i));
      });
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  uint64_t memory_bytes() const override {
    if (!index_) return 0;
    uint64_t bytes = index_->max_elements_ * index_->size_data_per_element_;
    for (size_t i = 0; i < index_->cur_element_count; ++i) {
      bytes += static_cast<uint64_t>(index_->element_levels_[i]) *
               index_->size_links_per_element_;
    }
    return bytes;
  }

  void UseThreads(int threads) override { threads_ = threads; }

  std::string Search(const float* queries, int64_t nq, int k,
                     const Knobs& knobs, int64_t* ids) override {
    if (knobs.ef > 0) index_->setEf(knobs.ef);
    const int dim = dim_;
    RunParallel(nq, threads_, [&](int64_t q) {
      auto result = index_->searchKnn(queries + q * dim, k);
      int64_t* row = ids + q * k;
      std::fill(row, row + k, -1);
      // The queue pops the farthest first.
      int64_t pos = static_cast<int64_t>(result.size()) - 1;
      while (!result.empty()) {
        if (pos < k) row[pos] = static_cast<int64_t>(result.top().second);
        result.pop();
        --pos;
      }
    });
    return "";
  }

 private:
  SpecInfo spec_;
  int dim_;
  int threads_ = 1;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

}  // namespace

std::string HnswlibLabel() {
#if defined(VINDEX_BENCH_HNSWLIB_VERSION)
  std::string name = "hnswlib-" VINDEX_BENCH_HNSWLIB_VERSION;
#else
  std::string name = "hnswlib";
#endif
#if defined(USE_AVX512)
  return name + " [AVX512]";
#elif defined(USE_AVX)
  return name + " [AVX]";
#elif defined(USE_SSE)
  return name + " [SSE]";
#else
  return name + " [scalar]";
#endif
}

std::unique_ptr<Contender> MakeHnswlibContender(const std::string& spec,
                                                int dim, bool inner_product,
                                                std::string* why) {
  SpecInfo info = ParseSpec(spec, dim);
  if (info.family != SpecInfo::Family::kHnsw ||
      info.hnsw_traversal != HnswOptions::Traversal::kFloat) {
    *why = "hnswlib only has HNSW<M> (float)";
    return nullptr;
  }
  return std::make_unique<HnswlibContender>(info, dim, inner_product);
}

}  // namespace vindex::bench
