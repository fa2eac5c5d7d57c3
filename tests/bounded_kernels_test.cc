// The bounded L2 kernels (l2_sqr_rows_bounded, l2_sqr_below) of every ISA
// the machine has, pinned by mask: a finished distance is bit for bit the
// same table's unbounded kernel's, an unfinished one is a partial sum above
// the bound (with coded heads, a floor above it), and on data whose variance
// falls off with the dimension (as after a PCA rotation) they do stop early.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "index/head_codec.h"
#include "kernels/kernels.h"

namespace vindex::kernels {
namespace {

std::vector<const KernelTable*> AllTables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : kIsas) {
    if (const KernelTable* t = Select<KernelTable>(IsaBit(isa))) {
      EXPECT_EQ(t->isa, isa);
      out.push_back(t);
    }
  }
  return out;
}

// Dimension j drawn with a spread that falls off with j, so the first
// dimensions hold most of each distance.
float Draw(std::mt19937& rng, size_t j) {
  std::uniform_real_distribution<float> u(-1, 1);
  return u(rng) * (4.0f * std::exp(-static_cast<float>(j) / 12.0f) + 0.05f);
}

// The value at quantile f of v (a copy is sorted).
float Quantile(std::vector<float> v, double f) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(f * (v.size() - 1))];
}

// ExpectCodedHeadsSound's checks for one codec, with tails if it codes them.
void ExpectCodecSound(const KernelTable& t, const internal::HeadCodec& codec,
                      const float* q, const float* rows, size_t n, size_t d,
                      size_t stride, float bound,
                      const std::vector<float>& full, bool expect_stops) {
  std::vector<uint8_t> codes(n * kCodedHeadDim);
  std::vector<float> slack(n);
  const size_t tail_bytes = codec.tail_bytes();
  std::vector<uint8_t> tails(n * tail_bytes);
  std::vector<float> row_slack(n);
  for (size_t i = 0; i < n; ++i) {
    slack[i] =
        codec.Encode(rows + i * stride, codes.data() + i * kCodedHeadDim);
    if (tail_bytes > 0) {
      row_slack[i] = codec.EncodeTail(rows + i * stride, slack[i],
                                      tails.data() + i * tail_bytes);
    }
  }
  std::vector<float> offset(kCodedHeadDim), tail_offset(codec.tail_dim());
  CodedHeads heads{codes.data(), slack.data(), codec.step(), offset.data(),
                   codec.PrepareQuery(q, offset.data())};
  if (tail_bytes > 0) {
    heads.tail_codes = tails.data();
    heads.row_slack = row_slack.data();
    heads.tail_step = codec.tail_step();
    heads.tail_offset = tail_offset.data();
    heads.tail_dim = codec.tail_dim();
    heads.tail_query_slack = codec.PrepareQueryTail(q, tail_offset.data());
  }
  std::vector<float> got(n + 1, -7.0f);
  t.l2_sqr_rows_bounded(q, rows, n, d, stride, bound, got.data(), &heads);
  size_t stopped = 0;
  for (size_t i = 0; i < n; ++i) {
    if (got[i] <= bound) {
      EXPECT_EQ(std::memcmp(&got[i], &full[i], sizeof(float)), 0)
          << IsaName(t.isa) << " heads d=" << d << " tail " << tail_bytes
          << " n=" << n << " bound=" << bound << " row " << i << ": " << got[i]
          << " vs " << full[i];
    } else {
      EXPECT_LE(got[i], full[i])
          << IsaName(t.isa) << " heads d=" << d << " tail " << tail_bytes;
      EXPECT_GT(full[i], bound)
          << IsaName(t.isa) << " heads d=" << d << " tail " << tail_bytes;
      if (got[i] != full[i]) ++stopped;
    }
  }
  EXPECT_EQ(got[n], -7.0f) << "wrote past n";
  if (expect_stops && n >= 13 && bound >= 0.0f && bound < INFINITY) {
    EXPECT_GT(stopped, 0u) << IsaName(t.isa) << " heads d=" << d << " n=" << n
                           << " bound=" << bound;
  }
}

