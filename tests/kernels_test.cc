// Every ISA the machine has, against the scalar reference, on awkward shapes:
// dims 1..130, odd strides and unaligned pointers.
#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "vindex/index.h"

namespace vindex::kernels {
namespace {

// The table of every ISA but scalar that this build and CPU run, each pinned
// through the dispatcher's allowed mask.
std::vector<const KernelTable*> SimdTables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : kIsas) {
    if (isa == Isa::kScalar) continue;
    if (const KernelTable* t = Select<KernelTable>(IsaBit(isa))) {
      EXPECT_EQ(t->isa, isa);
      out.push_back(t);
    }
  }
  return out;
}

// Float sums in a different order differ by rounding; bound it by the sum of
// absolute terms.
double Tolerance(const float* a, const float* b, size_t d, bool l2) {
  double mag = 0;
  for (size_t j = 0; j < d; ++j) {
    mag += l2 ? (double(a[j]) - b[j]) * (double(a[j]) - b[j])
              : std::abs(double(a[j]) * b[j]);
  }
  return 1e-5 * mag + 1e-6;
}

TEST(Kernels, ScalarAlwaysAvailableAndActiveIsNamed) {
  ASSERT_NE(Select<KernelTable>(IsaBit(Isa::kScalar)), nullptr);
  EXPECT_FALSE(ActiveIsaName().empty());
  EXPECT_EQ(ActiveIsaName(), IsaName(Active().isa));
  if ((RunnableIsas() & IsaBit(Isa::kAvx2)) != 0 &&
      std::getenv("VINDEX_ISA") == nullptr) {
    EXPECT_NE(Active().isa, Isa::kScalar)
        << "AVX2 CPU but scalar kernels chosen";
  }
}

TEST(Kernels, PairKernelsMatchScalar) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> buf(2 * 140 + 8);
  for (auto& x : buf) x = u(rng);
  for (const KernelTable* t : SimdTables()) {
    for (size_t d = 1; d <= 130; ++d) {
      for (size_t off = 0; off < 3; ++off) {  // Unaligned starts.
        const float* a = buf.data() + off;
        const float* b = buf.data() + 140 + 2 * off + 1;
        EXPECT_NEAR(t->l2_sqr(a, b, d), ref.l2_sqr(a, b, d),
                    Tolerance(a, b, d, true))
            << IsaName(t->isa) << " d=" << d;
        EXPECT_NEAR(t->inner_product(a, b, d), ref.inner_product(a, b, d),
                    Tolerance(a, b, d, false))
            << IsaName(t->isa) << " d=" << d;
      }
    }
  }
}

TEST(Kernels, RowKernelsMatchScalarWithOddStrides) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-2, 2);
  for (const KernelTable* t : SimdTables()) {
    for (size_t d = 1; d <= 130; d += (d < 20 ? 1 : 7)) {
      for (size_t extra : {0, 1, 3}) {
        const size_t stride = d + extra;
        const size_t n = 13;  // Not a multiple of the 4-row block.
        // Allocate exactly what the contract allows to be read, so ASan
        // catches any overread past the last row's d-th element.
        std::vector<float> rows((n - 1) * stride + d + 1);
        for (auto& x : rows) x = u(rng);
        std::vector<float> q(d + 1);
        for (auto& x : q) x = u(rng);
        const float* rp = rows.data() + 1;  // Unaligned.
        rows.resize(rows.size());
        std::vector<float> got(n), want(n);
        t->l2_sqr_rows(q.data() + 1, rp, n, d, stride, got.data());
        ref.l2_sqr_rows(q.data() + 1, rp, n, d, stride, want.data());
        for (size_t i = 0; i < n; ++i) {
          EXPECT_NEAR(got[i], want[i],
                      Tolerance(q.data() + 1, rp + i * stride, d, true))
              << IsaName(t->isa) << " l2 d=" << d << " stride=" << stride
              << " row=" << i;
        }
        t->inner_product_rows(q.data() + 1, rp, n, d, stride, got.data());
        ref.inner_product_rows(q.data() + 1, rp, n, d, stride, want.data());
        for (size_t i = 0; i < n; ++i) {
          EXPECT_NEAR(got[i], want[i],
                      Tolerance(q.data() + 1, rp + i * stride, d, false))
              << IsaName(t->isa) << " ip d=" << d << " stride=" << stride
              << " row=" << i;
        }
      }
    }
  }
}

