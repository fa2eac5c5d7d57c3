#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vindex/executor.h"

namespace vindex {
namespace {

// One ParallelFor call: tasks are claimed by index; the caller waits until
// every claimed task has finished. A task that throws stops the job: tasks
// not yet started are skipped (still counted as done), and the first
// exception is kept for the caller to rethrow.
struct Job {
  explicit Job(int64_t n, absl::FunctionRef<void(int64_t)> fn) : n(n), fn(fn) {}
  const int64_t n;
  absl::FunctionRef<void(int64_t)> fn;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable finished;
  std::exception_ptr error;  // Guarded by mu; set once.

  // Runs tasks until none are left to claim. Never throws.
  void Work() {
    int64_t ran = 0;
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          fn(i);
        } catch (...) {
          Fail(std::current_exception());
        }
      }
      ++ran;
    }
    if (ran > 0 && done.fetch_add(ran, std::memory_order_acq_rel) + ran == n) {
      std::lock_guard<std::mutex> lock(mu);
      finished.notify_all();
    }
  }

  void Fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu);
    if (error == nullptr) error = std::move(e);
    failed.store(true, std::memory_order_relaxed);
  }
};

}  // namespace

struct ThreadPool::State {
  int num_threads = 1;
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  bool stopping = false;
  std::vector<std::thread> workers;

  void WorkerLoop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping
        job = queue.front();
        // Leave the job queued while it still has unclaimed tasks so other
        // idle workers can join it.
        if (job->next.load(std::memory_order_relaxed) >= job->n) {
          queue.pop_front();
          continue;
        }
      }
      job->Work();
      std::lock_guard<std::mutex> lock(mu);
      if (!queue.empty() && queue.front() == job) queue.pop_front();
    }
  }
};

ThreadPool::ThreadPool(int num_threads) : state_(std::make_unique<State>()) {
  if (num_threads <= 0) {
    num_threads = std::max(1u, std::thread::hardware_concurrency());
  }
  state_->num_threads = num_threads;
  for (int i = 1; i < num_threads; ++i) {
    state_->workers.emplace_back([s = state_.get()] { s->WorkerLoop(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  for (auto& t : state_->workers) t.join();
}

int ThreadPool::num_threads() const { return state_->num_threads; }

void ThreadPool::ParallelFor(int64_t n, absl::FunctionRef<void(int64_t)> fn) {
  if (n <= 0) return;
  if (n == 1 || state_->workers.empty()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>(n, fn);
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->queue.push_back(job);
  }
  state_->wake.notify_all();
  job->Work();
  std::unique_lock<std::mutex> lock(job->mu);
  job->finished.wait(lock, [&] {
    return job->done.load(std::memory_order_acquire) == job->n;
  });
  // The job may still sit in the queue (all tasks claimed); workers drop it.
  if (job->error != nullptr) std::rethrow_exception(job->error);
}

}  // namespace vindex
