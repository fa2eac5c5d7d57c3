#include "kernels/sq_kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"
#include "train/scalar_quantizer.h"

namespace vindex::kernels {
namespace {

// Every available ISA must equal the scalar reference exactly (integer
// kernels), on awkward dims and unaligned pointers.
TEST(SqKernelsTest, EveryIsaMatchesScalar) {
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(5);
  int tested = 0;
  for (Isa isa : kIsas) {
    const SqKernelTable* t = Select<SqKernelTable>(IsaBit(isa));
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
            << IsaName(t->isa) << " d=" << d;
        EXPECT_EQ(t->dot_u8(pa, pb, d), ref.dot_u8(pa, pb, d))
            << IsaName(t->isa) << " d=" << d;
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
  EXPECT_EQ(sq::Active().isa, ActiveIsa());
}

// 4-bit kernels: every ISA equals the scalar reference exactly, for code
// lengths around the 32- and 64-byte steps, unaligned pointers, and the
// extreme values at the largest allowed length.
TEST(SqKernelsTest, FourBitEveryIsaMatchesScalar) {
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(11);
  int tested = 0;
  for (Isa isa : kIsas) {
    const SqKernelTable* t = Select<SqKernelTable>(IsaBit(isa));
    if (t == nullptr) continue;
    ++tested;
    for (size_t p = 1; p <= 200; ++p) {
      for (size_t misalign : {0, 1, 5}) {
        std::vector<uint8_t> q4(2 * p + misalign), q8(2 * p + misalign),
            c(p + misalign);
        for (auto& v : q4) v = static_cast<uint8_t>(rng() & 15);
        for (auto& v : q8) v = static_cast<uint8_t>(rng());
        for (auto& v : c) v = static_cast<uint8_t>(rng());
        const uint8_t* pc = c.data() + misalign;
        EXPECT_EQ(t->l2_sqr_u4(q4.data() + misalign, pc, p),
                  ref.l2_sqr_u4(q4.data() + misalign, pc, p))
            << IsaName(t->isa) << " p=" << p;
        EXPECT_EQ(t->dot_u8_u4(q8.data() + misalign, pc, p),
                  ref.dot_u8_u4(q8.data() + misalign, pc, p))
            << IsaName(t->isa) << " p=" << p;
      }
    }
    const size_t p = kSqMaxDim / 2;
    std::vector<uint8_t> zeros(2 * p, 0), fifteens(2 * p, 15), full(2 * p, 255),
        code(p, 0xff);
    EXPECT_EQ(t->l2_sqr_u4(zeros.data(), code.data(), p), 225u * 2 * p);
    EXPECT_EQ(t->l2_sqr_u4(fifteens.data(), code.data(), p), 0u);
    EXPECT_EQ(t->dot_u8_u4(full.data(), code.data(), p), 255u * 15u * 2 * p);
  }
  EXPECT_GE(tested, 1);
}

// The nibble order is the layout's contract: element j low, p + j high.
TEST(SqKernelsTest, FourBitLayout) {
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  const uint8_t code[2] = {0x21, 0x43};  // Elements 1, 3 (low), 2, 4 (high).
  const uint8_t q4[4] = {1, 3, 2, 4};
  EXPECT_EQ(ref.l2_sqr_u4(q4, code, 2), 0u);
  const uint8_t q8[4] = {10, 20, 30, 40};
  EXPECT_EQ(ref.dot_u8_u4(q8, code, 2), 10u * 1 + 20u * 3 + 30u * 2 + 40u * 4);
}

// fp16 kernels: every ISA within float rounding of the scalar reference.
TEST(SqKernelsTest, Fp16EveryIsaMatchesScalar) {
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-4, 4);
  for (Isa isa : kIsas) {
    const SqKernelTable* t = Select<SqKernelTable>(IsaBit(isa));
    if (t == nullptr) continue;
    for (size_t d = 1; d <= 130; ++d) {
      for (size_t misalign : {0, 1}) {
        std::vector<float> q(d + misalign);
        std::vector<uint16_t> x(d + misalign);
        for (auto& v : q) v = u(rng);
        for (auto& v : x) v = FloatToHalf(u(rng));
        const float* pq = q.data() + misalign;
        const uint16_t* px = x.data() + misalign;
        double l2 = 0, ip = 0, mag = 0;
        for (size_t j = 0; j < d; ++j) {
          const double t2 = pq[j] - HalfToFloat(px[j]);
          l2 += t2 * t2;
          ip += pq[j] * HalfToFloat(px[j]);
          mag += std::abs(pq[j] * HalfToFloat(px[j]));
        }
        EXPECT_NEAR(t->l2_sqr_f16(pq, px, d), ref.l2_sqr_f16(pq, px, d),
                    1e-5 * (1 + l2))
            << IsaName(t->isa) << " d=" << d;
        EXPECT_NEAR(ref.l2_sqr_f16(pq, px, d), l2, 1e-5 * (1 + l2));
        EXPECT_NEAR(t->ip_f16(pq, px, d), ref.ip_f16(pq, px, d),
                    1e-5 * (1 + mag))
            << IsaName(t->isa) << " d=" << d;
        EXPECT_NEAR(ref.ip_f16(pq, px, d), ip, 1e-5 * (1 + mag));
      }
    }
  }
}

// Every finite half survives half -> float -> half; rounding is to nearest
// even; values beyond the half range saturate.
TEST(SqKernelsTest, HalfConversions) {
  for (uint32_t h = 0; h < 65536; ++h) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;  // Inf / NaN.
    EXPECT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x0001), 0x1p-24f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(FloatToHalf(1.0f + 0x1p-11f), 0x3c00);      // Tie: to even.
  EXPECT_EQ(FloatToHalf(1.0f + 3 * 0x1p-11f), 0x3c02);  // Tie: to even (up).
  EXPECT_EQ(FloatToHalf(1e9f), 0x7bff);
  EXPECT_EQ(FloatToHalf(-1e9f), 0xfbff);
  EXPECT_EQ(FloatToHalf(0x1p-26f), 0);  // Below half the smallest subnormal.
}

TEST(SqKernelsTest, ScalarReferenceValues) {
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  const uint8_t a[3] = {1, 200, 7};
  const uint8_t b[3] = {4, 100, 7};
  EXPECT_EQ(ref.l2_sqr_u8(a, b, 3), 9u + 10000u);
  EXPECT_EQ(ref.dot_u8(a, b, 3), 4u + 20000u + 49u);
}

TEST(ScalarQuantizerTest, EncodesWithinHalfAStep) {
  const int d = 7;
  std::vector<float> rows = {0, 1, 2, 3, 4, 5, 6, 10, -1, 2, 3, 4, 5, 7};
  internal::ScalarQuantizer sq;
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

// A code is the value in code units rounded to nearest, ties to even, then
// clamped to [0, max code]; NaN encodes as 0. Checked on a dense grid of
// quarter steps (every tie) and beyond the range, for 8 and 4 bits.
TEST(ScalarQuantizerTest, CodesRoundToNearestEvenAndClamp) {
  for (int bits : {8, 4}) {
    const float max_code = static_cast<float>((1 << bits) - 1);
    internal::ScalarQuantizer sq(bits);
    sq.Set({0.0f}, 1.0f);
    uint8_t code;
    for (float v = -3.0f; v <= max_code + 3.0f; v += 0.25f) {
      const float r = std::min(std::max(std::nearbyint(v), 0.0f), max_code);
      sq.Encode(&v, &code);
      EXPECT_EQ(code, static_cast<uint8_t>(r)) << "bits=" << bits << " v=" << v;
    }
    for (float v :
         {std::nanf(""), -INFINITY, INFINITY, 1e30f, -1e30f, 4194303.5f}) {
      sq.Encode(&v, &code);
      EXPECT_EQ(code, v > 0 ? static_cast<uint8_t>(max_code) : 0)
          << "bits=" << bits << " v=" << v;
    }
  }
  // Ties go to the even neighbour: 2.5 -> 2, 3.5 -> 4.
  internal::ScalarQuantizer sq8;
  sq8.Set({0.0f, 0.0f}, 1.0f);
  const float ties[2] = {2.5f, 3.5f};
  uint8_t codes[2];
  sq8.Encode(ties, codes);
  EXPECT_EQ(codes[0], 2);
  EXPECT_EQ(codes[1], 4);
}

TEST(ScalarQuantizerTest, FourBitCodesAndPacking) {
  const int d = 5;
  std::vector<float> rows = {0, 1, 2, 3, 4, 15, 2, 3, 4, 5};
  internal::ScalarQuantizer sq(4);
  sq.Fit(rows.data(), 2, d);
  EXPECT_FLOAT_EQ(sq.step(), 1.0f);  // Largest range: dim 0, [0, 15].
  std::vector<uint8_t> code(d);
  sq.Encode(rows.data() + d, code.data());
  EXPECT_EQ(code, (std::vector<uint8_t>{15, 1, 1, 1, 1}));
  std::vector<float> big(d, 1e6f);
  sq.Encode(big.data(), code.data());
  EXPECT_EQ(code[0], 15);  // Clamps at the largest 4-bit code.
  // Packed: element j low, element 3 + j high; the nibble past d is zero.
  ASSERT_EQ(internal::ScalarQuantizer::PackedBytes(d), 3u);
  sq.Set(std::vector<float>(d, 0.0f), 1.0f);
  const float one[5] = {1, 2, 3, 4, 5};  // Codes 1..5.
  uint8_t packed[3];
  sq.EncodePacked(one, packed);
  EXPECT_EQ(packed[0], 0x41);
  EXPECT_EQ(packed[1], 0x52);
  EXPECT_EQ(packed[2], 0x03);
  EXPECT_EQ(internal::ScalarQuantizer::PackedSum(packed, d), 15u);
  // The packed kernels score what the unpacked codes give.
  const SqKernelTable& ref = *Select<SqKernelTable>(IsaBit(Isa::kScalar));
  const uint8_t q[6] = {5, 4, 3, 2, 1, 0};
  EXPECT_EQ(ref.l2_sqr_u4(q, packed, 3), 16u + 4u + 0u + 4u + 16u);
}

}  // namespace
}  // namespace vindex::kernels
