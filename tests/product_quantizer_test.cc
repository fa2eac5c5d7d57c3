#include "train/product_quantizer.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/executor.h"

namespace vindex::train {
namespace {

// Reconstruction error of an exact nearest-codeword encoder in double
// precision: the reference our encoder must match.
double ReferenceError(const ProductQuantizer& pq, const std::vector<float>& x,
                      int n, std::vector<uint8_t>* codes) {
  const int d = pq.dim(), m = pq.m(), dsub = pq.dsub();
  double total = 0;
  codes->resize(size_t(n) * m);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) {
      double best = std::numeric_limits<double>::infinity();
      int arg = 0;
      for (int c = 0; c < pq.ksub(); ++c) {
        const float* y = pq.codebook(j) + c * dsub;
        double s = 0;
        for (int t = 0; t < dsub; ++t) {
          const double diff = double{x[i * d + j * dsub + t]} - y[t];
          s += diff * diff;
        }
        if (s < best) best = s, arg = c;
      }
      total += best;
      (*codes)[i * m + j] = static_cast<uint8_t>(arg);
    }
  }
  return total / n;
}

class PqTest : public ::testing::TestWithParam<int> {};

TEST_P(PqTest, EncodeDecodeErrorMatchesReference) {
  const int bits = GetParam();
  const int d = 32, m = 8, n = 5000;
  std::vector<float> x = testing::ClusteredVectors(n, d, 50, 9);
  ProductQuantizer pq;
  ASSERT_TRUE(pq.Init(d, m, bits).ok());
  ThreadPool pool(2);
  ASSERT_TRUE(
      pq.Train(MatrixView<const float>(x.data(), n, d), 10, 5, &pool).ok());
  std::vector<uint8_t> codes(size_t(n) * m);
  pq.Encode(MatrixView<const float>(x.data(), n, d), codes.data(), &pool);
  std::vector<float> rec(d);
  double err = 0, energy = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) ASSERT_LT(codes[i * m + j], pq.ksub());
    pq.Decode(codes.data() + i * m, rec.data());
    for (int t = 0; t < d; ++t) {
      const double diff = double{x[i * d + t]} - rec[t];
      err += diff * diff;
      energy += double{x[i * d + t]} * x[i * d + t];
    }
  }
  err /= n;
  energy /= n;
  std::vector<uint8_t> ref_codes;
  const double ref = ReferenceError(pq, x, n, &ref_codes);
  EXPECT_NEAR(err, ref, 1e-4 * (1 + ref));
  size_t same = 0;
  for (size_t i = 0; i < codes.size(); ++i) same += codes[i] == ref_codes[i];
  EXPECT_GE(same, codes.size() * 999 / 1000);
  // A trained quantizer explains most of the energy of clustered data.
  EXPECT_LT(err, (bits == 8 ? 0.05 : 0.25) * energy)
      << "err " << err << " energy " << energy;
}

INSTANTIATE_TEST_SUITE_P(Bits, PqTest, ::testing::Values(4, 8));

TEST(PqTest, RejectsBadShapes) {
  ProductQuantizer pq;
  EXPECT_FALSE(pq.Init(30, 8, 8).ok());  // 8 does not divide 30.
  EXPECT_FALSE(pq.Init(32, 8, 5).ok());
  ASSERT_TRUE(pq.Init(32, 8, 8).ok());
  std::vector<float> x = testing::RandomVectors(100, 32, 1);
  EXPECT_EQ(pq.Train(MatrixView<const float>(x.data(), 100, 32), 5, 1, nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);  // Fewer points than 256.
}

}  // namespace
}  // namespace vindex::train
