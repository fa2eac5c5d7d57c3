#include "train/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/parallel.h"
#include "kernels/kernels.h"
#include "kernels/pq_kernels.h"
#include "linalg/gemm.h"

namespace vindex::train {
namespace {

// Fixed assignment tiles (points x centroids); fixed so that results never
// depend on how the work is split across threads.
constexpr int64_t kPointTile = 256;
constexpr int64_t kCentroidTile = 1024;
// At most this many dimensions, AssignNearest uses the nearest_codewords
// kernel instead of GEMM. Measured at the two PQ sub-space sizes in use, not
// swept: debian-desc PQ64 (8 dims) build 3.8 s with GEMM, 3.4 s with the
// table kernel plus a scan for the minimum, 2.63-2.73 s with
// nearest_codewords; fashion-mnist PQ56 (14 dims) training faster than with
// GEMM. The crossover above 16 is not measured.
constexpr int64_t kSmallDim = 16;

// The smallest of v[0, n) (n >= 1, finite values). Four independent lanes
// (SSE2 on x86-64), so the loop is not one long compare-and-branch chain;
// min is exact, so the result does not depend on the lanes.
inline float MinOf(const float* v, int64_t n) {
  int64_t c = 0;
  float m = v[0];
#if defined(__SSE2__)
  if (n >= 4) {
    __m128 acc = _mm_loadu_ps(v);
    for (c = 4; c + 4 <= n; c += 4) acc = _mm_min_ps(acc, _mm_loadu_ps(v + c));
    acc = _mm_min_ps(acc, _mm_movehl_ps(acc, acc));
    acc = _mm_min_ss(acc, _mm_shuffle_ps(acc, acc, 1));
    m = _mm_cvtss_f32(acc);
  }
#endif
  for (; c < n; ++c) m = v[c] < m ? v[c] : m;
  return m;
}

// The first position of m in v (m is one of v's n values).
inline int64_t FirstIndexOf(const float* v, int64_t n, float m) {
  int64_t c = 0;
#if defined(__SSE2__)
  const __m128 mm = _mm_set1_ps(m);
  for (; c + 4 <= n; c += 4) {
    const int hit = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(v + c), mm));
    if (hit != 0) return c + __builtin_ctz(static_cast<unsigned>(hit));
  }
#endif
  while (v[c] != m) ++c;
  return c;
}

// Relative size of the nudge that separates the two halves of a split cluster.
constexpr float kSplitEpsilon = 1.0f / 1024;

// Picks `m` distinct indices of [0, n) with a seeded partial Fisher-Yates
// shuffle, returned in increasing order.
std::vector<int64_t> SampleIndices(int64_t n, int64_t m, std::mt19937_64& rng) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = 0; i < m; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(m);
  std::sort(idx.begin(), idx.end());
  return idx;
}

void Normalize(float* v, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += double{v[j]} * v[j];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int64_t j = 0; j < d; ++j) v[j] *= inv;
}

// Gives every empty cluster half of the largest cluster: the two centroids
// become the large one nudged in opposite directions.
void RepairEmptyClusters(std::vector<float>& centroids,
                         std::vector<int64_t>& counts, int64_t d,
                         std::mt19937_64& rng) {
  const int64_t k = static_cast<int64_t>(counts.size());
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (int64_t e = 0; e < k; ++e) {
    if (counts[e] != 0) continue;
    int64_t big = 0;
    for (int64_t c = 1; c < k; ++c) {
      if (counts[c] > counts[big]) big = c;
    }
    if (counts[big] < 2)
      return;  // Nothing left to split (n >= k prevents this).
    float* cb = centroids.data() + big * d;
    float* ce = centroids.data() + e * d;
    double scale = 0;
    for (int64_t j = 0; j < d; ++j) scale += std::fabs(cb[j]);
    const float base = static_cast<float>(scale / d) + 1e-6f;
    for (int64_t j = 0; j < d; ++j) {
      const float delta = kSplitEpsilon * unit(rng) * (std::fabs(cb[j]) + base);
      ce[j] = cb[j] + delta;
      cb[j] = cb[j] - delta;
    }
    counts[e] = counts[big] / 2;
    counts[big] -= counts[e];
  }
}

// k-means++ seeding on a sample of at most kSeedPointsPerCentroid * k
// points: each next centroid is drawn with probability proportional to its
// squared distance from the centroids chosen so far. Deterministic for a
// given rng state (the distance updates are element-wise).
constexpr int64_t kSeedPointsPerCentroid = 4;

