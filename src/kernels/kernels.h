#ifndef VINDEX_SRC_KERNELS_KERNELS_H_
#define VINDEX_SRC_KERNELS_KERNELS_H_

// The distance and top-k kernel family. Each ISA (rows of isa_table.def)
// provides the same kernels in its own file (scalar.cc, avx2.cc,
// avx512.cc), compiled with its own flags; dispatch.h picks one table.
// scalar.cc is the reference and the executable specification: every other
// ISA must match it (exactly for integer kernels, within float rounding for
// float kernels).
//
// Contracts shared by all kernels:
// - Pointers need no particular alignment; nothing is read past the last
//   element described by the arguments.
// - `d` >= 1; `n` >= 0. `stride` is in elements, >= d.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/dispatch.h"
#include "kernels/isa.h"

namespace vindex::kernels {

// Dimensions a bounded kernel scores before its first comparison with the
// bound; later checks come at 2x, 4x, ... this count.
inline constexpr size_t kBoundedFirstCheck = 32;
// l2_sqr_below's checks stop doubling here and come every this many
// dimensions after it: a long vector whose distance crosses the bound late
// stops within 64 dimensions of the crossing, not up to twice as far.
inline constexpr size_t kBoundedCheckStep = 64;
// The check after one at `check` dimensions in l2_sqr_below's schedule (its
// scalar reference and SIMD versions share it, so they stop at the same
// dimensions).
constexpr size_t NextBelowCheck(size_t check) {
  return check < kBoundedCheckStep ? 2 * check : check + kBoundedCheckStep;
}
// Callers take the bounded kernels from this many dimensions: on 128-d rows
// read in place the checks cost more than the stopped rows save, raw or
// rotated (docs/benchmarks.md). Shorter rows stop early only from coded
// heads (the `heads` of l2_sqr_rows_bounded), behind a rotation.
inline constexpr size_t kBoundedMinDim = 256;
// The row group of the *_rows kernels (see inner_product_rows).
inline constexpr size_t kRowsGroup = 4;

// Coordinates per row in CodedHeads, and per block of its 4-bit tails.
inline constexpr size_t kCodedHeadDim = 64;
inline constexpr size_t kCodedTailBlock = 32;

// Every row's first kCodedHeadDim coordinates in 8 bits, for
// l2_sqr_rows_bounded: row i's lie within slack[i] (L2 norm) of
// lo[j] + codes[i * kCodedHeadDim + j] * step[j], j < kCodedHeadDim.
// `offset` holds q[j] - lo[j] for the query scored, and `query_slack` an
// absolute allowance for the rounding of offset and of the decoded sum
// (index/head_codec.h makes all three).
// Optionally (tail_codes non-null) also the rest of every row in 4 bits, read
// for the rows the heads leave: coordinates kCodedHeadDim + t, t <
// tail_dim (a multiple of kCodedTailBlock, padded with codes and steps of 0),
// lie, with the head, within row_slack[i] (L2 norm, the whole row's) of
// their decoded values (code * tail_step[t] less tail_offset[t] is the
// tail's coordinate t decoded, less the query's). Row i's tail is
// tail_dim / 2 bytes at tail_codes + i * tail_dim / 2; in each block of
// kCodedTailBlock coordinates, byte b holds coordinate b in its low nibble
// and b + kCodedTailBlock / 2 in its high one. `tail_offset` is 0 on padding;
// `tail_query_slack` allows for the head's and the tail's offsets together.
struct CodedHeads {
  const uint8_t* codes;
  const float* slack;
  const float* step;
  const float* offset;
  float query_slack;
  const uint8_t* tail_codes = nullptr;
  const float* row_slack = nullptr;
  const float* tail_step = nullptr;
  const float* tail_offset = nullptr;
  size_t tail_dim = 0;
  float tail_query_slack = 0.0f;
};

// The factor CodedHeadFloor shrinks by, twice, for rows of d dimensions
// whose `coded` coordinates were decoded (kCodedHeadDim, or that plus a
// tail's tail_dim): 2^-12 plus 4 (d + coded) epsilon, above the relative
// rounding of a sum of d + coded non-negative float terms in any order (the
// decoded sum, and the row's distance as l2_sqr_rows computes it).
inline float CodedHeadShrink(size_t d, size_t coded = kCodedHeadDim) {
  return 1.0f - 1.0f / 4096.0f -
         4.0f * static_cast<float>(d + coded) *
             std::numeric_limits<float>::epsilon();
}

// A row's distance is at least this floor, given `decoded`, the sum over
// its head of (codes[j] * step[j] - offset[j])^2, its slack and
// `shrink` = CodedHeadShrink(d): the decoded distance less both slacks,
// shrunk twice. 0 when the slacks cover the decoded distance. A row whose
// floor exceeds the bound stops.
inline float CodedHeadFloor(float decoded, float slack, float query_slack,
                            float shrink) {
  const float reach = std::sqrt(decoded) * shrink - slack - query_slack;
  return reach > 0.0f ? reach * reach * shrink : 0.0f;
}

struct KernelTable {
  Isa isa;

