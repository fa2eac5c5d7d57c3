// Search latency while another thread removes from an HNSW graph: builds
// HNSW32 over the first N vectors, then one thread removes one id every
// 5 ms (100 calls) while another searches one query at a time (ef 32).
// Prints the Remove times and the searches' latency percentiles. Used for
// docs/choosing_an_index.md.
// Usage: remove_latency BASE.fvecs N
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "vindex/vector_files.h"
#include "vindex/vindex.h"

namespace {
using Clock = std::chrono::steady_clock;
double Micros(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto base = vindex::ReadFvecs(argv[1]);
  if (!base.ok()) return 1;
  const int64_t n = std::min<int64_t>(std::atoll(argv[2]), base->rows);
  const int dim = static_cast<int>(base->cols);
  const float* x = base->data.data();
  auto index = vindex::MakeIndex("HNSW32", dim, vindex::Metric::kL2);
  if (!index.ok()) return 1;
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  vindex::ThreadPool pool(2);
  if (!(*index)
           ->Add(vindex::MatrixView<const float>(x, n, dim), ids, &pool)
           .ok())
    return 1;

  std::atomic<bool> stop{false};
  std::vector<double> search_us;
  std::thread searcher([&] {
    int64_t out_ids[10];
    float out_d[10];
    for (int64_t q = 0; !stop.load(); ++q) {
      const float* v = x + (q * 7919 % n) * dim;
      const auto t = Clock::now();
      (void)(*index)->Search(
          vindex::MatrixView<const float>(v, 1, dim),
          vindex::SearchParams{.k = 10, .ef = 32},
          vindex::SearchOutput{vindex::MatrixView<int64_t>(out_ids, 1, 10),
                               vindex::MatrixView<float>(out_d, 1, 10)});
      search_us.push_back(Micros(t));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<double> remove_ms;
  for (int r = 0; r < 100; ++r) {
    const int64_t id = r * 977 % n;
    const auto t = Clock::now();
    if (!(*index)->Remove({id}).ok()) return 1;
    remove_ms.push_back(Micros(t) / 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  searcher.join();
  std::sort(remove_ms.begin(), remove_ms.end());
  std::sort(search_us.begin(), search_us.end());
  const size_t s = search_us.size();
  std::printf("remove ms: median %.2f max %.2f (100 calls, 1 id each)\n",
              remove_ms[50], remove_ms[99]);
  std::printf(
      "search us: %zu searches, p50 %.0f p99 %.0f p99.9 %.0f max %.0f\n", s,
      search_us[s / 2], search_us[s * 99 / 100], search_us[s * 999 / 1000],
      search_us[s - 1]);
  return 0;
}
