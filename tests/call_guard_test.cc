// What reaches the caller when something inside a call fails in a way no
// Status check can see: an exception from user code (a filter predicate),
// memory running out, a k too large to allocate for, a predicate calling
// back into the index it filters. Each must come back as a Status, on the
// calling thread, with the index as it was; never end the process.
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/executor.h"
#include "vindex/filter.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using absl::StatusCode;
using testing::ClusteredVectors;
using testing::RunSearch;
using testing::Saved;
using testing::SequentialIds;

constexpr int kDim = 8;
constexpr int64_t kRows = 600;
constexpr int64_t kQueries = 64;

// An executor that runs tasks on fresh threads and records any exception a
// task lets out: vindex promises its tasks never throw.
class RecordingExecutor final : public Executor {
 public:
  int num_threads() const override { return 3; }
  void ParallelFor(int64_t n, absl::FunctionRef<void(int64_t)> fn) override {
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t i; (i = next.fetch_add(1)) < n;) {
        try {
          fn(i);
        } catch (...) {
          escaped_.fetch_add(1);
        }
      }
    };
    std::thread a(work), b(work);
    work();
    a.join();
    b.join();
  }
  int escaped() const { return escaped_.load(); }

 private:
  std::atomic<int> escaped_{0};
};

struct Case {
  const char* spec;
  int threads;  // 0: the recording executor.
};

class CallGuardTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    auto made = MakeIndex(GetParam().spec, kDim, Metric::kL2);
    ASSERT_TRUE(made.ok()) << made.status();
    index_ = std::move(*made);
    base_ = ClusteredVectors(kRows, kDim, 8, 5);
    MatrixView<const float> data(base_.data(), kRows, kDim);
    ASSERT_TRUE(index_->Train(data).ok());
    ASSERT_TRUE(index_->Add(data, SequentialIds(kRows)).ok());
    before_ = Saved(*index_);
    if (GetParam().threads > 0) {
      pool_ = std::make_unique<ThreadPool>(GetParam().threads);
      executor_ = pool_.get();
    } else {
      executor_ = &recording_;
    }
  }
  void TearDown() override {
    EXPECT_EQ(recording_.escaped(), 0) << "an exception reached the executor";
    EXPECT_EQ(Saved(*index_), before_) << "a failed call changed the index";
    // The index still answers.
    auto r = RunSearch(*index_, Queries(), kDim, {.k = 5}, executor_);
    EXPECT_TRUE(r.status.ok()) << r.status;
  }
  std::vector<float> Queries() const {
    return std::vector<float>(base_.begin(), base_.begin() + kQueries * kDim);
  }
  // A search whose filter runs `predicate` from its 551st call on (the
  // earlier calls allow every id). Flat and IVF call the filter once per
  // stored vector (600) on the calling thread; HNSW samples it (at most 512
  // calls), finds nearly everything allowed, and walks the graph asking it
  // again inside the executor's tasks.
  absl::Status SearchWith(std::function<bool(int64_t)> predicate) {
    auto calls = std::make_shared<std::atomic<int64_t>>(0);
    IdFilter filter = IdFilter::Predicate([=](int64_t id) {
      if (calls->fetch_add(1) < 550) return true;
      return predicate(id);
    });
    return RunSearch(*index_, Queries(), kDim, {.k = 5, .filter = &filter},
                     executor_)
        .status;
  }

  std::unique_ptr<Index> index_;
  std::vector<float> base_;
  std::string before_;
  std::unique_ptr<ThreadPool> pool_;
  RecordingExecutor recording_;
  Executor* executor_ = nullptr;
};

TEST_P(CallGuardTest, ThrowingFilterIsUnknownWithItsMessage) {
  absl::Status s = SearchWith(
      [](int64_t) -> bool { throw std::runtime_error("predicate exploded"); });
  EXPECT_EQ(s.code(), StatusCode::kUnknown) << s;
  EXPECT_NE(s.message().find("predicate exploded"), absl::string_view::npos)
      << s;
}

TEST_P(CallGuardTest, BadAllocInsideSearchIsResourceExhausted) {
  absl::Status s = SearchWith([](int64_t) -> bool { throw std::bad_alloc(); });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
}

#if !defined(VINDEX_TEST_SANITIZER_ALLOCATOR)
// A real allocation that fails (not under a sanitizer, whose operator new
// reports instead of throwing; the test above covers the same path there).
TEST_P(CallGuardTest, RealAllocationFailureIsResourceExhausted) {
  absl::Status s = SearchWith([](int64_t id) {
    void* p = ::operator new (size_t{1} << 52);
    ::operator delete(p);
    return id >= 0;
  });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
}
#endif

TEST_P(CallGuardTest, FilterCallingBackIntoTheIndexIsRefused) {
  std::atomic<int> refused{0}, other{0};
  const std::vector<float> q(kDim, 0.5f);
  absl::Status s = SearchWith([&](int64_t id) {
    // Would deadlock as soon as a writer waits on the index's lock.
    auto nested = RunSearch(*index_, q, kDim, {.k = 1});
    if (nested.status.code() == StatusCode::kFailedPrecondition) {
      refused.fetch_add(1);
    } else {
      other.fetch_add(1);
    }
    return id % 2 == 0;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(other.load(), 0);
}

TEST_P(CallGuardTest, KAboveTheBoundIsRefusedBeforeAllocating) {
  // Just above the bound: a small, real output.
  const int k = SearchParams::kMaxK + 1;
  auto r = RunSearch(*index_, std::vector<float>(kDim, 0.5f), kDim, {.k = k},
                     executor_);
  ASSERT_EQ(r.status.code(), StatusCode::kInvalidArgument) << r.status;
  // k = 2^28: the output (3 GiB) is reserved but never touched.
  const size_t huge = size_t{1} << 28;
  const size_t bytes = huge * (sizeof(int64_t) + sizeof(float));
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* ids = static_cast<int64_t*>(mem);
  auto* dist = reinterpret_cast<float*>(ids + huge);
  std::vector<float> q(kDim, 0.5f);
  SearchOutput out{{ids, 1, static_cast<int64_t>(huge)},
                   {dist, 1, static_cast<int64_t>(huge)}};
  SearchParams p{.k = 1 << 28};
  EXPECT_EQ(index_
                ->Search(MatrixView<const float>(q.data(), 1, kDim), p, out,
                         executor_)
                .code(),
            StatusCode::kInvalidArgument);
  ::munmap(mem, bytes);
}

INSTANTIATE_TEST_SUITE_P(
    Families, CallGuardTest,
    ::testing::Values(Case{"Flat", 1}, Case{"Flat", 3}, Case{"IVF8,Flat", 3},
                      Case{"IVF8,PQ4", 1}, Case{"IVF8,PQ4x4fs,Rerank", 3},
                      Case{"HNSW8", 1}, Case{"HNSW8", 3}, Case{"HNSW8", 0},
                      Case{"HNSW8,SQ8", 3}, Case{"HNSW8,SQ4", 3}),
    [](const auto& info) {
      std::string name = info.param.spec;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name + (info.param.threads == 0
                         ? std::string("_CustomExecutor")
                         : "_ThreadPool" + std::to_string(info.param.threads));
    });

}  // namespace
}  // namespace vindex