// `sample` holds the s points SampleIndices chose (in their order).
void InitPlusPlus(const float* sample, int64_t s, int64_t d, int64_t k,
                  std::mt19937_64& rng, Executor* executor, float* centroids) {
  const kernels::KernelTable& kt = kernels::Active();
  std::vector<float> best(s, std::numeric_limits<float>::infinity());
  std::vector<float> dist(s);
  std::vector<char> taken(s, 0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int64_t pick = std::uniform_int_distribution<int64_t>(0, s - 1)(rng);
  for (int64_t c = 0; c < k; ++c) {
    taken[pick] = 1;
    const float* chosen = sample + pick * d;
    std::copy_n(chosen, d, centroids + c * d);
    if (c + 1 == k) break;
    internal::ParallelForRange(executor, s, 4096, [&](int64_t b, int64_t e) {
      kt.l2_sqr_rows(chosen, sample + b * d, e - b, d, d, dist.data() + b);
      for (int64_t i = b; i < e; ++i) best[i] = std::min(best[i], dist[i]);
    });
    double total = 0;
    for (int64_t i = 0; i < s; ++i) total += taken[i] ? 0.0 : best[i];
    if (total > 0) {
      double r = unit(rng) * total;
      pick = -1;
      for (int64_t i = 0; i < s; ++i) {
        if (taken[i]) continue;
        r -= best[i];
        pick = i;
        if (r <= 0) break;
      }
    } else {
      // Every remaining point coincides with a centroid: take any unused one.
      int64_t left = 0;
      for (int64_t i = 0; i < s; ++i) left += !taken[i];
      int64_t nth = std::uniform_int_distribution<int64_t>(0, left - 1)(rng);
      for (int64_t i = 0; i < s; ++i) {
        if (!taken[i] && nth-- == 0) {
          pick = i;
          break;
        }
      }
    }
  }
}

}  // namespace

void AssignNearest(const float* centroids, const float* centroid_norms,
                   int64_t k, MatrixView<const float> x, int32_t* assign,
                   float* distances, Executor* executor) {
  const int64_t n = x.rows;
  const int64_t d = x.cols;
  const int64_t tiles = (n + kPointTile - 1) / kPointTile;
  // Few dimensions (product-quantizer sub-spaces): a GEMM with so short an
  // inner dimension runs far below peak, so the kernel table's
  // nearest_codewords scores each point against the centroids transposed
  // (d x k) and keeps the nearest in registers instead.
  const bool small_d = d <= kSmallDim;
  std::vector<float> centroids_t;
  if (small_d) {
    centroids_t.resize(d * k);
    for (int64_t c = 0; c < k; ++c) {
      for (int64_t j = 0; j < d; ++j)
        centroids_t[j * k + c] = centroids[c * d + j];
    }
  }
  const kernels::pq::Table& pk = kernels::pq::Active();
  internal::ParallelFor(executor, tiles, [&](int64_t t) {
    const int64_t p0 = t * kPointTile;
    const int64_t pn = std::min(kPointTile, n - p0);
    const int64_t ct = std::min(kCentroidTile, k);
    std::vector<float> ip(small_d ? 0 : pn * ct);
    std::vector<float> best(pn, std::numeric_limits<float>::infinity());
    std::vector<int32_t> best_idx(pn, 0);
    if (small_d) {
      // L2: ||c||^2 - 2 <x, c>; inner product: -<x, c>.
      pk.nearest_codewords(x.row(p0), pn, x.row_stride(), centroids_t.data(), d,
                           k, centroid_norms != nullptr ? -2.0f : -1.0f,
                           centroid_norms, best_idx.data(), best.data());
    }
    for (int64_t c0 = 0; c0 < k && !small_d; c0 += ct) {
      const int64_t cn = std::min(ct, k - c0);
      linalg::GemmABt(x.row(p0), pn, x.row_stride(), centroids + c0 * d, cn, d,
                      d, ip.data(), cn);
      for (int64_t i = 0; i < pn; ++i) {
        // The row's distances in place, then their minimum, then (only when
        // it improves) its first position: the first nearest centroid wins,
        // as a sequential strict-less scan would pick.
        float* row = ip.data() + i * cn;
        if (centroid_norms != nullptr) {
          const float* norms = centroid_norms + c0;
          for (int64_t c = 0; c < cn; ++c) row[c] = norms[c] - 2.0f * row[c];
        } else {
          for (int64_t c = 0; c < cn; ++c) row[c] = -row[c];
        }
        const float m = MinOf(row, cn);
        if (!(m < best[i])) continue;
        best[i] = m;
        best_idx[i] = static_cast<int32_t>(c0 + FirstIndexOf(row, cn, m));
      }
    }
    std::vector<float> xnorms;
    if (distances != nullptr && centroid_norms != nullptr) {
      xnorms.resize(pn);
      linalg::RowSquaredNorms(x.row(p0), pn, d, x.row_stride(), xnorms.data());
    }
    for (int64_t i = 0; i < pn; ++i) {
      assign[p0 + i] = best_idx[i];
      if (distances != nullptr) {
        distances[p0 + i] = centroid_norms != nullptr
                                ? std::max(0.0f, best[i] + xnorms[i])
                                : best[i];
      }
    }
  });
}

