#include "train/pca_rotation.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "linalg/gemm.h"

namespace vindex::train {
namespace {

// How far tau * |v|^2 may sit from 2 in a saved reflection.
constexpr double kReflectionTolerance = 1e-3;

// The sample's covariance about its mean (unnormalised), in double.
Eigen::MatrixXd Covariance(MatrixView<const float> samples,
                           int64_t max_samples) {
  const int64_t d = samples.cols;
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
  // A rank update per block of centred rows.
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
  return cov.selfadjointView<Eigen::Lower>();
}

}  // namespace

absl::StatusOr<PcaRotation> PcaRotation::Learn(MatrixView<const float> samples,
                                               int lead, int64_t max_samples) {
  const int64_t d = samples.cols;
  if (d <= 0 || samples.rows <= 0) {
    return absl::InvalidArgumentError(
        "a rotation needs at least one training vector");
  }
  if (lead < 1 || lead > d) {
    return absl::InvalidArgumentError(
        absl::StrCat("rotation lead must be in [1, ", d, "], got ", lead));
  }
  // The rank updates run in BLAS: on the calling thread, as all of vindex's
  // BLAS work.
  linalg::PinBlasThreadsOnce();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(
      Covariance(samples, max_samples));
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("eigen decomposition of the covariance failed");
  }
  // Eigenvalues come in increasing order: the axes are the last columns,
  // each signed so that its largest-magnitude coordinate is positive.
  Eigen::MatrixXd axes(d, lead);
  for (int i = 0; i < lead; ++i) {
    Eigen::VectorXd v = solver.eigenvectors().col(d - 1 - i);
    Eigen::Index at = 0;
    v.cwiseAbs().maxCoeff(&at);
    axes.col(i) = v[at] < 0 ? Eigen::VectorXd(-v) : v;
  }
  // axes = Q R with Q = H_0 ... H_{lead-1}; R's leading block is diagonal
  // (+-1) because the axes are orthonormal, so Q's first columns are the
  // axes up to sign.
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(axes);
  const Eigen::MatrixXd& packed = qr.matrixQR();
  PcaRotation r;
  r.dim_ = static_cast<int>(d);
  r.lead_ = lead;
  r.v_.assign(static_cast<size_t>(lead) * d, 0.0f);
  r.taus_.resize(lead);
  for (int k = 0; k < lead; ++k) {
    float* row = r.v_.data() + static_cast<size_t>(k) * d;
    row[k] = 1.0f;
    for (int64_t c = k + 1; c < d; ++c)
      row[c] = static_cast<float>(packed(c, k));
    r.taus_[k] = static_cast<float>(qr.hCoeffs()[k]);
  }
  r.BuildT();
  return r;
}

absl::StatusOr<PcaRotation> PcaRotation::FromReflectors(
    int dim, int lead, std::vector<float> reflectors, std::vector<float> taus) {
  if (dim < 1 || lead < 1 || lead > dim ||
      reflectors.size() != static_cast<size_t>(lead) * dim ||
      taus.size() != static_cast<size_t>(lead)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rotation: bad shape (dim ", dim, ", lead ", lead, ")"));
  }
  for (int k = 0; k < lead; ++k) {
    const float* row = reflectors.data() + static_cast<size_t>(k) * dim;
    double norm2 = 0;
    for (int c = 0; c < dim; ++c) {
      const bool fixed = c <= k;
      if (fixed && row[c] != (c == k ? 1.0f : 0.0f)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rotation: reflector ", k, " is not 0 before and 1 at ", k));
      }
      if (!std::isfinite(row[c])) {
        return absl::InvalidArgumentError(
            absl::StrCat("rotation: reflector ", k, " is not finite"));
      }
      norm2 += double{row[c]} * row[c];
    }
    const double tau = taus[k];
    if (!(tau == 0 || std::fabs(tau * norm2 - 2) <= kReflectionTolerance)) {
      return absl::InvalidArgumentError(
          absl::StrCat("rotation: factor ", k, " does not make a reflection"));
    }
  }
  PcaRotation r;
  r.dim_ = dim;
  r.lead_ = lead;
  r.v_ = std::move(reflectors);
  r.taus_ = std::move(taus);
  r.BuildT();
  return r;
}

void PcaRotation::BuildT() {
  // H_0 ... H_k = I - V_k^T T_k V_k, growing T one column at a time:
  // T(0:k, k) = -tau_k T(0:k, 0:k) (V_{0:k} v_k), T(k, k) = tau_k.
  const int r = lead_;
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(r, r);
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                 Eigen::RowMajor>>
      v(v_.data(), r, dim_);
  for (int k = 0; k < r; ++k) {
    const double tau = taus_[k];
    if (k > 0) {
      const Eigen::VectorXd w =
          (v.topRows(k).cast<double>() * v.row(k).transpose().cast<double>());
      const Eigen::VectorXd tw =
          t.topLeftCorner(k, k).triangularView<Eigen::Upper>() * w;
      t.col(k).head(k) = -tau * tw;
    }
    t(k, k) = tau;
  }
  t_.resize(static_cast<size_t>(r) * r);
  for (int i = 0; i < r; ++i) {
    for (int j = 0; j < r; ++j) t_[i * r + j] = static_cast<float>(t(i, j));
  }
}

void PcaRotation::Map(const float* in, int64_t rows, int64_t in_stride,
                      bool inverse, float* out, int64_t out_stride) const {
  if (rows <= 0) return;
  // Rows: Q^T maps x to x - ((x V^T) T) V; Q maps y to y - ((y V^T) T^T) V.
  const int64_t r = lead_, d = dim_;
  std::vector<float> a(rows * r), b(rows * r);
  linalg::GemmABt(in, rows, in_stride, v_.data(), r, d, d, a.data(), r);
  if (inverse) {
    linalg::GemmABt(a.data(), rows, r, t_.data(), r, r, r, b.data(), r);
  } else {
    linalg::GemmAB(a.data(), rows, r, t_.data(), r, r, r, b.data(), r);
  }
  for (int64_t i = 0; i < rows; ++i) {
    std::copy(in + i * in_stride, in + i * in_stride + d, out + i * out_stride);
  }
  linalg::GemmAB(b.data(), rows, r, v_.data(), d, d, r, out, out_stride, -1.0f,
                 1.0f);
}

void PcaRotation::Apply(const float* x, int64_t rows, int64_t stride,
                        float* y) const {
  Map(x, rows, stride, /*inverse=*/false, y, dim_);
}

void PcaRotation::ApplyInverse(const float* y, int64_t rows, float* x,
                               int64_t stride) const {
  Map(y, rows, dim_, /*inverse=*/true, x, stride);
}

std::vector<float> PcaRotation::Dense() const {
  const int64_t d = dim_;
  std::vector<float> identity(d * d, 0.0f), columns(d * d), dense(d * d);
  for (int64_t i = 0; i < d; ++i) identity[i * d + i] = 1.0f;
  // Row j of `columns` is Q^T e_j: column j of the dense map.
  Apply(identity.data(), d, d, columns.data());
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) dense[i * d + j] = columns[j * d + i];
  }
  return dense;
}

}  // namespace vindex::train
