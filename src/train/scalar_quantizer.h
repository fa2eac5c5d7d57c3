#ifndef VINDEX_SRC_TRAIN_SCALAR_QUANTIZER_H_
#define VINDEX_SRC_TRAIN_SCALAR_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vindex::internal {

// Scalar quantizer to 8-bit codes (0..255) or 4-bit ones (0..15) with a
// per-dimension offset and one step shared by all dimensions:
// x[j] ~= offset[j] + step * code[j]. A shared step keeps
// squared L2 between codes proportional to squared L2 between the decoded
// vectors (step^2 * sum (a - b)^2), so code distances are exact integers.
// Values outside the fitted range are clamped.
// Thread safety: const methods may be called concurrently; Fit is not.
class ScalarQuantizer {
 public:
  // Codes of `bits` (8 or 4) bits.
  explicit ScalarQuantizer(int bits = 8) : max_code_((1 << bits) - 1) {}

  // Fits offsets (per-dimension minimum) and the step (largest range / the
  // largest code) to n rows of `dim` floats (stride dim). n >= 1.
  void Fit(const float* rows, int64_t n, int dim);
  // Restores fitted parameters (from a saved file).
  void Set(std::vector<float> offsets, float step);

  bool fitted() const { return !offsets_.empty(); }
  float step() const { return step_; }
  const std::vector<float>& offsets() const { return offsets_; }

  // Writes dim codes of x, one per byte.
  void Encode(const float* x, uint8_t* code) const;
  // Sum of a code's bytes (used by the inner-product score).
  static uint32_t CodeSum(const uint8_t* code, int dim);

  // Packed 4-bit layout (kernels/sq_kernels.h): PackedBytes(dim) bytes, byte
  // j holding element j low and element PackedBytes(dim) + j high; a nibble
  // past dim is 0.
  static size_t PackedBytes(int dim) {
    return (static_cast<size_t>(dim) + 1) / 2;
  }
  // Writes the packed 4-bit codes of x (a 4-bit quantizer); allocates
  // nothing.
  void EncodePacked(const float* x, uint8_t* packed) const;
  // Sum of the nibbles of a packed code of PackedBytes(dim) bytes.
  static uint32_t PackedSum(const uint8_t* packed, int dim);

  // Quantizes a query for inner products with its own affine map,
  // q[j] ~= lo + scale * code[j]. Then <q, x> ranks like
  //   lo * CodeSum(c) + scale * dot(code_q, c)      (plus a per-query
  //   constant).
  static void EncodeQueryForIp(const float* q, int dim, uint8_t* code,
                               float* lo, float* scale);

 private:
  std::vector<float> offsets_;
  float max_code_;
  float step_ = 1.0f;
  float inv_step_ = 1.0f;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_TRAIN_SCALAR_QUANTIZER_H_