namespace {

// Fixed-point sums: each coordinate becomes trunc(x * 2^shift) as an int64,
// summed exactly in 128 bits. The shift keeps every term below 2^62 and any
// sum of the whole sample below 2^93, so the 128-bit sums never overflow and
// their two 64-bit limbs (value >> 32, value & (2^32 - 1)) can be summed
// across processes as plain int64s.
constexpr int kTermBits = 62;
constexpr int kSumBits = 93;

int FixedPointShift(float max_abs, int64_t total_points) {
  if (!(max_abs > 0)) return 0;
  const int e = std::ilogb(max_abs) + 1;  // max_abs < 2^e.
  int count_bits = 0;
  while ((int64_t{1} << count_bits) < total_points && count_bits < 62)
    ++count_bits;
  return std::min(kTermBits - e, kSumBits - e - count_bits);
}

// No partition: the whole sample is here; the collectives are identities.
class WholeSample final : public KMeansPartition {
 public:
  explicit WholeSample(int64_t rows) : rows_(rows) {}
  int64_t total_rows() const override { return rows_; }
  int64_t first_row() const override { return 0; }
  absl::Status Agree(const absl::Status& local) override { return local; }
  absl::Status SumInt64(absl::Span<int64_t>) override {
    return absl::OkStatus();
  }
  absl::Status SumDouble(absl::Span<double>) override {
    return absl::OkStatus();
  }
  absl::Status MaxFloat(float*) override { return absl::OkStatus(); }
  absl::Status Concatenate(absl::Span<const float> mine,
                           std::vector<float>* all) override {
    all->assign(mine.begin(), mine.end());
    return absl::OkStatus();
  }

 private:
  int64_t rows_;
};

}  // namespace

absl::StatusOr<KMeansResult> KMeans(MatrixView<const float> data,
                                    const KMeansOptions& options,
                                    Executor* executor) {
  WholeSample whole(data.rows);
  return KMeans(data, options, executor, &whole);
}

