#include "train/pca_rotation.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "linalg/gemm.h"

namespace vindex::train {

absl::StatusOr<std::vector<float>> LearnPcaRotation(
    MatrixView<const float> samples, int64_t max_samples) {
  const int64_t d = samples.cols;
  if (d <= 0 || samples.rows <= 0) {
    return absl::InvalidArgumentError(
        "a rotation needs at least one training vector");
  }
  // The rank updates below run in BLAS: on the calling thread, as all of
  // vindex's BLAS work.
  linalg::PinBlasThreadsOnce();
  const int64_t n = std::min(samples.rows, std::max<int64_t>(1, max_samples));
  // The j-th row used: evenly spread, every row when n == samples.rows.
  auto sample_row = [&](int64_t j) {
    return samples.row(j * samples.rows / n);
  };

  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (int64_t j = 0; j < n; ++j) {
    const float* x = sample_row(j);
    for (int64_t c = 0; c < d; ++c) mean[c] += x[c];
  }
  mean /= static_cast<double>(n);

  // Covariance (unnormalised): a rank update per block of centred rows.
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  constexpr int64_t kBlock = 1024;
  Eigen::MatrixXd block(kBlock, d);
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t rows = std::min(kBlock, n - begin);
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = sample_row(begin + r);
      for (int64_t c = 0; c < d; ++c) block(r, c) = x[c] - mean[c];
    }
    cov.selfadjointView<Eigen::Lower>().rankUpdate(
        block.topRows(rows).transpose());
  }
  cov = cov.selfadjointView<Eigen::Lower>();

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(cov);
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("eigen decomposition of the covariance failed");
  }
  // Eigenvalues come in increasing order: take the columns from the last.
  const Eigen::MatrixXd& vectors = solver.eigenvectors();
  std::vector<float> rotation(d * d);
  for (int64_t i = 0; i < d; ++i) {
    Eigen::VectorXd v = vectors.col(d - 1 - i);
    Eigen::Index at = 0;
    v.cwiseAbs().maxCoeff(&at);
    if (v[at] < 0) v = -v;
    for (int64_t c = 0; c < d; ++c) {
      rotation[i * d + c] = static_cast<float>(v[c]);
    }
  }
  return rotation;
}

}  // namespace vindex::train
