#include "index/brute_force.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "core/topk.h"
#include "index/head_codec.h"
#include "index/ip_screen.h"
#include "kernels/kernels.h"
#include "linalg/gemm.h"

namespace vindex::internal {
namespace {

constexpr int64_t kScanBlock = 1024;
// Rows per bounded kernel call: smaller blocks hand the kernel a threshold
// that tightens sooner.
constexpr int64_t kBoundedScanBlock = 256;

inline int64_t IdOfRow(const BruteForceRows& r, int64_t row) {
  if (r.mask != nullptr && !r.mask->Test(row)) return -1;
  return r.ids != nullptr ? r.ids[row] : row;
}

void ScanOneQuery(const BruteForceRows& rows, Score score, const float* q,
                  int k, int64_t* out_ids, float* out_scores) {
  const kernels::KernelTable& kt = kernels::Active();
  TopK top(k);
  // Long L2 rows stop once past the running k-th distance: on rotated data
  // (principal axes first) most rows stop after their leading dimensions.
  // Inner products of rows of known norm are screened the same way. Rows
  // with coded heads stop before they are read, at any length.
  const bool coded = rows.head_codec != nullptr &&
                     static_cast<size_t>(rows.dim) >= kernels::kCodedHeadDim;
  const bool stops_early =
      static_cast<size_t>(rows.dim) >= kernels::kBoundedMinDim || coded;
  const bool screened = score == Score::kNegativeInnerProduct &&
                        rows.max_sq_norm >= 0.0f && stops_early;
  const bool bounded = (score == Score::kL2 && stops_early) || screened;
  const float q_sq_norm = screened ? kt.inner_product(q, q, rows.dim) : 0.0f;
  alignas(64) float head_offset[kernels::kCodedHeadDim];
  kernels::CodedHeads heads{};
  if (coded && bounded) {
    heads.step = rows.head_codec->step();
    heads.offset = head_offset;
    heads.query_slack = rows.head_codec->PrepareQuery(q, head_offset);
  }
  const int64_t max_block = bounded ? kBoundedScanBlock : kScanBlock;
  std::vector<float> dist(max_block);
  std::vector<uint32_t> scratch(max_block);
  // Bounded blocks start small and double, so the threshold is finite after
  // the first few dozen rows instead of after the first full block.
  int64_t block = bounded
                      ? std::min<int64_t>(max_block, std::max<int64_t>(k, 32))
                      : max_block;
  for (int64_t b0 = 0, bn = 0; b0 < rows.rows;
       b0 += bn, block = std::min(2 * block, max_block)) {
    bn = std::min(block, rows.rows - b0);
    const float* base = rows.data + b0 * rows.stride;
    const kernels::CodedHeads* block_heads = nullptr;
    if (coded && bounded) {
      heads.codes = rows.head_codes + b0 * kernels::kCodedHeadDim;
      heads.slack = rows.head_slack + b0;
      block_heads = &heads;
    }
    if (screened) {
      const float l2_bound = InnerProductScreenBound(
          top.threshold(), q_sq_norm, rows.max_sq_norm, rows.dim);
      ScreenedNegativeInnerProducts(kt, q, base, bn, rows.dim, rows.stride,
                                    l2_bound, dist.data(), block_heads);
    } else if (bounded) {
      // Unfinished rows hold a partial sum above the threshold, so PushBlock
      // drops them as it would their full distances.
      kt.l2_sqr_rows_bounded(q, base, bn, rows.dim, rows.stride,
                             top.threshold(), dist.data(), block_heads);
    } else if (score == Score::kL2) {
      kt.l2_sqr_rows(q, base, bn, rows.dim, rows.stride, dist.data());
    } else {
      kt.inner_product_rows(q, base, bn, rows.dim, rows.stride, dist.data());
      for (int64_t i = 0; i < bn; ++i) dist[i] = -dist[i];
    }
    top.PushBlock(kt, dist.data(), bn, scratch.data(),
                  [&](uint32_t i) { return IdOfRow(rows, b0 + i); });
  }
  top.Finish(out_ids, out_scores);
}

void GemmQueryTile(const BruteForceRows& rows, Score score,
                   MatrixView<const float> queries, int64_t q0, int64_t qn,
                   int k, BruteForceOutput out) {
  const kernels::KernelTable& kt = kernels::Active();
  std::vector<TopK> tops(qn);
  for (auto& t : tops) t.Reset(k);
  std::vector<float> qnorms(qn, 0.0f);
  if (score == Score::kL2) {
    linalg::RowSquaredNorms(queries.row(q0), qn, queries.cols,
                            queries.row_stride(), qnorms.data());
  }
  std::vector<float> ip(qn * kGemmRowTile);
  std::vector<uint32_t> scratch(kGemmRowTile);
  for (int64_t b0 = 0; b0 < rows.rows; b0 += kGemmRowTile) {
    const int64_t bn = std::min(kGemmRowTile, rows.rows - b0);
    linalg::GemmABt(queries.row(q0), qn, queries.row_stride(),
                    rows.data + b0 * rows.stride, bn, rows.stride, rows.dim,
                    ip.data(), bn);
    for (int64_t i = 0; i < qn; ++i) {
      float* d = ip.data() + i * bn;
      if (score == Score::kL2) {
        kt.l2_from_ip(d, rows.sq_norms + b0, qnorms[i], bn, d);
      } else {
        for (int64_t j = 0; j < bn; ++j) d[j] = -d[j];
      }
      tops[i].PushBlock(kt, d, bn, scratch.data(),
                        [&](uint32_t j) { return IdOfRow(rows, b0 + j); });
    }
  }
  for (int64_t i = 0; i < qn; ++i) {
    tops[i].Finish(out.ids + (q0 + i) * out.ids_stride,
                   out.scores + (q0 + i) * out.scores_stride);
  }
}

// The k best rows of every query by the scan or the GEMM path, each row's
// score as that path rounds it.
void SelectKnn(const BruteForceRows& rows, Score score,
               MatrixView<const float> queries, int k, BruteForceOutput out,
               Executor* executor, int force_gemm) {
  const int64_t nq = queries.rows;
  const int64_t threads = NumThreads(executor);
  bool use_gemm =
      force_gemm < 0 ? nq >= kGemmMinQueries * threads : force_gemm == 1;
  if (score == Score::kL2 && rows.sq_norms == nullptr) use_gemm = false;
  if (!use_gemm) {
    ParallelFor(executor, nq, [&](int64_t i) {
      ScanOneQuery(rows, score, queries.row(i), k, out.ids + i * out.ids_stride,
                   out.scores + i * out.scores_stride);
    });
    return;
  }
  // Enough tiles to keep every thread busy, none larger than the cache tile
  // and none so small that GEMM loses to the scan.
  const int64_t tile = std::clamp<int64_t>((nq + threads - 1) / threads,
                                           kGemmMinQueries, kGemmQueryTile);
  const int64_t tiles = (nq + tile - 1) / tile;
  ParallelFor(executor, tiles, [&](int64_t t) {
    const int64_t q0 = t * tile;
    GemmQueryTile(rows, score, queries, q0, std::min(tile, nq - q0), k, out);
  });
}

// Rows the fast paths select per query before the re-score: the k best by
// the one-pair kernel are among them unless more than this many rows lie
// within the paths' rounding of the k-th.
int RescoreCandidates(int k) { return k + std::max(k, 16); }

}  // namespace

void BruteForceKnn(const BruteForceRows& rows, Score score,
                   MatrixView<const float> queries, int k, BruteForceOutput out,
                   Executor* executor, int force_gemm) {
  if (!rows.rescore) {
    SelectKnn(rows, score, queries, k, out, executor, force_gemm);
    return;
  }
  const int64_t nq = queries.rows;
  const int kc = RescoreCandidates(k);
  BruteForceRows by_row = rows;
  by_row.ids = nullptr;  // Candidates by row, so that they can be re-scored.
  std::vector<int64_t> cand(nq * kc);
  std::vector<float> cand_scores(nq * kc);
  SelectKnn(by_row, score, queries, kc,
            BruteForceOutput{cand.data(), kc, cand_scores.data(), kc}, executor,
            force_gemm);
  const kernels::KernelTable& kt = kernels::Active();
  ParallelFor(executor, nq, [&](int64_t i) {
    const float* q = queries.row(i);
    TopK top(k);
    for (int j = 0; j < kc; ++j) {
      const int64_t row = cand[i * kc + j];
      if (row < 0) break;  // Padding comes last.
      const float* x = rows.data + row * rows.stride;
      top.Push(score == Score::kL2 ? kt.l2_sqr(q, x, rows.dim)
                                   : -kt.inner_product(q, x, rows.dim),
               rows.ids != nullptr ? rows.ids[row] : row);
    }
    top.Finish(out.ids + i * out.ids_stride,
               out.scores + i * out.scores_stride);
  });
}

}  // namespace vindex::internal