absl::StatusOr<KMeansResult> KMeans(MatrixView<const float> data,
                                    const KMeansOptions& options,
                                    Executor* executor,
                                    KMeansPartition* partition) {
  const int64_t n = partition->total_rows();
  const int64_t first = partition->first_row();
  const int64_t d = data.cols;
  const int64_t k = options.k;
  absl::Status valid;
  if (k < 1) {
    valid = absl::InvalidArgumentError(absl::StrCat("k-means k ", k, " < 1"));
  } else if (options.iterations < 0) {
    valid = absl::InvalidArgumentError("k-means iterations must be >= 0");
  } else if (d < 1) {
    valid = absl::InvalidArgumentError("k-means dim must be >= 1");
  } else if (n < k) {
    valid = absl::InvalidArgumentError(absl::StrCat(
        "k-means needs at least k = ", k, " training points, got ", n));
  } else if (first < 0 || data.rows < 0 || first + data.rows > n) {
    valid = absl::InvalidArgumentError("k-means part outside the sample");
  }
  if (absl::Status s = partition->Agree(valid); !s.ok()) return s;
  std::mt19937_64 rng(options.seed);

  // Subsample to a bounded number of points per centroid, copied densely.
  // The choice is made over the whole sample's rows, so every part keeps the
  // rows of the whole-sample choice that it holds, in the same order.
  const int64_t cap =
      options.max_points_per_centroid > 0
          ? std::min<int64_t>(
                n, k * static_cast<int64_t>(options.max_points_per_centroid))
          : n;
  std::vector<int64_t> chosen;  // Whole-sample rows; empty = all.
  if (cap < n) chosen = SampleIndices(n, cap, rng);
  const int64_t m = cap;
  int64_t m_first = first;  // This part's first row of the subsample.
  int64_t m_local = data.rows;
  if (!chosen.empty()) {
    auto lo = std::lower_bound(chosen.begin(), chosen.end(), first);
    auto hi = std::lower_bound(lo, chosen.end(), first + data.rows);
    m_first = lo - chosen.begin();
    m_local = hi - lo;
  }
  std::vector<float> points(m_local * d);
  for (int64_t i = 0; i < m_local; ++i) {
    const int64_t row = chosen.empty() ? i : chosen[m_first + i] - first;
    std::copy_n(data.row(row), d, points.data() + i * d);
  }
  MatrixView<const float> x(points.data(), m_local, d);

  KMeansResult result;
  result.points_used = m;
  result.centroids.resize(k * d);
  {
    // The seeds are drawn from a sample gathered from the parts in row
    // order: k-means++ chooses among its points, uniform seeding takes them
    // all.
    const bool plus_plus = options.seeding == KMeansOptions::Seeding::kPlusPlus;
    const int64_t s = plus_plus ? std::min(m, kSeedPointsPerCentroid * k) : k;
    std::vector<int64_t> idx = SampleIndices(m, s, rng);
    auto lo = std::lower_bound(idx.begin(), idx.end(), m_first);
    auto hi = std::lower_bound(lo, idx.end(), m_first + m_local);
    std::vector<float> mine;
    mine.reserve((hi - lo) * d);
    for (auto it = lo; it != hi; ++it) {
      const float* p = points.data() + (*it - m_first) * d;
      mine.insert(mine.end(), p, p + d);
    }
    std::vector<float> sample;
    if (absl::Status st = partition->Concatenate(mine, &sample); !st.ok())
      return st;
    if (static_cast<int64_t>(sample.size()) != s * d) {
      return absl::InternalError("k-means seed sample of the wrong size");
    }
    if (plus_plus) {
      InitPlusPlus(sample.data(), s, d, k, rng, executor,
                   result.centroids.data());
    } else {
      std::copy(sample.begin(), sample.end(), result.centroids.begin());
    }
  }
  if (options.spherical) {
    for (int64_t c = 0; c < k; ++c)
      Normalize(result.centroids.data() + c * d, d);
  }

  float max_abs = 0;
  for (float v : points) max_abs = std::max(max_abs, std::fabs(v));
  if (absl::Status st = partition->MaxFloat(&max_abs); !st.ok()) return st;
  const int shift = FixedPointShift(max_abs, m);
  const double to_fixed = std::ldexp(1.0, shift);
  const double from_fixed = std::ldexp(1.0, -shift);

  std::vector<float> norms(k);
  std::vector<int32_t> assign(m_local);
  std::vector<float> dist(m_local);
  std::vector<__int128> sums(k * d);
  // Per iteration, summed across parts: k * d high limbs, k * d low limbs,
  // then k counts.
  std::vector<int64_t> reduced(2 * k * d + k);
  std::vector<int64_t> counts(k);
  const int threads = internal::NumThreads(executor);
  for (int it = 1; it <= options.iterations; ++it) {
    linalg::RowSquaredNorms(result.centroids.data(), k, d, d, norms.data());
    AssignNearest(result.centroids.data(),
                  options.inner_product ? nullptr : norms.data(), k, x,
                  assign.data(), dist.data(), executor);
    double objective = 0;
    for (int64_t i = 0; i < m_local; ++i) objective += dist[i];
    if (absl::Status st = partition->SumDouble(absl::MakeSpan(&objective, 1));
        !st.ok()) {
      return st;
    }
    result.objective = objective;
    result.iterations = it;

    // Column blocks are independent; the sums are exact, so neither the
    // split nor the order of the points changes them.
    std::fill(sums.begin(), sums.end(), 0);
    const int64_t grain =
        std::max<int64_t>(8, (d + 2 * threads - 1) / (2 * threads));
    internal::ParallelForRange(executor, d, grain, [&](int64_t j0, int64_t j1) {
      for (int64_t i = 0; i < m_local; ++i) {
        const float* p = points.data() + i * d;
        __int128* s = sums.data() + int64_t{assign[i]} * d;
        for (int64_t j = j0; j < j1; ++j)
          s[j] += static_cast<int64_t>(double{p[j]} * to_fixed);
      }
    });
    const int64_t kd = k * d;
    for (int64_t i = 0; i < kd; ++i) {
      reduced[i] = static_cast<int64_t>(sums[i] >> 32);
      reduced[kd + i] = static_cast<int64_t>(sums[i] & 0xffffffff);
    }
    std::fill(reduced.begin() + 2 * kd, reduced.end(), 0);
    for (int64_t i = 0; i < m_local; ++i) ++reduced[2 * kd + assign[i]];
    if (absl::Status st = partition->SumInt64(absl::MakeSpan(reduced));
        !st.ok()) {
      return st;
    }
    std::copy(reduced.begin() + 2 * kd, reduced.end(), counts.begin());
    for (int64_t c = 0; c < k; ++c) {
      if (counts[c] == 0) continue;
      const double inv = 1.0 / counts[c];
      float* cc = result.centroids.data() + c * d;
      for (int64_t j = 0; j < d; ++j) {
        const __int128 total =
            (static_cast<__int128>(reduced[c * d + j]) << 32) +
            reduced[kd + c * d + j];
        cc[j] =
            static_cast<float>(static_cast<double>(total) * from_fixed * inv);
      }
    }
    RepairEmptyClusters(result.centroids, counts, d, rng);
    if (options.spherical) {
      for (int64_t c = 0; c < k; ++c)
        Normalize(result.centroids.data() + c * d, d);
    }
    if (options.progress) options.progress(it, objective);
  }
  return result;
}

}  // namespace vindex::train
