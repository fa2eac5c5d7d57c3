#include "core/metric_space.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vindex::internal {

double SquaredNorm(const float* x, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += static_cast<double>(x[j]) * x[j];
  return s;
}

absl::Status CopyRows(MatrixView<const float> in, bool normalize,
                      std::vector<float>* out, const char* what) {
  const int64_t d = in.cols;
  out->resize(static_cast<size_t>(in.rows * d));
  for (int64_t i = 0; i < in.rows; ++i) {
    const float* src = in.row(i);
    float* dst = out->data() + i * d;
    if (!normalize) {
      std::memcpy(dst, src, d * sizeof(float));
      continue;
    }
    double norm = std::sqrt(SquaredNorm(src, d));
    if (!(norm > 0) || !std::isfinite(norm)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", i,
          " has zero (or non-finite) norm and cannot be used with cosine"));
    }
    const double inv = 1.0 / norm;
    for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(src[j] * inv);
  }
  return absl::OkStatus();
}

absl::StatusOr<MatrixView<const float>> RowsForMetric(
    Metric metric, MatrixView<const float> rows, std::vector<float>* storage,
    const char* what) {
  if (metric != Metric::kCosine || rows.rows == 0) return rows;
  absl::Status copied = CopyRows(rows, true, storage, what);
  if (!copied.ok()) return copied;
  return MatrixView<const float>(storage->data(), rows.rows, rows.cols);
}

}  // namespace vindex::internal
