#ifndef VINDEX_SRC_CORE_PARALLEL_H_
#define VINDEX_SRC_CORE_PARALLEL_H_

#include <algorithm>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "vindex/executor.h"

namespace vindex::internal {

// Runs fn(i) for i in [0, n) on `executor`, or inline when it is null.
inline void ParallelFor(Executor* executor, int64_t n,
                        absl::FunctionRef<void(int64_t)> fn) {
  if (executor == nullptr || n <= 1 || executor->num_threads() <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  executor->ParallelFor(n, fn);
}

// Splits [0, n) into chunks of about `grain` items and runs
// fn(begin, end) per chunk on `executor`.
inline void ParallelForRange(Executor* executor, int64_t n, int64_t grain,
                             absl::FunctionRef<void(int64_t, int64_t)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t chunks = (n + grain - 1) / grain;
  ParallelFor(executor, chunks, [&](int64_t c) {
    int64_t begin = c * grain;
    fn(begin, std::min(n, begin + grain));
  });
}

inline int NumThreads(const Executor* executor) {
  return executor == nullptr ? 1 : std::max(1, executor->num_threads());
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_PARALLEL_H_
