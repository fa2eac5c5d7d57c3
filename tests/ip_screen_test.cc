// The inner-product screen (index/ip_screen.h) of every ISA the machine has:
// a row whose score is below the threshold always comes back with
// inner_product_rows' exact bits, even at the threshold itself and for rows
// nearly parallel to the query; only rows that cannot enter come back +inf;
// and on data whose variance falls off with the dimension most rows do.
#include "index/ip_screen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"

namespace vindex::internal {
namespace {

using kernels::KernelTable;

std::vector<const KernelTable*> AllTables() {
  std::vector<const KernelTable*> out;
  for (kernels::Isa isa : kernels::kIsas) {
    if (const KernelTable* t =
            kernels::Select<KernelTable>(kernels::IsaBit(isa))) {
      out.push_back(t);
    }
  }
  return out;
}

void Normalize(float* x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) s += double(x[j]) * x[j];
  const double inv = 1.0 / std::sqrt(s);
  for (size_t j = 0; j < d; ++j) x[j] = static_cast<float>(x[j] * inv);
}

float SqNorm(const float* x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) s += double(x[j]) * x[j];
  return static_cast<float>(s);
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// Checks one screened call against the unscreened kernel, returns how many
// rows it screened out.
size_t CheckScreen(const KernelTable& t, const float* q, const float* rows,
                   size_t n, size_t d, size_t stride, float max_row_sq_norm,
                   float threshold, const char* what) {
  std::vector<float> want(n), got(n);
  t.inner_product_rows(q, rows, n, d, stride, want.data());
  for (auto& w : want) w = -w;
  const float bound =
      InnerProductScreenBound(threshold, SqNorm(q, d), max_row_sq_norm, d);
  ScreenedNegativeInnerProducts(t, q, rows, n, d, stride, bound, got.data(),
                                nullptr);
  size_t screened = 0;
  for (size_t i = 0; i < n; ++i) {
    if (got[i] == kInf) {
      ++screened;
      EXPECT_FALSE(want[i] < threshold)
          << kernels::IsaName(t.isa) << " " << what << " d=" << d << " row "
          << i << " score " << want[i] << " threshold " << threshold;
    } else {
      EXPECT_EQ(got[i], want[i]) << kernels::IsaName(t.isa) << " " << what
                                 << " d=" << d << " row " << i;
    }
  }
  return screened;
}

TEST(IpScreen, UnitRowsBelowTheThresholdAreNeverScreenedOut) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0, 1);
  for (const KernelTable* t : AllTables()) {
    for (size_t d : {256, 300, 784}) {
      const size_t n = 203, stride = d + 3;
      // The leading dimensions carry most of the spread (as after a PCA
      // rotation); rows are unit vectors, as cosine stores them.
      std::vector<float> q(d), rows(n * stride);
      for (size_t j = 0; j < d; ++j) {
        q[j] = g(rng) * (std::exp(-static_cast<float>(j) / 16.0f) + 0.02f);
      }
      Normalize(q.data(), d);
      for (size_t i = 0; i < n; ++i) {
        float* r = rows.data() + i * stride;
        for (size_t j = 0; j < d; ++j) {
          r[j] = g(rng) * (std::exp(-static_cast<float>(j) / 16.0f) + 0.02f);
        }
        Normalize(r, d);
      }
      std::vector<float> scores(n);
      t->inner_product_rows(q.data(), rows.data(), n, d, stride, scores.data());
      for (auto& s : scores) s = -s;
      std::vector<float> sorted = scores;
      std::sort(sorted.begin(), sorted.end());
      // Thresholds at several ranks, and just above each of the first rows'
      // own scores (the row must pass).
      size_t screened_at_rank10 = 0;
      for (size_t rank : {0, 10, 50, 150}) {
        const size_t s = CheckScreen(*t, q.data(), rows.data(), n, d, stride,
                                     1.0f, sorted[rank], "rank");
        if (rank == 10) screened_at_rank10 = s;
      }
      for (size_t i = 0; i < 12; ++i) {
        CheckScreen(*t, q.data(), rows.data(), n, d, stride, 1.0f,
                    std::nextafter(scores[i], kInf), "own score");
      }
      // The screen must actually stop rows: most cannot beat the 11th best.
      EXPECT_GT(screened_at_rank10, n / 2)
          << kernels::IsaName(t->isa) << " d=" << d;
    }
  }
}