// The multi-query row kernels equal the same table's one-query row kernel
// bit for bit (a batch scores exactly as one query at a time), for every
// query count (odd ones take the single-query path for the last query) and
// row count (the last n % 4 rows take the pair kernel); and so match scalar
// within rounding.
TEST(Kernels, MultiQueryRowKernelsEqualOneQueryRowKernels) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<const KernelTable*> tables = SimdTables();
  tables.push_back(Select<KernelTable>(IsaBit(Isa::kScalar)));
  for (const KernelTable* t : tables) {
    for (size_t d : {1, 3, 8, 15, 16, 17, 33, 64, 100, 128, 130}) {
      const size_t stride = d + (d % 3);
      for (size_t n : {0, 1, 4, 7, 13}) {
        for (size_t nq : {1, 2, 3, 5}) {
          // Exactly the floats the contract allows to be read (ASan checks).
          std::vector<float> rows(n == 0 ? 0 : (n - 1) * stride + d);
          for (auto& x : rows) x = u(rng);
          std::vector<std::vector<float>> qs(nq, std::vector<float>(d));
          std::vector<const float*> qp;
          for (auto& q : qs) {
            for (auto& x : q) x = u(rng);
            qp.push_back(q.data());
          }
          const size_t out_stride = n + 2;
          for (bool l2 : {true, false}) {
            std::vector<float> got(nq * out_stride, -7.0f), want(n);
            (l2 ? t->l2_sqr_rows_multi : t->inner_product_rows_multi)(
                qp.data(), nq, rows.data(), n, d, stride, got.data(),
                out_stride);
            for (size_t j = 0; j < nq; ++j) {
              (l2 ? t->l2_sqr_rows : t->inner_product_rows)(
                  qp[j], rows.data(), n, d, stride, want.data());
              for (size_t i = 0; i < n; ++i) {
                EXPECT_EQ(got[j * out_stride + i], want[i])
                    << IsaName(t->isa) << (l2 ? " l2" : " ip") << " d=" << d
                    << " n=" << n << " nq=" << nq << " query " << j << " row "
                    << i;
              }
              // Past n in each output row nothing is written.
              for (size_t i = n; i < out_stride; ++i)
                EXPECT_EQ(got[j * out_stride + i], -7.0f);
            }
          }
        }
      }
    }
  }
}

// The *_rows kernels' group contract (kernels.h): a call on one group of
// kRowsGroup rows, or on the last n % kRowsGroup, writes the bits the call on
// all n rows writes for them.
TEST(Kernels, RowKernelsScoreEachGroupAsTheWholeCall) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<const KernelTable*> tables = SimdTables();
  tables.push_back(Select<KernelTable>(IsaBit(Isa::kScalar)));
  for (const KernelTable* t : tables) {
    for (size_t d : {1, 7, 16, 33, 130, 300}) {
      const size_t stride = d + 1;
      for (size_t n : {1, 3, 4, 9, 14}) {
        std::vector<float> rows(n * stride), q(d);
        for (auto& x : rows) x = u(rng);
        for (auto& x : q) x = u(rng);
        for (bool l2 : {true, false}) {
          const auto fn = l2 ? t->l2_sqr_rows : t->inner_product_rows;
          std::vector<float> whole(n), part(kRowsGroup);
          fn(q.data(), rows.data(), n, d, stride, whole.data());
          for (size_t g = 0; g < n; g += kRowsGroup) {
            const size_t m = std::min(kRowsGroup, n - g);
            fn(q.data(), rows.data() + g * stride, m, d, stride, part.data());
            for (size_t j = 0; j < m; ++j) {
              EXPECT_EQ(part[j], whole[g + j])
                  << IsaName(t->isa) << (l2 ? " l2" : " ip") << " d=" << d
                  << " n=" << n << " row " << g + j;
            }
          }
        }
      }
    }
  }
}

TEST(Kernels, L2FromIpMatchesScalar) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 4);
  for (const KernelTable* t : SimdTables()) {
    for (size_t n : {0, 1, 7, 8, 9, 31, 100}) {
      std::vector<float> ip(n + 1), norms(n + 1), got(n + 1), want(n + 1);
      for (size_t i = 0; i <= n; ++i) ip[i] = u(rng), norms[i] = u(rng);
      t->l2_from_ip(ip.data() + 1, norms.data() + 1, 1.5f, n, got.data() + 1);
      ref.l2_from_ip(ip.data() + 1, norms.data() + 1, 1.5f, n, want.data() + 1);
      for (size_t i = 1; i <= n; ++i)
        EXPECT_NEAR(got[i], want[i], 1e-5) << IsaName(t->isa);
      // In place (aliased output) is allowed.
      std::vector<float> inplace = ip;
      t->l2_from_ip(inplace.data() + 1, norms.data() + 1, 1.5f, n,
                    inplace.data() + 1);
      for (size_t i = 1; i <= n; ++i)
        EXPECT_NEAR(inplace[i], want[i], 1e-5) << IsaName(t->isa);
    }
  }
}

