// The reference kernels: plain loops, the executable specification that every
// SIMD variant is tested against.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vindex::kernels::scalar {
namespace {

float L2Sqr(const float* a, const float* b, size_t d) {
  float s = 0;
  for (size_t j = 0; j < d; ++j) {
    float t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

float InnerProduct(const float* a, const float* b, size_t d) {
  float s = 0;
  for (size_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

void L2SqrRows(const float* q, const float* rows, size_t n, size_t d,
               size_t stride, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = L2Sqr(q, rows + i * stride, d);
}

void InnerProductRows(const float* q, const float* rows, size_t n, size_t d,
                      size_t stride, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = InnerProduct(q, rows + i * stride, d);
}

void L2SqrRowsMulti(const float* const* queries, size_t nq, const float* rows,
                    size_t n, size_t d, size_t stride, float* out,
                    size_t out_stride) {
  for (size_t j = 0; j < nq; ++j)
    L2SqrRows(queries[j], rows, n, d, stride, out + j * out_stride);
}

void InnerProductRowsMulti(const float* const* queries, size_t nq,
                           const float* rows, size_t n, size_t d, size_t stride,
                           float* out, size_t out_stride) {
  for (size_t j = 0; j < nq; ++j)
    InnerProductRows(queries[j], rows, n, d, stride, out + j * out_stride);
}

// L2Sqr's sum of a and b in L2Sqr's order, compared with bound after
// kBoundedFirstCheck dimensions, then at doubling counts up to
// kBoundedCheckStep and every kBoundedCheckStep after it.
float L2SqrBelow(const float* a, const float* b, size_t d, float bound) {
  float s = 0;
  size_t check = kBoundedFirstCheck;
  for (size_t j = 0; j < d; ++j) {
    if (j == check) {
      if (s > bound) return s;
      check = NextBelowCheck(check);
    }
    float t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

// The sum over row i's coded head of (code * step - offset)^2.
float DecodedHeadDistance(const CodedHeads& heads, size_t i) {
  const uint8_t* code = heads.codes + i * kCodedHeadDim;
  float s = 0;
  for (size_t j = 0; j < kCodedHeadDim; ++j) {
    const float t =
        std::fma(static_cast<float>(code[j]), heads.step[j], -heads.offset[j]);
    s += t * t;
  }
  return s;
}

// The same sum over row i's coded tail.
float DecodedTailDistance(const CodedHeads& heads, size_t i) {
  constexpr size_t kHalf = kCodedTailBlock / 2;
  const uint8_t* code = heads.tail_codes + i * (heads.tail_dim / 2);
  float s = 0;
  for (size_t t = 0; t < heads.tail_dim; ++t) {
    const size_t in = t % kCodedTailBlock;
    const uint8_t byte = code[t / kCodedTailBlock * kHalf + in % kHalf];
    const int c = in < kHalf ? (byte & 15) : (byte >> 4);
    const float x = std::fma(static_cast<float>(c), heads.tail_step[t],
                             -heads.tail_offset[t]);
    s += x * x;
  }
  return s;
}

void L2SqrRowsBounded(const float* q, const float* rows, size_t n, size_t d,
                      size_t stride, float bound, float* out,
                      const CodedHeads* heads) {
  const float shrink = CodedHeadShrink(d);
  const float tail_shrink =
      heads == nullptr ? 0.0f
                       : CodedHeadShrink(d, kCodedHeadDim + heads->tail_dim);
  for (size_t i = 0; i < n; ++i) {
    const float* row = rows + i * stride;
    if (heads == nullptr) {
      out[i] = L2SqrBelow(q, row, d, bound);
      continue;
    }
    const float head = DecodedHeadDistance(*heads, i);
    const float floor =
        CodedHeadFloor(head, heads->slack[i], heads->query_slack, shrink);
    if (floor > bound) {
      out[i] = floor;
      continue;
    }
    if (heads->tail_codes != nullptr) {
      const float row_floor = CodedHeadFloor(
          head + DecodedTailDistance(*heads, i), heads->row_slack[i],
          heads->tail_query_slack, tail_shrink);
      if (row_floor > bound) {
        out[i] = row_floor;
        continue;
      }
    }
    out[i] = L2Sqr(q, row, d);
  }
}

void L2FromIp(const float* ip, const float* norms, float qnorm, size_t n,
              float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = qnorm + norms[i] - 2.0f * ip[i];
}

size_t ThresholdFilter(const float* dist, size_t n, float threshold,
                       uint32_t* out_idx) {
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (dist[i] <= threshold) out_idx[m++] = static_cast<uint32_t>(i);
  }
  return m;
}

void CountLess(const float* dist, size_t n, uint32_t* less) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t lt = 0;
    for (size_t j = 0; j < n; ++j) lt += dist[j] < dist[i] ? 1 : 0;
    less[i] = lt;
  }
}

float KthSmallest(const float* dist, size_t n, size_t k, float* scratch) {
  std::copy(dist, dist + n, scratch);
  std::nth_element(scratch, scratch + k, scratch + n);
  return scratch[k];
}

}  // namespace
}  // namespace vindex::kernels::scalar

namespace vindex::kernels {
template <>
const KernelTable IsaTable<KernelTable, Isa::kScalar>::kTable = {
    .isa = Isa::kScalar,
    .l2_sqr = &scalar::L2Sqr,
    .inner_product = &scalar::InnerProduct,
    .l2_sqr_rows = &scalar::L2SqrRows,
    .inner_product_rows = &scalar::InnerProductRows,
    .l2_sqr_rows_multi = &scalar::L2SqrRowsMulti,
    .inner_product_rows_multi = &scalar::InnerProductRowsMulti,
    .l2_sqr_rows_bounded = &scalar::L2SqrRowsBounded,
    .l2_sqr_below = &scalar::L2SqrBelow,
    .l2_from_ip = &scalar::L2FromIp,
    .threshold_filter = &scalar::ThresholdFilter,
    .count_less = &scalar::CountLess,
    .kth_smallest = &scalar::KthSmallest,
};

}  // namespace vindex::kernels
