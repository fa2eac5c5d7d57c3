#include "train/product_quantizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"
#include "linalg/gemm.h"
#include "train/kmeans.h"

namespace vindex::train {

absl::Status ProductQuantizer::Init(int dim, int m, int bits) {
  if (bits != 4 && bits != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("PQ bits ", bits, " (must be 4 or 8)"));
  }
  if (m < 1 || dim < 1 || dim % m != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PQ m ", m, " must be >= 1 and divide dim ", dim));
  }
  dim_ = dim;
  m_ = m;
  bits_ = bits;
  ksub_ = 1 << bits;
  dsub_ = dim / m;
  codebooks_.clear();
  norms_.clear();
  return absl::OkStatus();
}

absl::Status ProductQuantizer::Train(MatrixView<const float> x, int iterations,
                                     uint64_t seed, Executor* executor) {
  if (x.cols != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("PQ training dim ", x.cols, " != ", dim_));
  }
  if (x.rows < ksub_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PQ training needs at least ", ksub_, " vectors, got ", x.rows));
  }
  std::vector<float> books(size_t(m_) * ksub_ * dsub_);
  std::vector<absl::Status> status(m_);
  // Sub-quantizers are independent: one k-means per task, each on one thread.
  internal::ParallelFor(executor, m_, [&](int64_t j) {
    KMeansOptions o;
    o.k = ksub_;
    o.iterations = iterations;
    o.max_points_per_centroid = 256;
    o.seed = seed + 7919 * static_cast<uint64_t>(j);
    MatrixView<const float> sub(x.data + j * dsub_, x.rows, dsub_,
                                x.row_stride());
    auto r = KMeans(sub, o, nullptr);
    if (!r.ok()) {
      status[j] = r.status();
      return;
    }
    std::copy(r->centroids.begin(), r->centroids.end(),
              books.begin() + j * size_t(ksub_) * dsub_);
  });
  for (const auto& s : status) {
    if (!s.ok()) return s;
  }
  return SetCodebooks(std::move(books));
}

absl::Status ProductQuantizer::SetCodebooks(std::vector<float> codebooks) {
  if (codebooks.size() != size_t(m_) * ksub_ * dsub_) {
    return absl::InvalidArgumentError("PQ codebooks have the wrong size");
  }
  codebooks_ = std::move(codebooks);
  norms_.resize(size_t(m_) * ksub_);
  linalg::RowSquaredNorms(codebooks_.data(), int64_t(m_) * ksub_, dsub_, dsub_,
                          norms_.data());
  return absl::OkStatus();
}

void ProductQuantizer::Encode(MatrixView<const float> x, uint8_t* codes,
                              Executor* executor) const {
  const int64_t n = x.rows;
  constexpr int64_t kChunk = 4096;
  internal::ParallelForRange(executor, n, kChunk, [&](int64_t b, int64_t e) {
    std::vector<int32_t> assign(e - b);
    for (int j = 0; j < m_; ++j) {
      MatrixView<const float> sub(x.row(b) + j * dsub_, e - b, dsub_,
                                  x.row_stride());
      AssignNearest(codebook(j), codeword_norms(j), ksub_, sub, assign.data(),
                    nullptr, nullptr);
      for (int64_t i = b; i < e; ++i)
        codes[i * m_ + j] = static_cast<uint8_t>(assign[i - b]);
    }
  });
}

void ProductQuantizer::Decode(const uint8_t* code, float* out) const {
  for (int j = 0; j < m_; ++j) {
    const float* c = codebook(j) + size_t(code[j]) * dsub_;
    std::copy(c, c + dsub_, out + j * dsub_);
  }
}

}  // namespace vindex::train