  // Squared L2 distance between a and b.
  float (*l2_sqr)(const float* a, const float* b, size_t d);
  // Inner product <a, b>.
  float (*inner_product)(const float* a, const float* b, size_t d);
  // out[i] = l2_sqr(q, rows + i * stride) for i in [0, n).
  void (*l2_sqr_rows)(const float* q, const float* rows, size_t n, size_t d,
                      size_t stride, float* out);
  // out[i] = inner_product(q, rows + i * stride) for i in [0, n), up to
  // rounding: the *_rows kernels score rows in groups of kRowsGroup from the
  // first (the last n % kRowsGroup one by one), so a call on one such group
  // alone writes the same bits for its rows as the call on all n.
  void (*inner_product_rows)(const float* q, const float* rows, size_t n,
                             size_t d, size_t stride, float* out);
  // Several queries against the same rows, each row read once for all of
  // them: out[j * out_stride + i] = l2_sqr_rows(queries[j], rows, ...)[i] for
  // j in [0, nq), i in [0, n), bit for bit equal to what this table's
  // l2_sqr_rows writes for that query (so a batch scores exactly as one
  // query at a time). out_stride >= n.
  void (*l2_sqr_rows_multi)(const float* const* queries, size_t nq,
                            const float* rows, size_t n, size_t d,
                            size_t stride, float* out, size_t out_stride);
  // As l2_sqr_rows_multi, equal to inner_product_rows for each query.
  void (*inner_product_rows_multi)(const float* const* queries, size_t nq,
                                   const float* rows, size_t n, size_t d,
                                   size_t stride, float* out,
                                   size_t out_stride);
  // l2_sqr_rows with early exits: a row whose squared distance over its
  // first dimensions (checked after kBoundedFirstCheck, then at least at
  // doubling counts) already exceeds `bound` may be left unfinished, out[i]
  // then holding that partial sum (> bound, and <= the full distance). Every
  // row it finishes (out[i] <= bound always means finished) is bit for bit what
  // this table's l2_sqr_rows writes.
  // `heads`: null, or the rows' coded heads (d >= kCodedHeadDim). The first
  // check then reads only those: a row whose heads prove its distance above
  // `bound` (with room for rounding) is never read, out[i] holding a value in
  // (bound, full distance]; with tails, those the heads leave are checked
  // the same way on head and tail before any float is read; the others are
  // scored from their rows.
  void (*l2_sqr_rows_bounded)(const float* q, const float* rows, size_t n,
                              size_t d, size_t stride, float bound, float* out,
                              const CodedHeads* heads);
  // l2_sqr with early exits: may return a partial sum once it exceeds
  // `bound` (checked after kBoundedFirstCheck dimensions, or the ISA's
  // unrolled step if larger, then at doubling counts up to
  // kBoundedCheckStep and every kBoundedCheckStep after it); otherwise the
  // full distance, bit for bit this table's l2_sqr.
  float (*l2_sqr_below)(const float* a, const float* b, size_t d, float bound);
  // out[i] = norms[i] - 2 * ip[i] (+ qnorm), the GEMM-to-L2 step; may alias.
  void (*l2_from_ip)(const float* ip, const float* norms, float qnorm, size_t n,
                     float* out);
  // The filter step of top-k: writes to out_idx, in increasing order, every
  // i in [0, n) with dist[i] <= threshold, and returns how many there were.
  // out_idx must have room for n entries. NaN never passes.
  size_t (*threshold_filter)(const float* dist, size_t n, float threshold,
                             uint32_t* out_idx);
  // The rank step of top-k compaction: less[i] = #{j < n : dist[j] <
  // dist[i]} for i in [0, n) (NaN compares false). n^2 comparisons, no
  // branch: meant for small buffers (TopK uses it up to
  // TopK::kRankMaxEntries). Every ISA equals scalar exactly.
  void (*count_less)(const float* dist, size_t n, uint32_t* less);
  // The selection step of top-k compaction: the value at position k (k < n)
  // of dist[0, n) sorted ascending. dist holds no NaN and is not changed;
  // scratch holds 3 * (n + 16) floats. Every ISA returns a value equal (==)
  // to scalar's (when both -0 and +0 are present either may come back).
  float (*kth_smallest)(const float* dist, size_t n, size_t k, float* scratch);
};

#define VINDEX_ISA(name, enumerator, ...) \
  template <>                             \
  const KernelTable IsaTable<KernelTable, Isa::enumerator>::kTable;
#include "kernels/isa_table.def"
#undef VINDEX_ISA

// Select<KernelTable>(DefaultAllowedIsas()), resolved once, thread-safely.
const KernelTable& Active();

// The ISA of Active().
Isa ActiveIsa();

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_KERNELS_H_
