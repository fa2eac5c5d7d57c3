#include "core/topk.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace vindex::internal {
namespace {

// Sort-based reference: (distance, id) ascending, padded.
void Reference(const std::vector<float>& d, const std::vector<int64_t>& ids,
               int k, std::vector<int64_t>* out_ids,
               std::vector<float>* out_d) {
  std::vector<std::pair<float, int64_t>> v;
  for (size_t i = 0; i < d.size(); ++i) v.emplace_back(d[i], ids[i]);
  std::sort(v.begin(), v.end());
  out_ids->assign(k, -1);
  out_d->assign(k, INFINITY);
  for (int i = 0; i < k && i < static_cast<int>(v.size()); ++i) {
    (*out_ids)[i] = v[i].second;
    (*out_d)[i] = v[i].first;
  }
}

class TopKTest : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(TopKTest, MatchesSortReference) {
  const auto [n, ties] = GetParam();
  std::mt19937 rng(n * 7 + ties);
  std::vector<float> d(n);
  std::vector<int64_t> ids(n);
  for (int i = 0; i < n; ++i) {
    d[i] = ties ? static_cast<float>(rng() % 5)
                : std::uniform_real_distribution<float>(0, 1)(rng);
    ids[i] = static_cast<int64_t>(rng() % 1000000);
  }
  // Distinct ids so the reference order is total.
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  d.resize(ids.size());
  std::shuffle(ids.begin(), ids.end(), rng);
  const int m = static_cast<int>(ids.size());
  for (int k : {1, 7, 100, 129, 300, m, m + 5}) {
    if (k < 1) continue;
    std::vector<int64_t> want_ids, got_ids(k);
    std::vector<float> want_d, got_d(k);
    Reference(d, ids, k, &want_ids, &want_d);
    SelectTopK(d.data(), ids.data(), d.size(), k, got_ids.data(), got_d.data());
    EXPECT_EQ(got_ids, want_ids) << "n=" << m << " k=" << k;
    EXPECT_EQ(got_d, want_d) << "n=" << m << " k=" << k;

    // Same through PushBlock with every ISA's threshold filter.
    for (kernels::Isa isa : kernels::kIsas) {
      const kernels::KernelTable* kt =
          kernels::Select<kernels::KernelTable>(kernels::IsaBit(isa));
      if (kt == nullptr) continue;
      TopK top(k);
      std::vector<uint32_t> scratch(64);
      for (size_t b = 0; b < d.size(); b += 64) {
        size_t bn = std::min<size_t>(64, d.size() - b);
        top.PushBlock(*kt, d.data() + b, bn, scratch.data(),
                      [&](uint32_t i) { return ids[b + i]; });
      }
      top.Finish(got_ids.data(), got_d.data());
      EXPECT_EQ(got_ids, want_ids)
          << kernels::IsaName(kt->isa) << " n=" << m << " k=" << k;
    }

    // TakeIds: the same set, in any order, and no padding.
    TopK top(k);
    for (int i = 0; i < m; ++i) top.Push(d[i], ids[i]);
    std::vector<int64_t> taken(k, -2);
    const size_t got = top.TakeIds(taken.data());
    taken.resize(got);
    std::vector<int64_t> want(want_ids.begin(),
                              want_ids.begin() + std::min(k, m));
    std::sort(taken.begin(), taken.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(taken, want) << "TakeIds n=" << m << " k=" << k;
    EXPECT_EQ(top.size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TopKTest,
                         ::testing::Combine(::testing::Values(1, 10, 257, 5000),
                                            ::testing::Bool()));

TEST(TopK, SkipsFilteredCandidates) {
  std::vector<float> d = {3, 1, 2, 0};
  TopK top(2);
  std::vector<uint32_t> scratch(4);
  top.PushBlock(
      kernels::Active(), d.data(), 4, scratch.data(),
      [](uint32_t i) -> int64_t { return i == 3 ? int64_t{-1} : int64_t{i}; });
  int64_t ids[2];
  float dist[2];
  top.Finish(ids, dist);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 2);
}

// NaN distances never reach the results, in every mode (k = 5: heap; 20 and
// 100: ranked buffers; 200: partitioned buffers).
TEST(TopK, DropsNan) {
  for (int k : {5, 20, 100, 200}) {
    std::mt19937 rng(k);
    std::vector<float> d;
    std::vector<int64_t> ids;
    for (int i = 0; i < 3000; ++i) {
      d.push_back(i % 7 == 0 ? NAN : static_cast<float>(rng() % 1000));
      ids.push_back(i);
    }
    std::vector<float> clean_d;
    std::vector<int64_t> clean_ids;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] == d[i]) {
        clean_d.push_back(d[i]);
        clean_ids.push_back(ids[i]);
      }
    }
    std::vector<int64_t> want_ids, got_ids(k);
    std::vector<float> want_d, got_d(k);
    Reference(clean_d, clean_ids, k, &want_ids, &want_d);
    TopK top(k);
    for (size_t i = 0; i < d.size(); ++i) {
      top.Push(d[i], ids[i]);
    }
    top.Finish(got_ids.data(), got_d.data());
    EXPECT_EQ(got_ids, want_ids) << "k=" << k;
    EXPECT_EQ(got_d, want_d) << "k=" << k;
  }
}

}  // namespace
}  // namespace vindex::internal
