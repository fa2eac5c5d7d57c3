#ifndef VINDEX_SRC_KERNELS_X86_FASTSCAN_H_
#define VINDEX_SRC_KERNELS_X86_FASTSCAN_H_

// The bodies of pq::Table::scan4_fastscan and scan4_fastscan_filter around
// a per-ISA block accumulator, shared by avx2_pq.cc and avx512_pq.cc.
// Include only from files built with AVX2 flags: the functions have internal
// linkage so each includer gets its own copy for its flags.

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace vindex::kernels {
namespace {

// Writes the 16 sums of one half block: even vectors are lo - (hi << 8),
// odd vectors hi; the two 128-bit lanes (sub-quantizers a and b) are added.
inline void StoreHalf(__m256i lo, __m256i hi, uint16_t* out) {
  const __m256i even = _mm256_sub_epi16(lo, _mm256_slli_epi16(hi, 8));
  const __m128i e = _mm_add_epi16(_mm256_castsi256_si128(even),
                                  _mm256_extracti128_si256(even, 1));
  const __m128i o = _mm_add_epi16(_mm256_castsi256_si128(hi),
                                  _mm256_extracti128_si256(hi, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi16(e, o));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8),
                   _mm_unpackhi_epi16(e, o));
}

// Turns one block's 32 sums into bias + sum * scale (+ terms[v]) and
// appends (base + v, distance) for each v < cnt whose distance is <=
// threshold to out_idx / out_dist, from position m; returns the new count.
// terms is null or holds cnt values.
inline size_t FilterFastScanBlock(const uint16_t* sums, const float* terms,
                                  size_t cnt, size_t base, __m256 bias,
                                  __m256 scale, __m256 threshold,
                                  uint32_t* out_idx, float* out_dist,
                                  size_t m) {
  float padded_terms[32];
  if (terms != nullptr && cnt < 32) {
    for (size_t v = 0; v < 32; ++v) padded_terms[v] = v < cnt ? terms[v] : 0;
    terms = padded_terms;
  }
  float dist[32];
  uint32_t pass = 0;
  for (int g = 0; g < 4; ++g) {
    const __m256 s = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(sums + 8 * g))));
    __m256 d = _mm256_add_ps(bias, _mm256_mul_ps(s, scale));
    if (terms != nullptr) d = _mm256_add_ps(d, _mm256_loadu_ps(terms + 8 * g));
    _mm256_storeu_ps(dist + 8 * g, d);
    pass |= static_cast<uint32_t>(
                _mm256_movemask_ps(_mm256_cmp_ps(d, threshold, _CMP_LE_OQ)))
            << (8 * g);
  }
  if (cnt < 32) pass &= (uint32_t{1} << cnt) - 1;
  while (pass != 0) {
    const int v = __builtin_ctz(pass);
    out_idx[m] = static_cast<uint32_t>(base + v);
    out_dist[m] = dist[v];
    ++m;
    pass &= pass - 1;
  }
  return m;
}

// scan4_fastscan_filter (see pq_kernels.h), with accumulate(block, pairs,
// lut, out) writing one block's 32 sums.
template <typename Accumulate>
inline size_t ScanFilterBlocks(Accumulate accumulate, const uint8_t* codes,
                               size_t n, size_t pairs, const uint8_t* lut,
                               const float* terms, float bias, float scale,
                               float threshold, uint32_t* out_idx,
                               float* out_dist) {
  constexpr size_t kBlock = 32;
  const __m256 b = _mm256_set1_ps(bias), s = _mm256_set1_ps(scale);
  const __m256 t = _mm256_set1_ps(threshold);
  uint16_t sums[kBlock];
  size_t m = 0;
  for (size_t first = 0; first < n; first += kBlock) {
    accumulate(codes + first / kBlock * pairs * 32, pairs, lut, sums);
    const size_t cnt = n - first < kBlock ? n - first : kBlock;
    m = FilterFastScanBlock(sums, terms != nullptr ? terms + first : nullptr,
                            cnt, first, b, s, t, out_idx, out_dist, m);
  }
  return m;
}

// scan4_fastscan, with kAccumulate(block, pairs, lut, out) writing one
// block's 32 sums.
template <auto kAccumulate>
void Scan4FastScan(const uint8_t* codes, size_t blocks, size_t pairs,
                   const uint8_t* lut, uint16_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    kAccumulate(codes + b * pairs * 32, pairs, lut, out + b * 32);
  }
}

// scan4_fastscan_filter, with kAccumulate as above.
template <auto kAccumulate>
size_t Scan4FastScanFilter(const uint8_t* codes, size_t n, size_t pairs,
                           const uint8_t* lut, const float* terms, float bias,
                           float scale, float threshold, uint32_t* out_idx,
                           float* out_dist) {
  // A lambda, not the function's address, so the accumulator is inlined.
  auto accumulate = [](const uint8_t* block, size_t p, const uint8_t* l,
                       uint16_t* out) { kAccumulate(block, p, l, out); };
  return ScanFilterBlocks(accumulate, codes, n, pairs, lut, terms, bias, scale,
                          threshold, out_idx, out_dist);
}

// scan4_fastscan_filter_multi (see pq_kernels.h), with
// kAccumulateQueries(block, pairs, luts, nq, out) writing one block's 32
// sums for each of nq queries to out + q * 32. Each query's sums go through
// the same FilterFastScanBlock as scan4_fastscan_filter, so both entries
// give the same distances.
template <auto kAccumulateQueries>
void Scan4FastScanFilterMulti(const uint8_t* codes, size_t n, size_t pairs,
                              size_t nq, const uint8_t* const* luts,
                              const float* terms, const float* bias,
                              const float* scale, const float* threshold,
                              uint32_t* out_idx, float* out_dist,
                              size_t* counts) {
  constexpr size_t kBlock = 32, kMaxQ = 4;
  __m256 b[kMaxQ], s[kMaxQ], t[kMaxQ];
  for (size_t q = 0; q < nq; ++q) {
    b[q] = _mm256_set1_ps(bias[q]);
    s[q] = _mm256_set1_ps(scale[q]);
    t[q] = _mm256_set1_ps(threshold[q]);
    counts[q] = 0;
  }
  alignas(32) uint16_t sums[kMaxQ * kBlock];
  for (size_t first = 0; first < n; first += kBlock) {
    kAccumulateQueries(codes + first / kBlock * pairs * 32, pairs, luts, nq,
                       sums);
    const size_t cnt = n - first < kBlock ? n - first : kBlock;
    const float* block_terms = terms != nullptr ? terms + first : nullptr;
    for (size_t q = 0; q < nq; ++q) {
      counts[q] = FilterFastScanBlock(sums + q * kBlock, block_terms, cnt,
                                      first, b[q], s[q], t[q], out_idx + q * n,
                                      out_dist + q * n, counts[q]);
    }
  }
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_FASTSCAN_H_
