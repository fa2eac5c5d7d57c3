// kernels_bench: Google Benchmark micro-benchmarks of vindex's CPU kernels
// on every ISA this machine has, next to the machine's ceilings (memory read
// bandwidth, SGEMM GFLOP/s), plus the measurements behind two constants:
// kGemmMinQueries (brute_force.h: scan vs GEMM by batch size) and kHeapMaxK
// (topk.h: heap vs threshold buffer by k).
//
// Every throughput benchmark reports "B/s" in decimal units (1 GB/s = 1e9
// bytes/s) so it can be read against BM_MemRead directly; Google Benchmark's
// own bytes_per_second column is in binary units.
//
// Useful filters: --benchmark_filter='MemRead|Rows/.*/256MiB' (bandwidth),
// 'BruteForce' (kGemmMinQueries), 'TopK' (kHeapMaxK), 'Sgemm', 'SqU4' (the
// 4-bit codes of the HNSW walk).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/topk.h"
#include "index/brute_force.h"
#include "kernels/kernels.h"
#include "kernels/sq_kernels.h"
#include "linalg/gemm.h"
#include "machine_ceiling.h"
#include "vindex/executor.h"

namespace vindex::bench {
namespace {

using kernels::Isa;
using kernels::KernelTable;

constexpr size_t kMiB = size_t{1} << 20;

std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = 0.0f,
                                float hi = 1.0f) {
  std::vector<float> v(n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (auto& x : v) x = u(rng);
  return v;
}

// One 256 MiB block of random floats shared by the row benchmarks (the
// in-cache sizes use its first bytes).
const std::vector<float>& BigRows() {
  static const std::vector<float>* rows =
      new std::vector<float>(RandomFloats(256 * kMiB / sizeof(float), 1));
  return *rows;
}

void SetDecimalBytes(benchmark::State& state, double bytes_per_iter) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter) *
                          state.iterations());
  state.counters["B/s"] = benchmark::Counter(
      bytes_per_iter, benchmark::Counter::kIsIterationInvariantRate);
}

// ------------------------------------------------------------- the kernels

