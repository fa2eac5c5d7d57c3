#include "train/pca_rotation.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace vindex::train {
namespace {

// Rows whose coordinate c has its own spread, so the principal axes are
// distinct; then mixed by a fixed random orthogonal-ish map (a few planar
// rotations) so that they are not the coordinate axes.
std::vector<float> SpreadRows(int64_t n, int d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(n * d);
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < d; ++c) {
      x[i * d + c] = (0.05f + 3.0f / (1 + (c * 37) % d)) * g(rng) + 1.0f;
    }
    for (int c = 0; c + 1 < d; c += 2) {
      const float a = x[i * d + c], b = x[i * d + c + 1];
      x[i * d + c] = 0.6f * a - 0.8f * b;
      x[i * d + c + 1] = 0.8f * a + 0.6f * b;
    }
  }
  return x;
}

// Variance of each coordinate of n rows of d.
std::vector<double> Variances(const std::vector<float>& y, int64_t n, int d) {
  std::vector<double> mean(d, 0), var(d, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < d; ++c) mean[c] += y[i * d + c] / double(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < d; ++c) {
      const double t = y[i * d + c] - mean[c];
      var[c] += t * t / double(n);
    }
  }
  return var;
}

// With fewer leading axes than dimensions the map is still orthogonal, its
// leading coordinates are the principal axes (decreasing variance, holding
// the most any `lead` coordinates can), and the inverse undoes it.
TEST(PcaRotationTest, LeadingAxesOfAnOrthogonalMap) {
  const int d = 100, lead = 16;
  const int64_t n = 5000;
  std::vector<float> x = SpreadRows(n, d, 1);
  auto learned =
      PcaRotation::Learn(MatrixView<const float>(x.data(), n, d), lead);
  ASSERT_TRUE(learned.ok()) << learned.status();
  const PcaRotation& r = *learned;
  EXPECT_EQ(r.lead(), lead);
  const std::vector<float> dense = r.Dense();
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      double dot = 0;
      for (int c = 0; c < d; ++c)
        dot += double{dense[i * d + c]} * dense[j * d + c];
      ASSERT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5) << i << "," << j;
    }
  }
  std::vector<float> y(n * d), back(n * d);
  r.Apply(x.data(), n, d, y.data());
  r.ApplyInverse(y.data(), n, back.data(), d);
  for (int64_t i = 0; i < n * d; ++i) {
    ASSERT_NEAR(back[i], x[i], 1e-4 * (1 + std::fabs(x[i]))) << i;
  }
  // Apply agrees with the dense matrix.
  for (int i = 0; i < d; ++i) {
    double s = 0;
    for (int c = 0; c < d; ++c) s += double{dense[i * d + c]} * x[c];
    EXPECT_NEAR(y[i], s, 1e-4 * (1 + std::fabs(s)));
  }
  const std::vector<double> var = Variances(y, n, d);
  std::vector<double> raw = Variances(x, n, d);
  double total = 0, leading = 0;
  for (int c = 0; c < d; ++c) total += var[c];
  for (int c = 0; c < lead; ++c) {
    leading += var[c];
    if (c > 0) EXPECT_GE(var[c - 1], var[c] * 0.999) << c;
  }
  // Any coordinates after the leading ones carry less than the last axis.
  for (int c = lead; c < d; ++c) EXPECT_LE(var[c], var[lead - 1] * 1.001) << c;
  std::sort(raw.begin(), raw.end(), std::greater<double>());
  double best_raw = 0;
  for (int c = 0; c < lead; ++c) best_raw += raw[c];
  EXPECT_GE(leading, best_raw * 0.999);
  EXPECT_GT(leading / total, 0.5);
}

TEST(PcaRotationTest, SavedFactorsRoundTripAndBadOnesAreRefused) {
  const int d = 40, lead = 8;
  const int64_t n = 800;
  std::vector<float> x = SpreadRows(n, d, 2);
  auto learned =
      PcaRotation::Learn(MatrixView<const float>(x.data(), n, d), lead);
  ASSERT_TRUE(learned.ok());
  auto rebuilt = PcaRotation::FromReflectors(d, lead, learned->reflectors(),
                                             learned->taus());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->Dense(), learned->Dense());

  auto refused = [&](std::vector<float> v, std::vector<float> t, int lead_) {
    return !PcaRotation::FromReflectors(d, lead_, std::move(v), std::move(t))
                .ok();
  };
  std::vector<float> v = learned->reflectors(), t = learned->taus();
  EXPECT_TRUE(refused(v, t, lead + 1));  // Shape.
  auto bad_tau = t;
  bad_tau[3] *= 1.5f;  // No longer a reflection.
  EXPECT_TRUE(refused(v, bad_tau, lead));
  auto bad_unit = v;
  bad_unit[2 * d + 2] = 0.5f;  // Row 2 must be 1 at 2.
  EXPECT_TRUE(refused(bad_unit, t, lead));
  auto bad_zero = v;
  bad_zero[5 * d + 1] = 0.25f;  // Row 5 must be 0 before 5.
  EXPECT_TRUE(refused(bad_zero, t, lead));
  auto nan = v;
  nan[4 * d + 30] = std::nanf("");
  EXPECT_TRUE(refused(nan, t, lead));
  EXPECT_FALSE(
      PcaRotation::Learn(MatrixView<const float>(x.data(), n, d), 0).ok());
  EXPECT_FALSE(
      PcaRotation::Learn(MatrixView<const float>(x.data(), n, d), d + 1).ok());
}

}  // namespace
}  // namespace vindex::train