TEST(IpScreen, NearlyParallelRowsAtTheirOwnScorePass) {
  std::mt19937 rng(12);
  std::normal_distribution<float> g(0, 1);
  for (const KernelTable* t : AllTables()) {
    const size_t d = 512, n = 64;
    std::vector<float> q(d), rows(n * d);
    for (auto& x : q) x = g(rng);
    Normalize(q.data(), d);
    for (size_t i = 0; i < n; ++i) {
      float* r = rows.data() + i * d;
      const float eps = 1e-4f * static_cast<float>(i % 8);
      for (size_t j = 0; j < d; ++j) r[j] = q[j] + eps * g(rng);
      Normalize(r, d);
    }
    for (size_t i = 0; i < n; ++i) {
      float want;
      t->inner_product_rows(q.data(), rows.data() + i * d, 1, d, d, &want);
      CheckScreen(*t, q.data(), rows.data() + i * d, 1, d, d, 1.0f,
                  std::nextafter(-want, kInf), "parallel");
    }
  }
}

// Rows of any norm up to max_row_sq_norm and a query of any norm (the
// inner-product metric's coarse step over spherical centroids, or shorter
// ones).
TEST(IpScreen, RowsOfBoundedNormAgainstAnyQuery) {
  std::mt19937 rng(13);
  std::normal_distribution<float> g(0, 1);
  std::uniform_real_distribution<float> len(0.2f, 1.0f);
  for (const KernelTable* t : AllTables()) {
    const size_t d = 300, n = 97;
    std::vector<float> q(d), rows(n * d);
    for (size_t j = 0; j < d; ++j) {
      q[j] = 7.0f * g(rng) * (std::exp(-static_cast<float>(j) / 20.0f) + 0.05f);
    }
    float max_sq = 0;
    for (size_t i = 0; i < n; ++i) {
      float* r = rows.data() + i * d;
      for (size_t j = 0; j < d; ++j) {
        r[j] = g(rng) * (std::exp(-static_cast<float>(j) / 20.0f) + 0.05f);
      }
      Normalize(r, d);
      const float l = i % 3 == 0 ? 1.0f : len(rng);
      for (size_t j = 0; j < d; ++j) r[j] *= l;
      max_sq = std::max(max_sq, SqNorm(r, d));
    }
    std::vector<float> scores(n);
    t->inner_product_rows(q.data(), rows.data(), n, d, d, scores.data());
    for (auto& s : scores) s = -s;
    std::vector<float> sorted = scores;
    std::sort(sorted.begin(), sorted.end());
    for (size_t rank : {0, 5, 30, 90}) {
      CheckScreen(*t, q.data(), rows.data(), n, d, d, max_sq, sorted[rank],
                  "bounded norm");
    }
    for (size_t i = 0; i < n; ++i) {
      CheckScreen(*t, q.data(), rows.data(), n, d, d, max_sq,
                  std::nextafter(scores[i], kInf), "own score");
    }
  }
}

TEST(IpScreen, NoThresholdScoresEveryRow) {
  std::mt19937 rng(14);
  std::normal_distribution<float> g(0, 1);
  for (const KernelTable* t : AllTables()) {
    const size_t d = 260, n = 11;
    std::vector<float> q(d), rows(n * d);
    for (auto& x : q) x = g(rng);
    for (auto& x : rows) x = g(rng);
    EXPECT_EQ(CheckScreen(*t, q.data(), rows.data(), n, d, d, 1.0f, kInf,
                          "no threshold"),
              0u);
  }
}

}  // namespace
}  // namespace vindex::internal