void BM_Pair(benchmark::State& state, const KernelTable* kt, bool l2,
             size_t d) {
  std::vector<float> a = RandomFloats(d, 2), b = RandomFloats(d, 3);
  for (auto _ : state) {
    float r = l2 ? kt->l2_sqr(a.data(), b.data(), d)
                 : kt->inner_product(a.data(), b.data(), d);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  SetDecimalBytes(state, 2.0 * d * sizeof(float));
}

// The 4-bit walk's kernels (HNSW `SQ4`): one query against 4096 packed
// codes of d dimensions, 64-byte aligned as in the graph's blocks (1.8 MB at
// 784-d: in cache, so this times the arithmetic, not memory).
void BM_SqU4(benchmark::State& state, const kernels::SqKernelTable* kt, bool l2,
             size_t d) {
  const size_t p = (d + 1) / 2, stride = (p + 63) / 64 * 64, n = 4096;
  std::vector<uint8_t> codes(n * stride), q(2 * p);
  std::mt19937 rng(5);
  for (auto& c : codes) c = static_cast<uint8_t>(rng());
  for (auto& c : q) c = static_cast<uint8_t>(rng() & (l2 ? 15 : 255));
  for (auto _ : state) {
    uint32_t s = 0;
    for (size_t i = 0; i < n; ++i) {
      s += l2 ? kt->l2_sqr_u4(q.data(), codes.data() + i * stride, p)
              : kt->dot_u8_u4(q.data(), codes.data() + i * stride, p);
    }
    benchmark::DoNotOptimize(s);
  }
  state.counters["ns/code"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
  SetDecimalBytes(state, static_cast<double>(n * p));
}

void BM_Rows(benchmark::State& state, const KernelTable* kt, bool l2, size_t d,
             size_t bytes) {
  const std::vector<float>& rows = BigRows();
  const size_t n = bytes / (d * sizeof(float));
  std::vector<float> q = RandomFloats(d, 4), out(n);
  for (auto _ : state) {
    if (l2) {
      kt->l2_sqr_rows(q.data(), rows.data(), n, d, d, out.data());
    } else {
      kt->inner_product_rows(q.data(), rows.data(), n, d, d, out.data());
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetDecimalBytes(state, static_cast<double>(n) * d * sizeof(float));
  state.counters["rows/s"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_L2FromIp(benchmark::State& state, const KernelTable* kt, size_t n) {
  std::vector<float> ip = RandomFloats(n, 5), norms = RandomFloats(n, 6),
                     out(n);
  for (auto _ : state) {
    kt->l2_from_ip(ip.data(), norms.data(), 0.5f, n, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  // Reads ip and norms, writes out.
  SetDecimalBytes(state, 3.0 * n * sizeof(float));
}

void BM_ThresholdFilter(benchmark::State& state, const KernelTable* kt,
                        size_t n, float pass_fraction) {
  std::vector<float> dist = RandomFloats(n, 7);
  std::vector<uint32_t> idx(n);
  size_t m = 0;
  for (auto _ : state) {
    m = kt->threshold_filter(dist.data(), n, pass_fraction, idx.data());
    benchmark::DoNotOptimize(m);
    benchmark::ClobberMemory();
  }
  SetDecimalBytes(state, static_cast<double>(n) * sizeof(float));
  state.counters["passed"] = static_cast<double>(m);
}

// --------------------------------------------------------------- ceilings

void BM_MemRead(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const size_t bytes = 512 * kMiB;
  const size_t words = bytes / sizeof(uint64_t);
  static std::vector<uint64_t>* buf = [&] {
    auto* v = new std::vector<uint64_t>(words);
    for (size_t i = 0; i < words; ++i) (*v)[i] = i;
    return v;
  }();
  std::vector<uint64_t> sums(threads);
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back([&, t] {
        size_t b = words * t / threads, e = words * (t + 1) / threads;
        sums[t] = SumWords(buf->data() + b, e - b);
      });
    }
    sums[0] = SumWords(buf->data(), words / threads);
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sums.data());
  }
  SetDecimalBytes(state, static_cast<double>(bytes));
}

// C[m x n] = A[m x k] B[n x k]^T through vindex's GEMM wrapper, one thread.
void BM_Sgemm(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  std::vector<float> a = RandomFloats(m * k, 8, -1, 1),
                     b = RandomFloats(n * k, 9, -1, 1), c(m * n);
  for (auto _ : state) {
    linalg::GemmABt(a.data(), m, k, b.data(), n, k, k, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = benchmark::Counter(
      2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate);
}

// -------------------------------------- BruteForceKnn: scan vs GEMM by nq

struct BruteForceData {
  int64_t n = 260000;
  int64_t d = 128;
  std::vector<float> rows;
  std::vector<float> norms;
  std::vector<float> queries;
};

const BruteForceData& SiftLike() {
  static const BruteForceData* data = [] {
    auto* b = new BruteForceData;
    // Integer-valued 0..127 components, like SIFT descriptors.
    std::mt19937 rng(10);
    std::uniform_int_distribution<int> u(0, 127);
    b->rows.resize(b->n * b->d);
    for (auto& x : b->rows) x = static_cast<float>(u(rng));
    b->queries.resize(64 * b->d);
    for (auto& x : b->queries) x = static_cast<float>(u(rng));
    b->norms.resize(b->n);
    linalg::RowSquaredNorms(b->rows.data(), b->n, b->d, b->d, b->norms.data());
    return b;
  }();
  return *data;
}

void BM_BruteForce(benchmark::State& state) {
  const int64_t nq = state.range(0);
  const int force_gemm = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  const BruteForceData& data = SiftLike();
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  internal::BruteForceRows rows;
  rows.data = data.rows.data();
  rows.rows = data.n;
  rows.dim = data.d;
  rows.stride = data.d;
  rows.sq_norms = data.norms.data();
  const int k = 10;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> scores(nq * k);
  internal::BruteForceOutput out{ids.data(), k, scores.data(), k};
  MatrixView<const float> q(data.queries.data(), nq, data.d);
  for (auto _ : state) {
    internal::BruteForceKnn(rows, internal::Score::kL2, q, k, out, pool.get(),
                            force_gemm);
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["QPS"] = benchmark::Counter(
      static_cast<double>(nq), benchmark::Counter::kIsIterationInvariantRate);
  SetDecimalBytes(state, static_cast<double>(data.n) * data.d * sizeof(float));
}

// ---------------------------------------------- TopK: heap vs buffer by k
//
// The two strategies of internal::TopK, written out here so each can run at
// every k (TopK itself picks one by kHeapMaxK). Both see the candidates the
// way the scans feed them: blocks of 1024 distances through the SIMD
// threshold filter.

struct Cand {
  float d;
  int64_t id;
  bool operator<(const Cand& o) const {
    return d < o.d || (d == o.d && id < o.id);
  }
};

class HeapSelect {
 public:
  explicit HeapSelect(int k) : k_(k) { h_.reserve(k); }
  float threshold() const { return thr_; }
  void Push(float d, int64_t id) {
    if (d > thr_) return;
    Cand c{d, id};
    if (h_.size() < static_cast<size_t>(k_)) {
      h_.push_back(c);
      std::push_heap(h_.begin(), h_.end());
      if (h_.size() == static_cast<size_t>(k_)) thr_ = h_.front().d;
      return;
    }
    if (!(c < h_.front())) return;
    std::pop_heap(h_.begin(), h_.end());
    h_.back() = c;
    std::push_heap(h_.begin(), h_.end());
    thr_ = h_.front().d;
  }
  void Finish(int64_t* ids) {
    std::sort(h_.begin(), h_.end());
    for (size_t i = 0; i < h_.size(); ++i) ids[i] = h_[i].id;
    h_.clear();
    thr_ = std::numeric_limits<float>::infinity();
  }

 private:
  int k_;
  float thr_ = std::numeric_limits<float>::infinity();
  std::vector<Cand> h_;
};

class BufferSelect {
 public:
  explicit BufferSelect(int k) : k_(k) { b_.reserve(2 * k); }
  float threshold() const { return thr_; }
  void Push(float d, int64_t id) {
    if (d > thr_) return;
    b_.push_back(Cand{d, id});
    if (b_.size() >= 2 * static_cast<size_t>(k_)) Compact();
  }
  void Finish(int64_t* ids) {
    if (b_.size() > static_cast<size_t>(k_)) Compact();
    std::sort(b_.begin(), b_.end());
    for (size_t i = 0; i < b_.size(); ++i) ids[i] = b_[i].id;
    b_.clear();
    thr_ = std::numeric_limits<float>::infinity();
  }

 private:
  void Compact() {
    auto kth = b_.begin() + (k_ - 1);
    std::nth_element(b_.begin(), kth, b_.end());
    b_.resize(k_);
    thr_ = kth->d;
  }
  int k_;
  float thr_ = std::numeric_limits<float>::infinity();
  std::vector<Cand> b_;
};

constexpr size_t kTopKBlock = 1024;

template <typename Select>
void RunSelect(const KernelTable& kt, const std::vector<float>& dist, int k,
               std::vector<uint32_t>& scratch, std::vector<int64_t>& ids) {
  Select sel(k);
  for (size_t b0 = 0; b0 < dist.size(); b0 += kTopKBlock) {
    const size_t bn = std::min(kTopKBlock, dist.size() - b0);
    const float* d = dist.data() + b0;
    size_t m = kt.threshold_filter(d, bn, sel.threshold(), scratch.data());
    for (size_t j = 0; j < m; ++j) {
      uint32_t i = scratch[j];
      sel.Push(d[i], static_cast<int64_t>(b0 + i));
    }
  }
  sel.Finish(ids.data());
}

// mode 0: heap, 1: buffer, 2: internal::TopK as built (kHeapMaxK decides).
// order 0: random distances (few candidates pass the filter once the top-k
// fills, as in a long scan); 1: decreasing distances (every candidate
// enters, the worst case, as when many short lists are scanned).
void BM_TopK(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const int mode = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(state.range(2));
  const int order = static_cast<int>(state.range(3));
  const KernelTable& kt = kernels::Active();
  std::vector<float> dist = RandomFloats(n, 11);
  if (order == 1) std::sort(dist.begin(), dist.end(), std::greater<float>());
  std::vector<uint32_t> scratch(kTopKBlock);
  std::vector<int64_t> ids(k);
  std::vector<float> out_d(k);
  for (auto _ : state) {
    if (mode == 0) {
      RunSelect<HeapSelect>(kt, dist, k, scratch, ids);
    } else if (mode == 1) {
      RunSelect<BufferSelect>(kt, dist, k, scratch, ids);
    } else {
      internal::TopK top(k);
      for (size_t b0 = 0; b0 < n; b0 += kTopKBlock) {
        const size_t bn = std::min(kTopKBlock, n - b0);
        top.PushBlock(kt, dist.data() + b0, bn, scratch.data(),
                      [&](uint32_t i) { return static_cast<int64_t>(b0 + i); });
      }
      top.Finish(ids.data(), out_d.data());
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["cand/s"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

// ------------------------------------------------------------ registration

std::string SizeName(size_t bytes) {
  if (bytes >= kMiB) return std::to_string(bytes / kMiB) + "MiB";
  return std::to_string(bytes >> 10) + "KiB";
}

void RegisterAll() {
  const size_t dims[] = {128, 512, 784};
  const size_t row_bytes[] = {256 << 10, 4 * kMiB, 256 * kMiB};
  for (Isa isa : kernels::kIsas) {
    const KernelTable* kt = kernels::Select<KernelTable>(kernels::IsaBit(isa));
    if (kt == nullptr) continue;
    const std::string is(kernels::IsaName(isa));
    for (bool l2 : {true, false}) {
      for (size_t d : dims) {
        benchmark::RegisterBenchmark(
            ((l2 ? "BM_l2_sqr/" : "BM_inner_product/") + is +
             "/d:" + std::to_string(d))
                .c_str(),
            BM_Pair, kt, l2, d);
      }
    }
    for (bool l2 : {true, false}) {
      for (size_t d : dims) {
        for (size_t bytes : row_bytes) {
          benchmark::RegisterBenchmark(
              ((l2 ? "BM_l2_sqr_rows/" : "BM_inner_product_rows/") + is +
               "/d:" + std::to_string(d) + "/" + SizeName(bytes))
                  .c_str(),
              BM_Rows, kt, l2, d, bytes);
        }
      }
    }
    const kernels::SqKernelTable* sq =
        kernels::Select<kernels::SqKernelTable>(kernels::IsaBit(isa));
    for (bool l2 : {true, false}) {
      for (size_t d : {size_t{128}, size_t{784}}) {
        if (sq == nullptr) continue;
        benchmark::RegisterBenchmark(
            ((l2 ? "BM_SqU4/l2_sqr_u4/" : "BM_SqU4/dot_u8_u4/") + is +
             "/d:" + std::to_string(d))
                .c_str(),
            BM_SqU4, sq, l2, d);
      }
    }
    for (size_t n : {size_t{1024}, size_t{16} << 20}) {
      benchmark::RegisterBenchmark(
          ("BM_l2_from_ip/" + is + "/n:" + std::to_string(n)).c_str(),
          BM_L2FromIp, kt, n);
      for (float pass : {0.01f, 0.5f}) {
        benchmark::RegisterBenchmark(
            ("BM_threshold_filter/" + is + "/n:" + std::to_string(n) +
             "/pass:" + std::to_string(static_cast<int>(pass * 100)) + "%")
                .c_str(),
            BM_ThresholdFilter, kt, n, pass);
      }
    }
  }
  benchmark::RegisterBenchmark("BM_MemRead/512MiB/threads", BM_MemRead)
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Sgemm/m_n_k", BM_Sgemm)
      ->Args({128, 1024, 128})
      ->Args({128, 1024, 512})
      ->Args({128, 1024, 784})
      ->Args({1024, 1024, 128})
      ->Unit(benchmark::kMicrosecond);
  // nq x path(0 scan, 1 gemm) x threads, on 260k x 128. One thread is timed
  // by CPU time (robust to other load on the machine); two by wall time.
  auto* bf1 = benchmark::RegisterBenchmark("BM_BruteForce/nq_gemm_threads",
                                           BM_BruteForce);
  auto* bf2 = benchmark::RegisterBenchmark("BM_BruteForce/nq_gemm_threads",
                                           BM_BruteForce);
  for (int nq : {1, 2, 4, 8, 16, 32}) {
    for (int g : {0, 1}) {
      bf1->Args({nq, g, 1});
      bf2->Args({nq, g, 2});
    }
  }
  bf1->Unit(benchmark::kMillisecond);
  bf2->UseRealTime()->Unit(benchmark::kMillisecond);
  // k x mode(0 heap, 1 buffer, 2 TopK as built) x candidates x order.
  auto* tk = benchmark::RegisterBenchmark("BM_TopK/k_mode_n_order", BM_TopK);
  for (auto [n, order] :
       {std::pair{1 << 20, 0}, std::pair{1 << 14, 0}, std::pair{1 << 14, 1}}) {
    for (int k : {10, 100, 128, 256, 1000}) {
      for (int mode : {0, 1, 2}) tk->Args({k, mode, n, order});
    }
  }
  tk->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace vindex::bench

int main(int argc, char** argv) {
  vindex::bench::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
