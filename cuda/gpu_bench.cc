// GPU micro-benchmark for cuda/device_check.sh: device copy bandwidth, GPU
// k-selection bandwidth (with agreement against the CPU top-k), bare tiled
// cuBLAS SGEMM, GPU Flat vs CPU Flat (QPS and agreement). Prints one short
// table. Exits 0 with a note when no GPU is usable.
//
//   vindex_gpu_bench [--small]   (--small: shapes a tenth of the targets)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/topk.h"
#include "cuda_status.h"
#include "gpu_context.h"
#include "index/gpu_factory.h"
#include "select_k.h"
#include "vindex/index.h"

namespace vindex::cuda {
namespace {

#define BENCH_CHECK(expr)                                                    \
  do {                                                                       \
    absl::Status s_ = (expr);                                                \
    if (!s_.ok()) {                                                          \
      std::fprintf(stderr, "FAILED %s: %s\n", #expr, s_.ToString().c_str()); \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)

std::vector<std::string> g_table;

void Row(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Row(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::printf("%s\n", buf);
  std::fflush(stdout);
  g_table.push_back(buf);
}

// Uniform floats in [-1, 1) from a hash of the index, filled in parallel.
void Fill(float* out, size_t n, uint64_t seed) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([=] {
      for (size_t i = t; i < n; i += threads) {
        uint64_t z = (i + seed * 0x9e3779b97f4a7c15ull) + 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        out[i] =
            static_cast<float>(z >> 40) / static_cast<float>(1 << 23) - 1.0f;
      }
    });
  }
  for (auto& th : pool) th.join();
}

// Median milliseconds of `reps` runs of fn on the context's stream.
template <typename Fn>
double TimeMs(GpuContext& ctx, int reps, Fn fn) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  fn();  // Warm-up.
  BENCH_CHECK(ctx.Synchronize());
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, ctx.stream());
    fn();
    cudaEventRecord(b, ctx.stream());
    cudaEventSynchronize(b);
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ms.push_back(t);
  }
  BENCH_CHECK(ctx.Synchronize());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double WallMs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

int Main(int argc, char** argv) {
  const bool small = argc > 1 && std::string(argv[1]) == "--small";
  if (CudaDeviceCount() == 0) {
    std::printf("no usable GPU: nothing to measure\n");
    return 0;
  }
  auto ctx_or = GpuContext::Default(0);
  BENCH_CHECK(ctx_or.status());
  GpuContext& ctx = **ctx_or;
  std::unique_lock<std::mutex> lock(ctx.mu());
  BENCH_CHECK(ctx.Activate());
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  Row("device: %s, %d SMs, %.0f GiB, cap %.0f GiB", prop.name,
      prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0,
      ctx.allocator().cap() / 1073741824.0);

  // 1. Device copy bandwidth (bytes read + written).
  const size_t copy_bytes = size_t{2} << 30;
  auto src = ctx.allocator().Allocate(copy_bytes);
  auto dst = ctx.allocator().Allocate(copy_bytes);
  BENCH_CHECK(src.status());
  BENCH_CHECK(dst.status());
  cudaMemsetAsync(src->get(), 1, copy_bytes, ctx.stream());
  const double copy_ms = TimeMs(ctx, 10, [&] {
    cudaMemcpyAsync(dst->get(), src->get(), copy_bytes,
                    cudaMemcpyDeviceToDevice, ctx.stream());
  });
  const double copy_gbs = 2.0 * copy_bytes / copy_ms / 1e6;
  Row("copy D2D 2 GiB (read+write)          %9.3f ms %8.0f GB/s", copy_ms,
      copy_gbs);
  *src = DeviceBuffer();
  *dst = DeviceBuffer();

  // 2. k-selection over rows x cols floats.
  const int64_t rows = 1000;
  const int64_t cols = small ? 100000 : 1000000;
  std::vector<float> host(static_cast<size_t>(rows * cols));
  Fill(host.data(), host.size(), 1);
  auto d_in = ctx.allocator().Allocate(host.size() * sizeof(float));
  BENCH_CHECK(d_in.status());
  BENCH_CHECK(CudaToStatus(
      cudaMemcpy(d_in->get(), host.data(), host.size() * sizeof(float),
                 cudaMemcpyHostToDevice),
      "upload", __FILE__, __LINE__));
  struct SelCase {
    int k;
    internal::GpuSelectAlgo algo;
    const char* name;
  };
  const SelCase cases[] = {{10, internal::GpuSelectAlgo::kAuto, "auto"},
                           {100, internal::GpuSelectAlgo::kAuto, "auto"},
                           {100, internal::GpuSelectAlgo::kRadix, "radix"},
                           {1024, internal::GpuSelectAlgo::kAuto, "auto"},
                           {4096, internal::GpuSelectAlgo::kAuto, "auto"}};
  for (const SelCase& c : cases) {
    auto od = ctx.allocator().Allocate(rows * c.k * sizeof(float));
    auto oi = ctx.allocator().Allocate(rows * c.k * sizeof(int32_t));
    BENCH_CHECK(od.status());
    BENCH_CHECK(oi.status());
    SelectKArgs args;
    args.dist = d_in->as<float>();
    args.rows = rows;
    args.cols = cols;
    args.ld = cols;
    args.k = c.k;
    absl::Status st;
    const double ms = TimeMs(ctx, 5, [&] {
      absl::Status s =
          SelectK(ctx, args, c.algo, od->as<float>(), oi->as<int32_t>());
      if (!s.ok()) st = s;
    });
    BENCH_CHECK(st);
    // Agreement on the first rows against the CPU top-k.
    const int check_rows = 8;
    std::vector<int32_t> gi(check_rows * c.k);
    std::vector<float> gd(check_rows * c.k);
    cudaMemcpy(gi.data(), oi->get(), gi.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(gd.data(), od->get(), gd.size() * 4, cudaMemcpyDeviceToHost);
    int agree = 0;
    std::vector<int64_t> ci(c.k);
    std::vector<float> cd(c.k);
    for (int r = 0; r < check_rows; ++r) {
      internal::SelectTopK(host.data() + r * cols, nullptr, cols, c.k,
                           ci.data(), cd.data());
      bool same = true;
      for (int j = 0; j < c.k; ++j) {
        same &= gi[r * c.k + j] == ci[j] && gd[r * c.k + j] == cd[j];
      }
      agree += same;
    }
    const double gbs = rows * cols * 4.0 / ms / 1e6;
    Row("select %lldx%lld k=%-4d %-5s          %9.3f ms %8.0f GB/s %4.0f%% "
        "of copy, rows equal to CPU %d/%d",
        static_cast<long long>(rows), static_cast<long long>(cols), c.k, c.name,
        ms, gbs, 100.0 * gbs / copy_gbs, agree, check_rows);
  }
  *d_in = DeviceBuffer();
  std::vector<float>().swap(host);

  // 3. Bare tiled SGEMM of nq x n x d (the GEMM work GPU Flat does).
  const int64_t n = small ? 100000 : 1000000;
  const int64_t nq = small ? 1000 : 10000;
  const int d = 128;
  std::vector<float> base(static_cast<size_t>(n * d));
  std::vector<float> queries(static_cast<size_t>(nq * d));
  Fill(base.data(), base.size(), 2);
  Fill(queries.data(), queries.size(), 3);
  {
    auto dx = ctx.allocator().Allocate(base.size() * 4);
    auto dq = ctx.allocator().Allocate(queries.size() * 4);
    BENCH_CHECK(dx.status());
    BENCH_CHECK(dq.status());
    cudaMemcpy(dx->get(), base.data(), base.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dq->get(), queries.data(), queries.size() * 4,
               cudaMemcpyHostToDevice);
    const int64_t qt = std::min<int64_t>(nq, 2048);
    const int64_t nt = std::min<int64_t>(n, 131072);
    auto dc = ctx.allocator().Allocate(qt * nt * 4);
    BENCH_CHECK(dc.status());
    const float alpha = -2.0f, beta = 0.0f;
    const double ms = TimeMs(ctx, 3, [&] {
      for (int64_t q0 = 0; q0 < nq; q0 += qt) {
        const int64_t m = std::min(qt, nq - q0);
        for (int64_t x0 = 0; x0 < n; x0 += nt) {
          const int64_t len = std::min(nt, n - x0);
          cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, len, m, d, &alpha,
                      dx->as<float>() + x0 * d, d, dq->as<float>() + q0 * d, d,
                      &beta, dc->as<float>(), len);
        }
      }
    });
    BENCH_CHECK(ctx.Synchronize());
    Row("sgemm tiles %lldx%lldx%d              %9.3f ms %8.1f TFLOP/s",
        static_cast<long long>(nq), static_cast<long long>(n), d, ms,
        2.0 * nq * n * d / ms / 1e9);
    g_table.push_back("@sgemm_ms=" + std::to_string(ms));
  }
  lock.unlock();  // The indexes below take the context lock themselves.

  // 4. GPU Flat vs CPU Flat.
  auto gpu = MakeIndex(FlatOptions{.dim = d, .device = Device::kGpu});
  auto cpu = MakeIndex(FlatOptions{.dim = d, .device = Device::kCpu});
  BENCH_CHECK(gpu.status());
  BENCH_CHECK(cpu.status());
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  BENCH_CHECK((*gpu)->Add(MatrixView<const float>(base.data(), n, d), ids));
  BENCH_CHECK((*cpu)->Add(MatrixView<const float>(base.data(), n, d), ids));
  const int k = 100;
  std::vector<int64_t> gids(nq * k);
  std::vector<float> gdist(nq * k);
  SearchOutput gout{MatrixView<int64_t>(gids.data(), nq, k),
                    MatrixView<float>(gdist.data(), nq, k)};
  MatrixView<const float> qv(queries.data(), nq, d);
  BENCH_CHECK((*gpu)->Search(qv, SearchParams{.k = k}, gout));  // Warm-up.
  std::vector<double> runs;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    BENCH_CHECK((*gpu)->Search(qv, SearchParams{.k = k}, gout));
    runs.push_back(WallMs(t0));
  }
  std::sort(runs.begin(), runs.end());
  const double gpu_ms = runs[1];
  double sgemm_ms = 0;
  for (auto& s : g_table) {
    if (s.rfind("@sgemm_ms=", 0) == 0) sgemm_ms = std::stod(s.substr(10));
  }
  Row("gpu flat %lldx%lldx%d k=%d (wall)     %9.3f ms %8.0f QPS, %.2fx bare "
      "sgemm",
      static_cast<long long>(nq), static_cast<long long>(n), d, k, gpu_ms,
      nq / gpu_ms * 1e3, gpu_ms / sgemm_ms);

