#ifndef VINDEX_EXECUTOR_H_
#define VINDEX_EXECUTOR_H_

#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"

namespace vindex {

// Where vindex runs parallel work. The library starts no threads of its own:
// every call that can use several threads takes an `Executor*`, and a null
// executor means "run on the calling thread only".
//
// Thread safety: implementations must allow ParallelFor to be called from
// several threads at once, and from inside a task it is running (nested
// calls must not deadlock).
// Exceptions: the tasks vindex passes to ParallelFor never throw (vindex
// catches inside each task and reports on the calling thread once
// ParallelFor has returned), so an Executor need not handle exceptions; it
// must not return before every task it started has finished.
class Executor {
 public:
  virtual ~Executor() = default;
  // How many tasks may run at once (used to size work splits).
  virtual int num_threads() const = 0;
  // Runs fn(i) for every i in [0, n), possibly in parallel, and returns when
  // all have finished. The calling thread may run some of the tasks.
  virtual void ParallelFor(int64_t n, absl::FunctionRef<void(int64_t)> fn) = 0;
};

// A fixed-size pool of worker threads. The thread calling ParallelFor takes
// part in the work, so ThreadPool(1) starts no thread at all and ThreadPool(n)
// starts n - 1 workers. If a task throws, ParallelFor starts no further
// task, waits for the running ones, and rethrows the first exception on the
// calling thread; a worker thread never ends the process.
// Thread safety: all methods may be called concurrently.
class ThreadPool final : public Executor {
 public:
  // num_threads <= 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int num_threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const override;
  void ParallelFor(int64_t n, absl::FunctionRef<void(int64_t)> fn) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vindex

#endif  // VINDEX_EXECUTOR_H_