TEST(Kernels, ThresholdFilterEqualsScalarExactly) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(4);
  for (const KernelTable* t : SimdTables()) {
    for (size_t n : {0, 1, 5, 31, 32, 33, 64, 100, 1000}) {
      std::vector<float> d(n);
      for (auto& x : d) x = static_cast<float>(rng() % 10);
      if (n > 3) d[2] = NAN;  // NaN never passes.
      for (float thr : {-1.0f, 0.0f, 4.0f, 9.0f, INFINITY}) {
        std::vector<uint32_t> got(n + 1), want(n + 1);
        size_t gm = t->threshold_filter(d.data(), n, thr, got.data());
        size_t wm = ref.threshold_filter(d.data(), n, thr, want.data());
        ASSERT_EQ(gm, wm) << IsaName(t->isa) << " n=" << n << " thr=" << thr;
        got.resize(gm);
        want.resize(wm);
        EXPECT_EQ(got, want) << IsaName(t->isa);
        for (uint32_t i : want) EXPECT_LE(d[i], thr);
      }
    }
  }
}

TEST(Kernels, CountLessEqualsScalarExactly) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(5);
  for (const KernelTable* t : SimdTables()) {
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 31, 80, 255, 256}) {
      std::vector<float> d(n);
      for (auto& x : d) x = static_cast<float>(rng() % 13) - 6.0f;  // Ties.
      if (n > 3) d[1] = NAN;
      if (n > 5) d[4] = -INFINITY;
      if (n > 6) d[5] = -0.0f;  // Equal to 0.0f.
      std::vector<uint32_t> got(n + 1, 7), want(n + 1, 7);
      t->count_less(d.data(), n, got.data());
      ref.count_less(d.data(), n, want.data());
      EXPECT_EQ(got, want) << IsaName(t->isa) << " n=" << n;
    }
  }
}

TEST(Kernels, ScalarCountLessOnKnownValues) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  const float d[7] = {3, 1, 3, NAN, -INFINITY, 2, -0.0f};
  uint32_t less[7];
  ref.count_less(d, 7, less);
  EXPECT_EQ(std::vector<uint32_t>(less, less + 7),
            (std::vector<uint32_t>{4, 2, 4, 0, 0, 3, 1}));
}

// Every ISA's selection equals a sort's, including many ties, -0 / +0,
// infinities and sizes around the SIMD width; the input is left unchanged.
TEST(Kernels, KthSmallestEqualsSort) {
  std::vector<const KernelTable*> tables = SimdTables();
  tables.push_back(Select<KernelTable>(IsaBit(Isa::kScalar)));
  std::mt19937 rng(8);
  for (const KernelTable* t : tables) {
    for (size_t n : {1, 2, 15, 16, 17, 32, 33, 80, 160, 161, 1000, 4097}) {
      for (int ties : {0, 1}) {
        std::vector<float> d(n);
        for (auto& x : d) {
          x = ties ? static_cast<float>(rng() % 7) - 3.0f
                   : std::normal_distribution<float>(0, 1)(rng);
        }
        if (n > 4) d[3] = -0.0f;
        if (n > 5) d[4] = INFINITY;
        if (n > 6) d[5] = -INFINITY;
        const std::vector<float> before = d;
        std::vector<float> sorted = d;
        std::sort(sorted.begin(), sorted.end());
        std::vector<float> scratch(3 * (n + 16));
        for (size_t k : {size_t{0}, n / 3, n / 2, n - 1}) {
          const float got = t->kth_smallest(d.data(), n, k, scratch.data());
          EXPECT_EQ(got, sorted[k])
              << IsaName(t->isa) << " n=" << n << " k=" << k;
        }
        EXPECT_EQ(d, before) << IsaName(t->isa);
      }
    }
  }
}

TEST(Kernels, ScalarIsCorrectOnKnownValues) {
  const KernelTable& ref = *Select<KernelTable>(IsaBit(Isa::kScalar));
  float a[3] = {1, 2, 3}, b[3] = {4, 6, 3};
  EXPECT_FLOAT_EQ(ref.l2_sqr(a, b, 3), 9 + 16 + 0);
  EXPECT_FLOAT_EQ(ref.inner_product(a, b, 3), 4 + 12 + 9);
}

}  // namespace
}  // namespace vindex::kernels