  {
    // The same search with GEMM and selection in order on one stream.
    setenv("VINDEX_GPU_OVERLAP", "0", 1);
    std::vector<int64_t> sids(nq * k);
    std::vector<float> sdist(nq * k);
    SearchOutput sout{MatrixView<int64_t>(sids.data(), nq, k),
                      MatrixView<float>(sdist.data(), nq, k)};
    BENCH_CHECK((*gpu)->Search(qv, SearchParams{.k = k}, sout));
    auto t0 = std::chrono::steady_clock::now();
    BENCH_CHECK((*gpu)->Search(qv, SearchParams{.k = k}, sout));
    const double ms = WallMs(t0);
    unsetenv("VINDEX_GPU_OVERLAP");
    Row("gpu flat, no stream overlap (wall)   %9.3f ms %8.0f QPS, %.2fx bare "
        "sgemm, ids equal to overlapped run: %s",
        ms, nq / ms * 1e3, ms / sgemm_ms, sids == gids ? "yes" : "NO");
  }

  const int64_t cq = std::min<int64_t>(nq, 200);
  std::vector<int64_t> cids(cq * k);
  std::vector<float> cdist(cq * k);
  ThreadPool pool(0);
  auto t0 = std::chrono::steady_clock::now();
  BENCH_CHECK((*cpu)->Search(
      MatrixView<const float>(queries.data(), cq, d), SearchParams{.k = k},
      SearchOutput{MatrixView<int64_t>(cids.data(), cq, k),
                   MatrixView<float>(cdist.data(), cq, k)},
      &pool));
  const double cpu_ms = WallMs(t0);
  int64_t exact = 0, unexplained = 0;
  for (int64_t i = 0; i < cq * k; ++i) {
    if (gids[i] == cids[i]) {
      ++exact;
      continue;
    }
    const int j = i % k;
    const float tol = 1e-4f * (1 + std::abs(cdist[i]));
    const bool tie = (j > 0 && std::abs(cdist[i] - cdist[i - 1]) < tol) ||
                     (j + 1 < k && std::abs(cdist[i] - cdist[i + 1]) < tol);
    if (!tie) ++unexplained;
  }
  Row("cpu flat %lld queries, %d threads       %9.3f ms %8.0f QPS",
      static_cast<long long>(cq), pool.num_threads(), cpu_ms,
      cq / cpu_ms * 1e3);
  Row("gpu vs cpu flat (%lld queries x k=%d): %.2f%% ids equal, %lld "
      "mismatches not explained by near-ties",
      static_cast<long long>(cq), k, 100.0 * exact / (cq * k),
      static_cast<long long>(unexplained));

  std::printf("\n==== vindex GPU device check: summary ====\n");
  for (auto& s : g_table) {
    if (s[0] != '@') std::printf("%s\n", s.c_str());
  }
  return unexplained == 0 ? 0 : 2;
}

}  // namespace
}  // namespace vindex::cuda

int main(int argc, char** argv) { return vindex::cuda::Main(argc, argv); }