// l2_sqr_rows_bounded with coded heads (from a codec fitted to the first
// eight rows only, so other rows clamp somewhere), without and with 4-bit
// tails: a finished row is bit for bit l2_sqr_rows', a stopped one holds a
// value in (bound, full distance], and (when asked) on this data the heads
// do stop rows.
void ExpectCodedHeadsSound(const KernelTable& t, const float* q,
                           const float* rows, size_t n, size_t d, size_t stride,
                           float bound, const std::vector<float>& full,
                           bool expect_stops = true) {
  constexpr size_t kFit = 8;
  std::vector<float> fit(kFit * d, 0.0f);
  for (size_t i = 0; i < std::min(n, kFit); ++i)
    std::copy_n(rows + i * stride, d, fit.begin() + i * d);
  for (bool tail : {false, true}) {
    if (tail && d <= kCodedHeadDim) continue;
    const internal::HeadCodec codec = internal::HeadCodec::FromCentroids(
        fit.data(), std::max<size_t>(std::min(n, kFit), 1), static_cast<int>(d),
        tail);
    ExpectCodecSound(t, codec, q, rows, n, d, stride, bound, full,
                     expect_stops);
  }
}

TEST(BoundedKernels, RowsFinishExactlyOrStopAboveBound) {
  std::mt19937 rng(11);
  for (const KernelTable* t : AllTables()) {
    for (size_t d : {1, 7, 31, 32, 33, 63, 64, 65, 100, 128, 130, 200, 300}) {
      for (size_t extra : {0, 3}) {
        const size_t stride = d + extra;
        for (size_t n : {0, 1, 4, 13, 37}) {
          // Exactly the floats the contract allows to be read (ASan checks),
          // one float in so the rows are unaligned.
          std::vector<float> rows(1 + (n == 0 ? 0 : (n - 1) * stride + d));
          for (size_t k = 1; k < rows.size(); ++k)
            rows[k] = Draw(rng, (k - 1) % stride);
          std::vector<float> q(d + 1);
          for (size_t j = 0; j < d; ++j) q[j + 1] = Draw(rng, j);
          const float* rp = rows.data() + 1;
          std::vector<float> full(n);
          t->l2_sqr_rows(q.data() + 1, rp, n, d, stride, full.data());
          std::vector<float> bounds = {-1.0f, INFINITY};
          if (n > 0) {
            bounds.push_back(Quantile(full, 0.25));
            bounds.push_back(Quantile(full, 0.5));
          }
          for (float bound : bounds) {
            std::vector<float> got(n + 1, -7.0f);
            t->l2_sqr_rows_bounded(q.data() + 1, rp, n, d, stride, bound,
                                   got.data(), nullptr);
            if (d >= kCodedHeadDim) {
              ExpectCodedHeadsSound(*t, q.data() + 1, rp, n, d, stride, bound,
                                    full);
            }
            size_t stopped = 0;
            for (size_t i = 0; i < n; ++i) {
              if (got[i] <= bound) {
                EXPECT_EQ(got[i], full[i])
                    << IsaName(t->isa) << " d=" << d << " stride=" << stride
                    << " n=" << n << " bound=" << bound << " row " << i;
              } else {
                EXPECT_LE(got[i], full[i]) << IsaName(t->isa) << " d=" << d;
                EXPECT_GT(full[i], bound) << IsaName(t->isa) << " d=" << d;
                if (got[i] != full[i]) ++stopped;
              }
            }
            EXPECT_EQ(got[n], -7.0f) << "wrote past n";
            if (bound == INFINITY) EXPECT_EQ(stopped, 0u);
            // Rows whose first check comes before their end do stop.
            if (d >= 64 && n >= 13 && bound < INFINITY) {
              EXPECT_GT(stopped, 0u) << IsaName(t->isa) << " d=" << d
                                     << " n=" << n << " bound=" << bound;
            }
          }
        }
      }
    }
  }
}

