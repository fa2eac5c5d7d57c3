#include "kernels/sq_kernels.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "index/scalar_quantizer.h"

namespace vindex::kernels {
namespace {

// Every available ISA must equal the scalar reference exactly (integer
// kernels), on awkward dims and unaligned pointers.
TEST(SqKernelsTest, EveryIsaMatchesScalar) {
  const SqKernelTable& ref = *sq::ForIsa(Isa::kScalar);
  std::mt19937 rng(5);
  int tested = 0;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const SqKernelTable* t = sq::ForIsa(isa);
    if (t == nullptr) continue;
    ++tested;
    for (size_t d = 1; d <= 130; ++d) {
      for (size_t misalign : {0, 1, 3}) {
        std::vector<uint8_t> a(d + misalign), b(d + misalign);
        for (auto& v : a) v = static_cast<uint8_t>(rng());
        for (auto& v : b) v = static_cast<uint8_t>(rng());
        const uint8_t* pa = a.data() + misalign;
        const uint8_t* pb = b.data() + misalign;
        EXPECT_EQ(t->l2_sqr_u8(pa, pb, d), ref.l2_sqr_u8(pa, pb, d))
            << t->name << " d=" << d;
        EXPECT_EQ(t->dot_u8(pa, pb, d), ref.dot_u8(pa, pb, d))
            << t->name << " d=" << d;
      }
    }
    // Extremes: all 255 vs 0 at the largest allowed dim stays exact.
    std::vector<uint8_t> hi(kSqMaxDim, 255), lo(kSqMaxDim, 0);
    EXPECT_EQ(t->l2_sqr_u8(hi.data(), lo.data(), kSqMaxDim),
              255u * 255u * kSqMaxDim);
    EXPECT_EQ(t->dot_u8(hi.data(), hi.data(), kSqMaxDim),
              255u * 255u * kSqMaxDim);
  }
  EXPECT_GE(tested, 1);
  EXPECT_NE(sq::Active().name, nullptr);
}

TEST(SqKernelsTest, ScalarReferenceValues) {
  const SqKernelTable& ref = *sq::ForIsa(Isa::kScalar);
  const uint8_t a[3] = {1, 200, 7};
  const uint8_t b[3] = {4, 100, 7};
  EXPECT_EQ(ref.l2_sqr_u8(a, b, 3), 9u + 10000u);
  EXPECT_EQ(ref.dot_u8(a, b, 3), 4u + 20000u + 49u);
}

TEST(ScalarQuantizerTest, EncodesWithinHalfAStep) {
  const int d = 7;
  std::vector<float> rows = {0, 1, 2, 3, 4, 5, 6, 10, -1, 2, 3, 4, 5, 7};
  internal::ScalarQuantizer8 sq;
  sq.Fit(rows.data(), 2, d);
  EXPECT_FLOAT_EQ(sq.step(), 10.0f / 255.0f);  // Largest range: dim 0, [0, 10].
  std::vector<uint8_t> code(d);
  for (int r = 0; r < 2; ++r) {
    sq.Encode(rows.data() + r * d, code.data());
    for (int j = 0; j < d; ++j) {
      const float back = sq.offsets()[j] + sq.step() * code[j];
      EXPECT_NEAR(back, rows[r * d + j], sq.step() / 2 + 1e-6);
    }
  }
  // Out-of-range values clamp.
  std::vector<float> big(d, 1e6f), small(d, -1e6f);
  sq.Encode(big.data(), code.data());
  EXPECT_EQ(code[0], 255);
  sq.Encode(small.data(), code.data());
  EXPECT_EQ(code[0], 0);
}

}  // namespace
}  // namespace vindex::kernels
