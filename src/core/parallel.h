#ifndef VINDEX_SRC_CORE_PARALLEL_H_
#define VINDEX_SRC_CORE_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <utility>

#include "absl/functional/function_ref.h"
#include "core/call_guard.h"
#include "vindex/executor.h"

namespace vindex::internal {

// The first exception thrown by the tasks of one ParallelFor call.
class FirstTaskError {
 public:
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void Record(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_ == nullptr) error_ = std::move(e);
    failed_.store(true, std::memory_order_relaxed);
  }
  // Call after every task has finished.
  void RethrowIfAny() {
    if (error_ != nullptr) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::exception_ptr error_;
};

// Runs fn(i) for i in [0, n) on `executor`, or inline when it is null. If a
// task throws, tasks not yet started are skipped and the first exception is
// rethrown here once the executor has returned, so an executor never sees
// an exception and no task outlives this call. Tasks count as inside the
// caller's index calls (see call_guard.h).
inline void ParallelFor(Executor* executor, int64_t n,
                        absl::FunctionRef<void(int64_t)> fn) {
  if (executor == nullptr || n <= 1 || executor->num_threads() <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  FirstTaskError error;
  const CallFrame* frames = CurrentCallFrames();
  executor->ParallelFor(n, [&](int64_t i) {
    if (error.failed()) return;
    AdoptCallFrames adopt(frames);
    try {
      fn(i);
    } catch (...) {
      error.Record(std::current_exception());
    }
  });
  error.RethrowIfAny();
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