// Coded heads far from the origin, where the rounding of q - lo is largest
// against the distances, on short and long rows, with every row's own distance
// as the bound: each of those rows must finish.
TEST(BoundedKernels, CodedHeadsHoldFarFromTheOrigin) {
  std::mt19937 rng(13);
  for (const KernelTable* t : AllTables()) {
    for (float origin : {0.0f, 1000.0f, -30000.0f}) {
      // 1536-d: the rounding room grows with the dimension.
      for (size_t d : {128, 1536}) {
        constexpr size_t n = 41;
        std::vector<float> rows(n * d), q(d);
        for (size_t k = 0; k < rows.size(); ++k)
          rows[k] = origin + Draw(rng, k % d);
        for (size_t j = 0; j < d; ++j) q[j] = origin + Draw(rng, j);
        std::vector<float> full(n);
        t->l2_sqr_rows(q.data(), rows.data(), n, d, d, full.data());
        for (size_t i = 0; i < n; i += 5) {
          // A row's own distance as the bound may leave none to stop.
          ExpectCodedHeadsSound(*t, q.data(), rows.data(), n, d, d, full[i],
                                full, /*expect_stops=*/false);
        }
      }
    }
  }
}

// Rows whose heads match the query's but whose tails lie far from it: the
// heads cannot stop them, their tails must, before any float is read (the
// floats are NaN once coded, so a row read would come out NaN).
TEST(BoundedKernels, TailsStopRowsTheHeadsLeaveUnread) {
  std::mt19937 rng(17);
  for (const KernelTable* t : AllTables()) {
    for (size_t d : {100, 300, 784}) {
      for (size_t n : {4, 37, 130}) {
        std::vector<float> q(d), rows(n * d);
        for (size_t j = 0; j < d; ++j) q[j] = Draw(rng, j % 40);
        for (size_t i = 0; i < n; ++i) {
          for (size_t j = 0; j < d; ++j) {
            rows[i * d + j] = j < kCodedHeadDim ? q[j] : q[j] + 3.0f;
          }
        }
        // The codec knows the rows' range (its centroids: the query and a
        // row), so they code to within half a step.
        std::vector<float> fit(q);
        fit.insert(fit.end(), rows.begin(), rows.begin() + d);
        for (bool tail : {false, true}) {
          const internal::HeadCodec codec =
              internal::HeadCodec::FromCentroids(fit.data(), 2, d, tail);
          std::vector<uint8_t> codes(n * kCodedHeadDim);
          std::vector<float> slack(n), row_slack(n);
          std::vector<uint8_t> tails(n * codec.tail_bytes());
          for (size_t i = 0; i < n; ++i) {
            slack[i] = codec.Encode(&rows[i * d], &codes[i * kCodedHeadDim]);
            if (tail) {
              row_slack[i] = codec.EncodeTail(&rows[i * d], slack[i],
                                              &tails[i * codec.tail_bytes()]);
            }
          }
          std::vector<float> unread(rows.size(), std::nanf(""));
          std::vector<float> offset(kCodedHeadDim),
              tail_offset(codec.tail_dim());
          CodedHeads heads{codes.data(), slack.data(), codec.step(),
                           offset.data(),
                           codec.PrepareQuery(q.data(), offset.data())};
          if (tail) {
            heads.tail_codes = tails.data();
            heads.row_slack = row_slack.data();
            heads.tail_step = codec.tail_step();
            heads.tail_offset = tail_offset.data();
            heads.tail_dim = codec.tail_dim();
            heads.tail_query_slack =
                codec.PrepareQueryTail(q.data(), tail_offset.data());
          }
          // Each row is 9 (d - 64) away; the bound is well below that.
          const float bound = 4.0f * static_cast<float>(d - kCodedHeadDim);
          std::vector<float> got(n);
          t->l2_sqr_rows_bounded(q.data(), unread.data(), n, d, d, bound,
                                 got.data(), &heads);
          size_t stopped = 0;
          for (size_t i = 0; i < n; ++i) {
            if (got[i] > bound && got[i] <= 9.0f * (d - kCodedHeadDim))
              ++stopped;
          }
          EXPECT_EQ(stopped, tail ? n : 0) << IsaName(t->isa) << " d=" << d
                                           << " n=" << n << " tail " << tail;
        }
      }
    }
  }
}

