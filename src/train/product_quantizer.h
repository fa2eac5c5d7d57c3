#ifndef VINDEX_SRC_TRAIN_PRODUCT_QUANTIZER_H_
#define VINDEX_SRC_TRAIN_PRODUCT_QUANTIZER_H_

// Product quantizer: splits a vector into m sub-vectors of dim / m floats and
// codes each as the index of its nearest of 2^bits sub-centroids. Codes are
// stored one byte per sub-quantizer (values < 2^bits); packing into the
// fast-scan layout is the inverted lists' business.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "vindex/executor.h"
#include "vindex/matrix_view.h"

namespace vindex::train {

// Owns its codebooks. Thread safety: const methods may run concurrently;
// Train and SetCodebooks must not run concurrently with anything.
class ProductQuantizer {
 public:
  ProductQuantizer() = default;

  // InvalidArgument unless m >= 1 divides dim and bits is 4 or 8.
  absl::Status Init(int dim, int m, int bits);

  // Learns the codebooks from x (n x dim rows, n >= 2^bits) with one
  // k-means per sub-quantizer; the sub-quantizers run in parallel on
  // `executor` and the result does not depend on it.
  absl::Status Train(MatrixView<const float> x, int iterations, uint64_t seed,
                     Executor* executor);

  // Replaces the codebooks (m * ksub * dsub floats), e.g. when loading.
  absl::Status SetCodebooks(std::vector<float> codebooks);

  // Codes every row of x into codes[i * m .. i * m + m).
  void Encode(MatrixView<const float> x, uint8_t* codes,
              Executor* executor) const;
  // Reconstructs one vector from its code.
  void Decode(const uint8_t* code, float* out) const;

  int dim() const { return dim_; }
  int m() const { return m_; }
  int bits() const { return bits_; }
  int ksub() const { return ksub_; }
  int dsub() const { return dsub_; }
  bool trained() const { return !codebooks_.empty(); }
  // Sub-quantizer j's codebook: ksub x dsub floats.
  const float* codebook(int j) const {
    return codebooks_.data() + size_t(j) * ksub_ * dsub_;
  }
  const std::vector<float>& codebooks() const { return codebooks_; }
  // ||codeword||^2 for sub-quantizer j: ksub floats.
  const float* codeword_norms(int j) const {
    return norms_.data() + size_t(j) * ksub_;
  }

 private:
  int dim_ = 0, m_ = 0, bits_ = 0, ksub_ = 0, dsub_ = 0;
  std::vector<float> codebooks_;  // m x ksub x dsub
  std::vector<float> norms_;      // m x ksub
};

}  // namespace vindex::train

#endif  // VINDEX_SRC_TRAIN_PRODUCT_QUANTIZER_H_
