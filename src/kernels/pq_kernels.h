#ifndef VINDEX_SRC_KERNELS_PQ_KERNELS_H_
#define VINDEX_SRC_KERNELS_PQ_KERNELS_H_

// Product-quantization scan kernels, one table per ISA (scalar_pq.cc,
// avx2_pq.cc, avx512_pq.cc), chosen by the dispatcher (dispatch.h).
//
// 8-bit codes: one byte per sub-quantizer, m bytes per vector, scanned
// against a float lookup table of m x 256 entries.
//
// 4-bit fast-scan layout (our own description of the classic scheme):
// vectors are stored in blocks of kFastScanBlock = 32. Sub-quantizers are
// taken in pairs (a = 2p, b = 2p + 1; an odd count is padded with a zero
// table). For each pair a block holds 32 bytes:
//   byte t      (t < 16): low nibble = code_a(vector t), high = code_a(vector t
//   + 16) byte 16 + t (t < 16): low nibble = code_b(vector t), high =
//   code_b(vector t + 16)
// so a block is pairs * 32 bytes. The quantized lookup table holds, per
// pair, 32 bytes: the 16 entries of a then the 16 entries of b. One 256-bit
// register thus holds a pair's two tables, and one byte shuffle looks up 16
// vectors in each half. Sums are accumulated in 16 bits and are exact
// modulo 2^16; callers bound the table entries so the true sum fits.

#include <cstddef>
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/isa.h"

namespace vindex::kernels {

inline constexpr size_t kFastScanBlock = 32;
// Most queries one scan4_fastscan_filter_multi call scores per code load.
inline constexpr size_t kFastScanMaxQueries = 4;

namespace pq {

struct Table {
  Isa isa;

  // out[i] = sum_{j < m} lut[j * 256 + codes[i * m + j]] for i in [0, n).
  // Float sums; ISAs may differ from scalar by rounding only.
  void (*scan8)(const float* lut, const uint8_t* codes, size_t n, size_t m,
                float* out);

  // Fast-scan: for each of `blocks` blocks (pairs * 32 bytes each, see
  // above), out[b * 32 + v] = sum over pairs of lut[p*32 + code_a(v)] +
  // lut[p*32 + 16 + code_b(v)], modulo 2^16. Every ISA equals scalar exactly.
  void (*scan4_fastscan)(const uint8_t* codes, size_t blocks, size_t pairs,
                         const uint8_t* lut, uint16_t* out);

  // Fast-scan with the top-k filter step fused in: scores the first n
  // vectors of `codes` (ceil(n / 32) blocks) exactly as scan4_fastscan, turns
  // each sum into
  //   dist_i = bias + float(sum_i) * scale, then + terms[i] when terms is set,
  // and writes i and dist_i, in increasing i, for every i < n with dist_i <=
  // threshold (NaN never passes) to out_idx / out_dist (room for n each);
  // returns how many. ISAs may differ from scalar by float rounding in dist.
  size_t (*scan4_fastscan_filter)(const uint8_t* codes, size_t n, size_t pairs,
                                  const uint8_t* lut, const float* terms,
                                  float bias, float scale, float threshold,
                                  uint32_t* out_idx, float* out_dist);

  // The same filter for nq in [1, kFastScanMaxQueries] queries sharing one
  // list: every 32-code block is loaded once and scored against each
  // query's table luts[q]. For each q < nq it writes, to out_idx + q * n and
  // out_dist + q * n, exactly what
  //   scan4_fastscan_filter(codes, n, pairs, luts[q], terms, bias[q],
  //                         scale[q], threshold[q], ...)
  // writes on the same ISA, and that call's return value to counts[q].
  void (*scan4_fastscan_filter_multi)(const uint8_t* codes, size_t n,
                                      size_t pairs, size_t nq,
                                      const uint8_t* const* luts,
                                      const float* terms, const float* bias,
                                      const float* scale,
                                      const float* threshold, uint32_t* out_idx,
                                      float* out_dist, size_t* counts);

  // The query's lookup tables: for j < m and c < ksub,
  //   out[j * ksub + c] = init[j * ksub + c] + factor * sum_{d < dsub}
  //       q[j * dsub + d] * books_t[(j * dsub + d) * ksub + c],
  // where books_t holds each sub-quantizer's codebook transposed (dsub x
  // ksub) and a null init counts as zeros. ISAs may differ from scalar by
  // rounding only.
  void (*inner_product_tables)(const float* q, const float* books_t, size_t m,
                               size_t dsub, size_t ksub, float factor,
                               const float* init, float* out);

  // Nearest codeword of many rows, the k-means assignment step in small
  // sub-spaces: for each i < n, with row q = x + i * x_stride (dsub floats),
  // out[i] is the first c < ksub minimizing the entry
  // inner_product_tables(q, books_t, 1, dsub, ksub, factor, init) writes at
  // c, and best[i] is that minimum. Needs finite values. ISAs may differ
  // from scalar by rounding only.
  void (*nearest_codewords)(const float* x, size_t n, size_t x_stride,
                            const float* books_t, size_t dsub, size_t ksub,
                            float factor, const float* init, int32_t* out,
                            float* best);

  // Quantizes a float table lut[j * 16 + c] (j < m, c < 16) into q8 in the
  // fast-scan pair layout (pairs = (m + 1) / 2, pairs * 32 bytes): entry
  // (j, c) becomes min(trunc((lut[j][c] - lo_j) * scale + 0.5), qmax) with
  // lo_j = min_c lut[j][c], qmax = min(255, 65535 / (2 * pairs)) (so any sum
  // fits in 16 bits) and scale = qmax / max_j (max_c lut[j][c] - lo_j), or 0
  // when every range is 0. A padded odd table is zeros. Sets *lo_sum to
  // sum_j lo_j (added in j order) and returns 1 / scale as range / qmax (0
  // when scale is 0): a score is then *lo_sum + quantized_sum * returned.
  // Every ISA equals scalar exactly.
  float (*quantize_lut4)(const float* lut, size_t m, uint8_t* q8,
                         float* lo_sum);
};

// Select<pq::Table>(DefaultAllowedIsas()), resolved once, except that on
// AMD CPUs scan8 is the scalar one: there the gathers of the SIMD versions
// are slower than interleaved scalar loads (docs/decisions.md, "Kernels").
const Table& Active();

}  // namespace pq

#define VINDEX_ISA(name, enumerator, ...) \
  template <>                             \
  const pq::Table IsaTable<pq::Table, Isa::enumerator>::kTable;
#include "kernels/isa_table.def"
#undef VINDEX_ISA

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_PQ_KERNELS_H_
