#include <atomic>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "vindex/executor.h"

namespace vindex {
namespace {

TEST(ThreadPool, RunsEveryTaskOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.num_threads(), 4);
  std::vector<std::atomic<int>> hits(1000);
  pool.ParallelFor(1000, [&](int64_t i) { hits[i]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  pool.ParallelFor(0, [&](int64_t) { FAIL(); });
}

TEST(ThreadPool, NestedAndConcurrentCallsDoNotDeadlock) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      pool.ParallelFor(20, [&](int64_t i) {
        pool.ParallelFor(10, [&](int64_t j) { sum += i * 10 + j; });
      });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), 3 * (199 * 200 / 2));
}

TEST(ThreadPool, SingleThreadPoolRunsInline) {
  ThreadPool pool(1);
  const auto caller = std::this_thread::get_id();
  pool.ParallelFor(
      5, [&](int64_t) { EXPECT_EQ(std::this_thread::get_id(), caller); });
}

// A task that throws on a worker thread must not end the process: the
// exception comes back on the caller once the job is done.
TEST(ThreadPool, WorkerExceptionIsRethrownOnTheCaller) {
  ThreadPool pool(4);
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> worker_threw{false};
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.ParallelFor(64,
                                [&](int64_t) {
                                  ran++;
                                  if (std::this_thread::get_id() != caller) {
                                    worker_threw = true;
                                    throw std::bad_alloc();
                                  }
                                  // The caller waits in its task until a
                                  // worker has thrown.
                                  while (!worker_threw)
                                    std::this_thread::yield();
                                }),
               std::bad_alloc);
  EXPECT_TRUE(worker_threw.load());
  // Tasks not yet started are skipped once the failure is recorded; how many
  // that is depends on scheduling, so only the bound is checked.
  EXPECT_LE(ran.load(), 64);
  // The pool is still usable.
  std::atomic<int> after{0};
  pool.ParallelFor(100, [&](int64_t) { after++; });
  EXPECT_EQ(after.load(), 100);
}

// When the caller's own task throws, ParallelFor still waits for the tasks
// running on workers (they use the caller's stack) before rethrowing.
TEST(ThreadPool, CallerExceptionWaitsForRunningTasks) {
  ThreadPool pool(3);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> active{0};
  std::atomic<bool> worker_started{false};
  std::atomic<bool> caller_threw{false};
  try {
    pool.ParallelFor(8, [&](int64_t) {
      active++;
      if (std::this_thread::get_id() == caller) {
        while (!worker_started) std::this_thread::yield();
        caller_threw = true;
        active--;
        throw std::runtime_error("caller task failed");
      }
      worker_started = true;
      while (!caller_threw) std::this_thread::yield();
      // Still running well after the caller's task threw.
      for (int i = 0; i < 2000; ++i) std::this_thread::yield();
      active--;
    });
    ADD_FAILURE() << "ParallelFor did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "caller task failed");
  }
  EXPECT_EQ(active.load(), 0) << "ParallelFor returned while tasks ran";
}

}  // namespace
}  // namespace vindex