TEST(BoundedKernels, PairFinishesExactlyOrStopsAboveBound) {
  std::mt19937 rng(12);
  for (const KernelTable* t : AllTables()) {
    for (size_t d :
         {1, 7, 31, 32, 33, 63, 64, 65, 100, 128, 130, 200, 300, 784}) {
      constexpr int kPairs = 40;
      std::vector<std::vector<float>> xs(kPairs, std::vector<float>(d + 1));
      std::vector<float> q(d + 1);
      for (size_t j = 0; j < d; ++j) q[j + 1] = Draw(rng, j);
      std::vector<float> full(kPairs);
      for (int p = 0; p < kPairs; ++p) {
        for (size_t j = 0; j < d; ++j) xs[p][j + 1] = Draw(rng, j);
        full[p] = t->l2_sqr(q.data() + 1, xs[p].data() + 1, d);
      }
      for (float bound :
           {-1.0f, Quantile(full, 0.25), Quantile(full, 0.5), INFINITY}) {
        int stopped = 0;
        for (int p = 0; p < kPairs; ++p) {
          const float got =
              t->l2_sqr_below(q.data() + 1, xs[p].data() + 1, d, bound);
          if (got <= bound) {
            EXPECT_EQ(got, full[p]) << IsaName(t->isa) << " d=" << d
                                    << " bound=" << bound << " pair " << p;
          } else {
            EXPECT_LE(got, full[p]) << IsaName(t->isa) << " d=" << d;
            EXPECT_GT(full[p], bound) << IsaName(t->isa) << " d=" << d;
            if (got != full[p]) ++stopped;
          }
        }
        if (bound == INFINITY) EXPECT_EQ(stopped, 0);
        if (d >= 2 * kBoundedFirstCheck + 64 && bound < INFINITY) {
          EXPECT_GT(stopped, 0)
              << IsaName(t->isa) << " d=" << d << " bound=" << bound;
        }
      }
    }
  }
}

TEST(BoundedKernels, PairStopsWithinOneCheckStepOfALateCrossing) {
  // The query is zero and the vector zero up to dimension 300, then 1: its
  // partial distance passes the bound 10 at dimension 311. The check at 320
  // (a multiple of kBoundedCheckStep) must stop it there, so the NaNs from
  // 320 on are never summed.
  constexpr size_t kD = 784, kStop = 320;
  static_assert(kStop % kBoundedCheckStep == 0);
  std::vector<float> q(kD, 0.0f), x(kD, 0.0f);
  for (size_t j = 300; j < kStop; ++j) x[j] = 1.0f;
  for (size_t j = kStop; j < kD; ++j) x[j] = std::nanf("");
  for (const KernelTable* t : AllTables()) {
    EXPECT_EQ(t->l2_sqr_below(q.data(), x.data(), kD, 10.0f), 20.0f)
        << IsaName(t->isa);
  }
}

// The bounded kernels' finished distances agree with the scalar reference
// within float rounding, like the unbounded ones.
TEST(BoundedKernels, FinishedDistancesMatchScalar) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(13);
  for (const KernelTable* t : AllTables()) {
    for (size_t d : {5, 64, 100, 130, 300}) {
      const size_t n = 21;
      std::vector<float> rows(n * d), q(d);
      for (size_t k = 0; k < rows.size(); ++k) rows[k] = Draw(rng, k % d);
      for (size_t j = 0; j < d; ++j) q[j] = Draw(rng, j);
      std::vector<float> want(n), got(n);
      ref.l2_sqr_rows(q.data(), rows.data(), n, d, d, want.data());
      const float bound = Quantile(want, 0.6);
      t->l2_sqr_rows_bounded(q.data(), rows.data(), n, d, d, bound, got.data(),
                             nullptr);
      for (size_t i = 0; i < n; ++i) {
        const double tol = 1e-5 * want[i] + 1e-6;
        if (want[i] <= bound - tol) {
          EXPECT_NEAR(got[i], want[i], tol) << IsaName(t->isa) << " d=" << d;
          EXPECT_NEAR(t->l2_sqr_below(q.data(), rows.data() + i * d, d, bound),
                      want[i], tol)
              << IsaName(t->isa) << " d=" << d;
        } else if (want[i] > bound + tol) {
          EXPECT_GT(got[i], bound) << IsaName(t->isa) << " d=" << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace vindex::kernels
