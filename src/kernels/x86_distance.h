#ifndef VINDEX_SRC_KERNELS_X86_DISTANCE_H_
#define VINDEX_SRC_KERNELS_X86_DISTANCE_H_

// The bodies of KernelTable's l2_sqr, inner_product and their _rows forms,
// written once over a vector width: avx2.cc and avx512.cc instantiate them
// with their own Simd (avx2_simd.h, avx512_simd.h). Include only from files
// built with SIMD flags: internal linkage gives each includer its own copy.

#include <cstddef>
#include <cstdint>
#include <limits>

#include "core/prefetch.h"
#include "kernels/kernels.h"

namespace vindex::kernels {
namespace {

// acc + (x - y)^2, lane by lane.
template <class Simd>
struct L2Op {
  static typename Simd::Vec Step(typename Simd::Vec acc, typename Simd::Vec x,
                                 typename Simd::Vec y) {
    const typename Simd::Vec t = Simd::Sub(x, y);
    return Simd::Fmadd(t, t, acc);
  }
};

// acc + x * y, lane by lane.
template <class Simd>
struct IpOp {
  static typename Simd::Vec Step(typename Simd::Vec acc, typename Simd::Vec x,
                                 typename Simd::Vec y) {
    return Simd::Fmadd(x, y, acc);
  }
};

// Prefetches rows [first, first + 4), when they exist, as one run of cache
// lines.
inline void PrefetchFourRows(const float* rows, size_t first, size_t n,
                             size_t d, size_t stride) {
  if (first + 4 > n) return;
  internal::PrefetchRange(rows + first * stride,
                          (3 * stride + d) * sizeof(float));
}

// A pair's last steps from j (past its whole 4-vector steps): whole vectors
// into s0, the masked tail into s1; returns the sum of the four accumulators.
template <class Simd, class Step>
float FinishPair(const float* a, const float* b, size_t j, size_t d,
                 typename Simd::Vec s0, typename Simd::Vec s1,
                 typename Simd::Vec s2, typename Simd::Vec s3) {
  constexpr size_t kW = Simd::kW;
  for (; j + kW <= d; j += kW) {
    s0 = Step::Step(s0, Simd::Load(a + j), Simd::Load(b + j));
  }
  if (j < d) {
    const typename Simd::Mask m = Simd::FirstLanes(d - j);
    s1 = Step::Step(s1, Simd::MaskLoad(a + j, m), Simd::MaskLoad(b + j, m));
  }
  return Simd::ReduceAdd(Simd::Add(Simd::Add(s0, s1), Simd::Add(s2, s3)));
}

// One pair, four accumulators wide; the tail is a masked load.
template <class Simd, template <class> class Op>
float Pair(const float* a, const float* b, size_t d) {
  constexpr size_t kW = Simd::kW;
  using Step = Op<Simd>;
  typename Simd::Vec s0 = Simd::Zero(), s1 = Simd::Zero();
  typename Simd::Vec s2 = Simd::Zero(), s3 = Simd::Zero();
  size_t j = 0;
  for (; j + 4 * kW <= d; j += 4 * kW) {
    s0 = Step::Step(s0, Simd::Load(a + j), Simd::Load(b + j));
    s1 = Step::Step(s1, Simd::Load(a + j + kW), Simd::Load(b + j + kW));
    s2 = Step::Step(s2, Simd::Load(a + j + 2 * kW), Simd::Load(b + j + 2 * kW));
    s3 = Step::Step(s3, Simd::Load(a + j + 3 * kW), Simd::Load(b + j + 3 * kW));
  }
  return FinishPair<Simd, Step>(a, b, j, d, s0, s1, s2, s3);
}

// One query against four rows at a time: the query is loaded once per step,
// and the rows a few KiB ahead are prefetched (core/prefetch.h).
template <class Simd, template <class> class Op>
void Rows(const float* q, const float* rows, size_t n, size_t d, size_t stride,
          float* out) {
  constexpr size_t kW = Simd::kW;
  using Step = Op<Simd>;
  size_t i = 0;
  const size_t full = d & ~(kW - 1);
  const typename Simd::Mask tail = Simd::FirstLanes(d - full);
  const size_t ahead = internal::PrefetchRowsAhead(stride * sizeof(float), 4);
  for (; i + 4 <= n; i += 4) {
    PrefetchFourRows(rows, i + ahead, n, d, stride);
    const float* r0 = rows + i * stride;
    const float* r1 = r0 + stride;
    const float* r2 = r1 + stride;
    const float* r3 = r2 + stride;
    typename Simd::Vec s0 = Simd::Zero(), s1 = Simd::Zero();
    typename Simd::Vec s2 = Simd::Zero(), s3 = Simd::Zero();
    size_t j = 0;
    for (; j < full; j += kW) {
      const typename Simd::Vec x = Simd::Load(q + j);
      s0 = Step::Step(s0, x, Simd::Load(r0 + j));
      s1 = Step::Step(s1, x, Simd::Load(r1 + j));
      s2 = Step::Step(s2, x, Simd::Load(r2 + j));
      s3 = Step::Step(s3, x, Simd::Load(r3 + j));
    }
    if (j < d) {
      const typename Simd::Vec x = Simd::MaskLoad(q + j, tail);
      s0 = Step::Step(s0, x, Simd::MaskLoad(r0 + j, tail));
      s1 = Step::Step(s1, x, Simd::MaskLoad(r1 + j, tail));
      s2 = Step::Step(s2, x, Simd::MaskLoad(r2 + j, tail));
      s3 = Step::Step(s3, x, Simd::MaskLoad(r3 + j, tail));
    }
    Simd::StoreSums4(out + i, s0, s1, s2, s3);
  }
  for (; i < n; ++i) out[i] = Pair<Simd, Op>(q, rows + i * stride, d);
}

// Pair<Simd, L2Op> with early exits: the same steps in the same order, and
// at kBoundedFirstCheck, 2x, 4x, ... dimensions up to kBoundedCheckStep, then
// every kBoundedCheckStep (rounded to whole 4-vector steps), a reduced copy
// of the accumulators is compared with bound.
template <class Simd>
float PairBelow(const float* a, const float* b, size_t d, float bound) {
  constexpr size_t kW = Simd::kW;
  using Step = L2Op<Simd>;
  typename Simd::Vec s0 = Simd::Zero(), s1 = Simd::Zero();
  typename Simd::Vec s2 = Simd::Zero(), s3 = Simd::Zero();
  const size_t blocks_end = d - d % (4 * kW);
  size_t check = kBoundedFirstCheck > 4 * kW ? kBoundedFirstCheck : 4 * kW;
  size_t j = 0;
  for (;;) {
    const size_t stop = check < blocks_end ? check : blocks_end;
    for (; j < stop; j += 4 * kW) {
      s0 = Step::Step(s0, Simd::Load(a + j), Simd::Load(b + j));
      s1 = Step::Step(s1, Simd::Load(a + j + kW), Simd::Load(b + j + kW));
      s2 = Step::Step(s2, Simd::Load(a + j + 2 * kW),
                      Simd::Load(b + j + 2 * kW));
      s3 = Step::Step(s3, Simd::Load(a + j + 3 * kW),
                      Simd::Load(b + j + 3 * kW));
    }
    if (j >= blocks_end) break;
    const float partial =
        Simd::ReduceAdd(Simd::Add(Simd::Add(s0, s1), Simd::Add(s2, s3)));
    if (partial > bound) return partial;
    check = NextBelowCheck(check);
  }
  return FinishPair<Simd, Step>(a, b, j, d, s0, s1, s2, s3);
}

// Rows scored per pass of RowsBounded: their accumulators stay in L1.
inline constexpr size_t kBoundedBlock = 64;

// Continues the squared L2 accumulators s[0..3] of rows r[0..3] over
// dimensions [j, end) (multiples of kW), with Rows' steps.
template <class Simd>
void StepFourRows(const float* q, const float* const* r, size_t j, size_t end,
                  typename Simd::Vec* s) {
  constexpr size_t kW = Simd::kW;
  using Step = L2Op<Simd>;
  using Vec = typename Simd::Vec;
  Vec s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  for (; j < end; j += kW) {
    const Vec x = Simd::Load(q + j);
    s0 = Step::Step(s0, x, Simd::Load(r[0] + j));
    s1 = Step::Step(s1, x, Simd::Load(r[1] + j));
    s2 = Step::Step(s2, x, Simd::Load(r[2] + j));
    s3 = Step::Step(s3, x, Simd::Load(r[3] + j));
  }
  s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

// s + (codes * step - offset)^2, lane by lane: one decoded coordinate's
// term of a coded distance.
template <class Simd>
typename Simd::Vec AddDecodedSquare(typename Simd::Vec codes,
                                    typename Simd::Vec step,
                                    typename Simd::Vec offset,
                                    typename Simd::Vec s) {
  const typename Simd::Vec t = Simd::Fmsub(codes, step, offset);
  return Simd::Fmadd(t, t, s);
}

// The sums over rows r[0..3]'s coded heads of (code * step - offset)^2
// (CodedHeads), one accumulator per row.
template <class Simd>
void DecodedHeadsFour(const CodedHeads& heads, size_t first, float* sums) {
  constexpr size_t kW = Simd::kW;
  using Vec = typename Simd::Vec;
  const uint8_t* codes = heads.codes + first * kCodedHeadDim;
  Vec s0 = Simd::Zero(), s1 = Simd::Zero(), s2 = Simd::Zero();
  Vec s3 = Simd::Zero();
  for (size_t j = 0; j < kCodedHeadDim; j += kW) {
    const Vec step = Simd::Load(heads.step + j);
    const Vec offset = Simd::Load(heads.offset + j);
    const uint8_t* c = codes + j;
    s0 = AddDecodedSquare<Simd>(Simd::LoadBytes(c), step, offset, s0);
    c += kCodedHeadDim;
    s1 = AddDecodedSquare<Simd>(Simd::LoadBytes(c), step, offset, s1);
    c += kCodedHeadDim;
    s2 = AddDecodedSquare<Simd>(Simd::LoadBytes(c), step, offset, s2);
    c += kCodedHeadDim;
    s3 = AddDecodedSquare<Simd>(Simd::LoadBytes(c), step, offset, s3);
  }
  Simd::StoreSums4(sums, s0, s1, s2, s3);
}

// The same sum for row i alone.
template <class Simd>
float DecodedHead(const CodedHeads& heads, size_t i) {
  constexpr size_t kW = Simd::kW;
  const uint8_t* code = heads.codes + i * kCodedHeadDim;
  typename Simd::Vec s = Simd::Zero();
  for (size_t j = 0; j < kCodedHeadDim; j += kW) {
    s = AddDecodedSquare<Simd>(Simd::LoadBytes(code + j),
                               Simd::Load(heads.step + j),
                               Simd::Load(heads.offset + j), s);
  }
  return Simd::ReduceAdd(s);
}

// The sums over rows rows[0..3]'s coded tails of (code * tail_step -
// tail_offset)^2 (CodedHeads), one accumulator per row.
template <class Simd>
void DecodedTailsFour(const CodedHeads& heads, const uint32_t* rows,
                      float* sums) {
  constexpr size_t kW = Simd::kW;
  constexpr size_t kHalf = kCodedTailBlock / 2;
  using Vec = typename Simd::Vec;
  const size_t bytes = heads.tail_dim / 2;
  const uint8_t* c0 = heads.tail_codes + rows[0] * bytes;
  const uint8_t* c1 = heads.tail_codes + rows[1] * bytes;
  const uint8_t* c2 = heads.tail_codes + rows[2] * bytes;
  const uint8_t* c3 = heads.tail_codes + rows[3] * bytes;
  Vec s0 = Simd::Zero(), s1 = Simd::Zero(), s2 = Simd::Zero();
  Vec s3 = Simd::Zero();
  for (size_t j = 0, at = 0; j < heads.tail_dim;
       j += kCodedTailBlock, at += kHalf) {
    for (size_t h = 0; h < kHalf; h += kW) {
      const Vec lo_step = Simd::Load(heads.tail_step + j + h);
      const Vec lo_offset = Simd::Load(heads.tail_offset + j + h);
      const Vec hi_step = Simd::Load(heads.tail_step + j + kHalf + h);
      const Vec hi_offset = Simd::Load(heads.tail_offset + j + kHalf + h);
      const size_t b = at + h;
      s0 = AddDecodedSquare<Simd>(Simd::LoadLowNibbles(c0 + b), lo_step,
                                  lo_offset, s0);
      s1 = AddDecodedSquare<Simd>(Simd::LoadLowNibbles(c1 + b), lo_step,
                                  lo_offset, s1);
      s2 = AddDecodedSquare<Simd>(Simd::LoadLowNibbles(c2 + b), lo_step,
                                  lo_offset, s2);
      s3 = AddDecodedSquare<Simd>(Simd::LoadLowNibbles(c3 + b), lo_step,
                                  lo_offset, s3);
      s0 = AddDecodedSquare<Simd>(Simd::LoadHighNibbles(c0 + b), hi_step,
                                  hi_offset, s0);
      s1 = AddDecodedSquare<Simd>(Simd::LoadHighNibbles(c1 + b), hi_step,
                                  hi_offset, s1);
      s2 = AddDecodedSquare<Simd>(Simd::LoadHighNibbles(c2 + b), hi_step,
                                  hi_offset, s2);
      s3 = AddDecodedSquare<Simd>(Simd::LoadHighNibbles(c3 + b), hi_step,
                                  hi_offset, s3);
    }
  }
  Simd::StoreSums4(sums, s0, s1, s2, s3);
}

// Of the m rows live[0..m) whose heads did not stop them (head_sum[t]: row
// live[t]'s decoded head), keeps in live, in order, those whose whole coded
// row does not prove them above bound either, writing every row's floor to
// out; returns how many it kept.
template <class Simd>
size_t KeepByTails(const CodedHeads& heads, uint32_t* live,
                   const float* head_sum, size_t m, float bound, float shrink,
                   float* out) {
  constexpr size_t kAhead = 8;  // Rows whose tails are fetched ahead.
  const size_t bytes = heads.tail_dim / 2;
  for (size_t t = 0; t < m && t < kAhead; ++t) {
    internal::PrefetchRange(heads.tail_codes + live[t] * bytes, bytes);
  }
  size_t kept = 0;
  for (size_t g = 0; g < m; g += 4) {
    for (size_t t = g + kAhead; t < g + kAhead + 4 && t < m; ++t) {
      internal::PrefetchRange(heads.tail_codes + live[t] * bytes, bytes);
    }
    // A short last group repeats its last row (decoded twice, kept once).
    uint32_t rows[4];
    for (size_t t = 0; t < 4; ++t) rows[t] = live[g + t < m ? g + t : m - 1];
    float tails[4];
    DecodedTailsFour<Simd>(heads, rows, tails);
    const size_t distinct = m - g < 4 ? m - g : 4;
    for (size_t t = 0; t < distinct; ++t) {
      const float floor =
          CodedHeadFloor(head_sum[g + t] + tails[t], heads.row_slack[rows[t]],
                         heads.tail_query_slack, shrink);
      out[rows[t]] = floor;
      live[kept] = rows[t];  // kept <= g + t: rows[] holds this group.
      kept += floor > bound ? 0 : 1;
    }
  }
  return kept;
}

// Rows<Simd, L2Op> with early exits (KernelTable::l2_sqr_rows_bounded). A
// block of rows is scored in stages: every live row's accumulator (one per
// row, as in Rows) advances to the next check, four rows at a time; a
// reduced copy is compared with bound and the rows above it leave with that
// partial sum; the live ones regroup by four for the next stage. A row's
// accumulator takes Rows' steps in Rows' order whatever rows it is grouped
// with, and StoreSums4 reduces each lane on its own, so a finished row is
// Rows' bit for bit. The last n % 4 rows go through Pair, as in Rows.
// Without coded heads, only the first floats of the rows ahead are
// prefetched (what the first checks read): the rest of a row is fetched
// only if it survives them. With kHeads, a first stage walks the block's coded
// heads in order and keeps, without a branch per row, the rows whose floor
// (CodedHeadFloor) is not above bound; with tails, a second stage
// (KeepByTails) keeps those whose whole coded row's floor is not above it
// either; those are then scored from their rows, from the first dimension,
// each stage's floats prefetched for the rows that enter it.
template <class Simd, bool kHeads>
void RowsBoundedWith(const float* q, const float* rows, size_t n, size_t d,
                     size_t stride, float bound, float* out,
                     const CodedHeads* heads) {
  constexpr size_t kW = Simd::kW;
  using Step = L2Op<Simd>;
  using Vec = typename Simd::Vec;
  const size_t full = d & ~(kW - 1);
  const typename Simd::Mask tail = Simd::FirstLanes(d - full);
  // With heads, the rows' own first check comes past the coded dimensions.
  const size_t first_check_dims =
      kHeads ? 2 * kCodedHeadDim : kBoundedFirstCheck;
  const size_t first_check = first_check_dims < full ? first_check_dims : full;
  const size_t head_bytes =
      (d < 2 * kBoundedFirstCheck ? d : 2 * kBoundedFirstCheck) * sizeof(float);
  const size_t ahead = internal::PrefetchRowsAhead(head_bytes, 4);
  const size_t n4 = n & ~size_t{3};
  const float shrink = CodedHeadShrink(d);
  const bool tails = kHeads && heads->tail_codes != nullptr;
  const float tail_shrink =
      tails ? CodedHeadShrink(d, kCodedHeadDim + heads->tail_dim) : 0.0f;
  Vec acc[kBoundedBlock];
  uint32_t live[kBoundedBlock];
  float head_sum[kBoundedBlock];
  for (size_t b = 0; b < n4; b += kBoundedBlock) {
    const size_t bn = n4 - b < kBoundedBlock ? n4 - b : kBoundedBlock;
    size_t m = bn;
    size_t j = 0;
    size_t check = first_check;
    for (size_t t = 0; t < bn; ++t) acc[t] = Simd::Zero();
    if constexpr (!kHeads) {
      for (size_t t = 0; t < bn; ++t) live[t] = static_cast<uint32_t>(b + t);
    } else {
      m = 0;
      for (size_t i = b; i < b + bn; i += 4) {
        float decoded[4];
        DecodedHeadsFour<Simd>(*heads, i, decoded);
        for (size_t t = 0; t < 4; ++t) {
          const float floor = CodedHeadFloor(decoded[t], heads->slack[i + t],
                                             heads->query_slack, shrink);
          out[i + t] = floor;
          live[m] = static_cast<uint32_t>(i + t);
          head_sum[m] = decoded[t];
          m += floor > bound ? 0 : 1;
        }
      }
      if (tails) {
        m = KeepByTails<Simd>(*heads, live, head_sum, m, bound, tail_shrink,
                              out);
      }
      const size_t end = check < full ? check : d;
      for (size_t t = 0; t < m; ++t) {
        internal::PrefetchRange(rows + live[t] * stride, end * sizeof(float));
      }
    }
    while (m > 0) {
      const bool last = check >= full;
      size_t kept = 0;
      for (size_t g = 0; g < m; g += 4) {
        // A short last group repeats its last row (scored twice, kept once).
        size_t idx[4];
        const float* r[4];
        Vec s[4];
        for (size_t t = 0; t < 4; ++t) {
          const size_t at = g + t < m ? g + t : m - 1;
          idx[t] = at;
          r[t] = rows + live[at] * stride;
          s[t] = acc[at];
        }
        if (!kHeads && j == 0 && live[g] + ahead + 4 <= n) {
          for (size_t t = 0; t < 4; ++t) {
            internal::PrefetchRange(rows + (live[g] + ahead + t) * stride,
                                    head_bytes);
          }
        }
        StepFourRows<Simd>(q, r, j, check, s);
        if (last) {
          if (full < d) {
            const Vec x = Simd::MaskLoad(q + full, tail);
            for (size_t t = 0; t < 4; ++t) {
              s[t] = Step::Step(s[t], x, Simd::MaskLoad(r[t] + full, tail));
            }
          }
          float sums[4];
          Simd::StoreSums4(sums, s[0], s[1], s[2], s[3]);
          for (size_t t = 0; t < 4; ++t) out[live[idx[t]]] = sums[t];
          continue;
        }
        float partial[4];
        Simd::StoreSums4(partial, s[0], s[1], s[2], s[3]);
        const size_t distinct = m - g < 4 ? m - g : 4;
        for (size_t t = 0; t < distinct; ++t) {
          if (partial[t] > bound) {
            out[live[g + t]] = partial[t];
          } else {
            // kept <= g + t: the write never passes a row still to read.
            live[kept] = live[g + t];
            acc[kept] = s[t];
            ++kept;
            if constexpr (kHeads) {
              const size_t next = 2 * check < full ? 2 * check : d;
              internal::PrefetchRange(r[t] + check,
                                      (next - check) * sizeof(float));
            }
          }
        }
      }
      if (last) break;
      m = kept;
      j = check;
      check = 2 * check < full ? 2 * check : full;
    }
  }
  for (size_t i = n4; i < n; ++i) {
    const float* row = rows + i * stride;
    if constexpr (kHeads) {
      const float head = DecodedHead<Simd>(*heads, i);
      const float floor =
          CodedHeadFloor(head, heads->slack[i], heads->query_slack, shrink);
      uint32_t one = static_cast<uint32_t>(i);
      if (floor > bound) {
        out[i] = floor;
      } else if (!tails || KeepByTails<Simd>(*heads, &one, &head, 1, bound,
                                             tail_shrink, out) == 1) {
        out[i] = Pair<Simd, L2Op>(q, row, d);
      }  // Else out[i] holds the floor of the whole coded row.
    } else {
      out[i] = Pair<Simd, L2Op>(q, row, d);
    }
  }
}

// KernelTable::l2_sqr_rows_bounded.
template <class Simd>
void RowsBounded(const float* q, const float* rows, size_t n, size_t d,
                 size_t stride, float bound, float* out,
                 const CodedHeads* heads) {
  if (!(bound < std::numeric_limits<float>::infinity())) {
    // Nothing can stop (the first rows of a scan): the plain scan, whose
    // prefetch streams the rows.
    Rows<Simd, L2Op>(q, rows, n, d, stride, out);
    return;
  }
  if (heads == nullptr) {
    RowsBoundedWith<Simd, false>(q, rows, n, d, stride, bound, out, nullptr);
  } else {
    RowsBoundedWith<Simd, true>(q, rows, n, d, stride, bound, out, heads);
  }
}

// Queries q0 and q1 against rows r0..r3: eight accumulators, each row and
// query loaded once per step. Every accumulator takes the same steps in the
// same order as Rows' for its pair, so the sums are bit for bit Rows'.
template <class Simd, template <class> class Op>
void TwoQueriesFourRows(const float* q0, const float* q1, const float* r0,
                        size_t stride, size_t d, float* out0, float* out1) {
  constexpr size_t kW = Simd::kW;
  using Step = Op<Simd>;
  using Vec = typename Simd::Vec;
  const float* r1 = r0 + stride;
  const float* r2 = r1 + stride;
  const float* r3 = r2 + stride;
  Vec a0 = Simd::Zero(), a1 = Simd::Zero(), a2 = Simd::Zero(),
      a3 = Simd::Zero();
  Vec b0 = Simd::Zero(), b1 = Simd::Zero(), b2 = Simd::Zero(),
      b3 = Simd::Zero();
  const size_t full = d & ~(kW - 1);
  size_t j = 0;
  for (; j < full; j += kW) {
    const Vec x = Simd::Load(q0 + j), y = Simd::Load(q1 + j);
    Vec v = Simd::Load(r0 + j);
    a0 = Step::Step(a0, x, v);
    b0 = Step::Step(b0, y, v);
    v = Simd::Load(r1 + j);
    a1 = Step::Step(a1, x, v);
    b1 = Step::Step(b1, y, v);
    v = Simd::Load(r2 + j);
    a2 = Step::Step(a2, x, v);
    b2 = Step::Step(b2, y, v);
    v = Simd::Load(r3 + j);
    a3 = Step::Step(a3, x, v);
    b3 = Step::Step(b3, y, v);
  }
  if (j < d) {
    const typename Simd::Mask tail = Simd::FirstLanes(d - full);
    const Vec x = Simd::MaskLoad(q0 + j, tail),
              y = Simd::MaskLoad(q1 + j, tail);
    Vec v = Simd::MaskLoad(r0 + j, tail);
    a0 = Step::Step(a0, x, v);
    b0 = Step::Step(b0, y, v);
    v = Simd::MaskLoad(r1 + j, tail);
    a1 = Step::Step(a1, x, v);
    b1 = Step::Step(b1, y, v);
    v = Simd::MaskLoad(r2 + j, tail);
    a2 = Step::Step(a2, x, v);
    b2 = Step::Step(b2, y, v);
    v = Simd::MaskLoad(r3 + j, tail);
    a3 = Step::Step(a3, x, v);
    b3 = Step::Step(b3, y, v);
  }
  Simd::StoreSums4(out0, a0, a1, a2, a3);
  Simd::StoreSums4(out1, b0, b1, b2, b3);
}

// Many queries against the same rows: per block of four rows, the queries
// two at a time (an odd last one through Rows), so the rows are read from
// memory once and then from L1; the last n % 4 rows as Rows does (Pair).
template <class Simd, template <class> class Op>
void RowsMulti(const float* const* queries, size_t nq, const float* rows,
               size_t n, size_t d, size_t stride, float* out,
               size_t out_stride) {
  const size_t ahead = internal::PrefetchRowsAhead(stride * sizeof(float), 4);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    PrefetchFourRows(rows, i + ahead, n, d, stride);
    const float* r = rows + i * stride;
    size_t j = 0;
    for (; j + 2 <= nq; j += 2) {
      TwoQueriesFourRows<Simd, Op>(queries[j], queries[j + 1], r, stride, d,
                                   out + j * out_stride + i,
                                   out + (j + 1) * out_stride + i);
    }
    if (j < nq) {
      Rows<Simd, Op>(queries[j], r, 4, d, stride, out + j * out_stride + i);
    }
  }
  for (; i < n; ++i) {
    for (size_t j = 0; j < nq; ++j) {
      out[j * out_stride + i] =
          Pair<Simd, Op>(queries[j], rows + i * stride, d);
    }
  }
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_DISTANCE_H_
