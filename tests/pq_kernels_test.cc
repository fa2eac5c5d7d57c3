#include "kernels/pq_kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"

namespace vindex::kernels {
namespace {

std::vector<const pq::Table*> NonScalarTables() {
  std::vector<const pq::Table*> out;
  for (Isa isa : kIsas) {
    if (isa == Isa::kScalar) continue;
    if (const pq::Table* t = Select<pq::Table>(IsaBit(isa))) {
      EXPECT_EQ(t->isa, isa);
      out.push_back(t);
    }
  }
  return out;
}

TEST(PqKernelsTest, ActiveIsListed) {
  EXPECT_EQ(pq::Active().isa, ActiveIsa());
  ASSERT_NE(Select<pq::Table>(IsaBit(Isa::kScalar)), nullptr);
}

TEST(PqKernelsTest, Scan8MatchesScalarOnAwkwardSizes) {
  const pq::Table& ref = *Select<pq::Table>(IsaBit(Isa::kScalar));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 4.0f);
  for (size_t m : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65}) {
    std::vector<float> lut(m * 256);
    for (auto& v : lut) v = u(rng);
    for (size_t n : {0, 1, 3, 4, 5, 8, 31, 100}) {
      // One extra byte in front so the codes are unaligned.
      std::vector<uint8_t> buf(n * m + 1);
      for (auto& c : buf) c = static_cast<uint8_t>(rng());
      const uint8_t* codes = buf.data() + 1;
      std::vector<float> want(n + 1), got(n + 1);
      ref.scan8(lut.data(), codes, n, m, want.data());
      for (const pq::Table* t : NonScalarTables()) {
        got.assign(n + 1, -7.0f);
        t->scan8(lut.data(), codes, n, m, got.data());
        for (size_t i = 0; i < n; ++i) {
          EXPECT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i])))
              << IsaName(t->isa) << " m=" << m << " n=" << n << " i=" << i;
        }
        EXPECT_EQ(got[n], -7.0f) << IsaName(t->isa) << ": wrote past the end";
      }
      // The scalar twin itself against a plain sum.
      for (size_t i = 0; i < n; ++i) {
        double s = 0;
        for (size_t j = 0; j < m; ++j) s += lut[j * 256 + codes[i * m + j]];
        EXPECT_NEAR(want[i], s, 1e-4 * (1 + s));
      }
    }
  }
}

// The query tables of every ISA against a double-precision sum over the
// untransposed codebooks.
TEST(PqKernelsTest, InnerProductTablesMatchPlainSums) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<const pq::Table*> tables = NonScalarTables();
  tables.push_back(Select<pq::Table>(IsaBit(Isa::kScalar)));
  for (size_t ksub : {16, 256, 7, 40}) {
    for (size_t dsub : {1, 2, 3, 8, 16}) {
      for (size_t m : {1, 4, 5}) {
        std::vector<float> q(m * dsub + 1), books(m * ksub * dsub);
        for (auto& v : q) v = g(rng);
        for (auto& v : books) v = g(rng);
        std::vector<float> books_t(books.size());
        for (size_t j = 0; j < m; ++j) {
          for (size_t c = 0; c < ksub; ++c) {
            for (size_t d = 0; d < dsub; ++d) {
              books_t[(j * dsub + d) * ksub + c] =
                  books[(j * ksub + c) * dsub + d];
            }
          }
        }
        for (const pq::Table* t : tables) {
          std::vector<float> init(m * ksub);
          for (auto& v : init) v = g(rng);
          for (const float* in : {static_cast<const float*>(nullptr),
                                  static_cast<const float*>(init.data())}) {
            std::vector<float> out(m * ksub + 1, -7.0f);
            t->inner_product_tables(q.data(), books_t.data(), m, dsub, ksub,
                                    -2.0f, in, out.data());
            for (size_t j = 0; j < m; ++j) {
              for (size_t c = 0; c < ksub; ++c) {
                double s = 0;
                for (size_t d = 0; d < dsub; ++d)
                  s += double(q[j * dsub + d]) *
                       books[(j * ksub + c) * dsub + d];
                const double want =
                    -2.0 * s + (in != nullptr ? in[j * ksub + c] : 0.0);
                EXPECT_NEAR(out[j * ksub + c], want, 1e-5 * (1 + dsub))
                    << IsaName(t->isa) << " ksub=" << ksub << " dsub=" << dsub
                    << " j=" << j << " c=" << c;
              }
            }
            EXPECT_EQ(out[m * ksub], -7.0f)
                << IsaName(t->isa) << ": wrote past the end";
          }
        }
      }
    }
  }
}

// On every CPU, Active() is one of the listed tables' kernels.
TEST(PqKernelsTest, ActiveScan8IsAListedKernel) {
  const pq::Table& a = pq::Active();
  EXPECT_TRUE(a.scan8 == Select<pq::Table>(IsaBit(Isa::kScalar))->scan8 ||
              a.scan8 == Select<pq::Table>(IsaBit(a.isa))->scan8);
  EXPECT_EQ(a.scan4_fastscan, Select<pq::Table>(IsaBit(a.isa))->scan4_fastscan);
}

// A code's score does not depend on where it sits in the scanned run, so an
// index whose entries moved (Remove) scores them bit for bit as before.
TEST(PqKernelsTest, Scan8ScoreIsIndependentOfPosition) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<const pq::Table*> tables = NonScalarTables();
  tables.push_back(Select<pq::Table>(IsaBit(Isa::kScalar)));
  tables.push_back(&pq::Active());
  for (size_t m : {3, 8, 17, 64}) {
    std::vector<float> lut(m * 256);
    for (auto& v : lut) v = u(rng);
    const size_t n = 9;
    std::vector<uint8_t> codes((n + 1) * m);
    for (auto& c : codes) c = static_cast<uint8_t>(rng());
    for (const pq::Table* t : tables) {
      std::vector<float> all(n + 1), shifted(n);
      t->scan8(lut.data(), codes.data(), n + 1, m, all.data());
      t->scan8(lut.data(), codes.data() + m, n, m, shifted.data());
      for (size_t i = 0; i < n; ++i)
        EXPECT_EQ(shifted[i], all[i + 1]) << IsaName(t->isa) << " m=" << m;
    }
  }
}

TEST(PqKernelsTest, FastScanEqualsScalarExactly) {
  const pq::Table& ref = *Select<pq::Table>(IsaBit(Isa::kScalar));
  std::mt19937 rng(2);
  for (size_t pairs : {1, 2, 3, 4, 5, 8, 16, 17, 32, 33}) {
    for (size_t blocks : {1, 2, 3, 7}) {
      std::vector<uint8_t> codes(blocks * pairs * 32 + 1), lut(pairs * 32 + 1);
      for (auto& c : codes) c = static_cast<uint8_t>(rng());
      // Full-range table entries: large pair counts overflow 16 bits, and
      // every ISA must still agree exactly (sums are modulo 2^16).
      for (auto& c : lut) c = static_cast<uint8_t>(rng());
      std::vector<uint16_t> want(blocks * 32), got(blocks * 32);
      ref.scan4_fastscan(codes.data() + 1, blocks, pairs, lut.data() + 1,
                         want.data());
      for (const pq::Table* t : NonScalarTables()) {
        std::fill(got.begin(), got.end(), 0xdead);
        t->scan4_fastscan(codes.data() + 1, blocks, pairs, lut.data() + 1,
                          got.data());
        EXPECT_EQ(got, want)
            << IsaName(t->isa) << " pairs=" << pairs << " blocks=" << blocks;
      }
    }
  }
}

// The fused filter against its definition: the scalar scan4_fastscan sums,
// bias + sum * scale (+ term), compared with the threshold. Scalar must match
// exactly; other ISAs may round dist differently, so an entry within
// rounding of the threshold may go either way.
TEST(PqKernelsTest, FastScanFilterMatchesDefinition) {
  const pq::Table& ref = *Select<pq::Table>(IsaBit(Isa::kScalar));
  std::vector<const pq::Table*> tables = NonScalarTables();
  tables.insert(tables.begin(), &ref);
  std::mt19937 rng(6);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (size_t pairs : {1, 3, 16, 32, 33}) {
    for (size_t n : {1, 5, 31, 32, 33, 100}) {
      const size_t blocks = (n + 31) / 32;
      std::vector<uint8_t> codes(blocks * pairs * 32), lut(pairs * 32);
      for (auto& c : codes) c = static_cast<uint8_t>(rng());
      for (auto& c : lut) c = static_cast<uint8_t>(rng() % 64);
      std::vector<float> terms(n);
      for (auto& t : terms) t = g(rng);
      std::vector<uint16_t> sums(blocks * 32);
      ref.scan4_fastscan(codes.data(), blocks, pairs, lut.data(), sums.data());
      for (bool with_terms : {false, true}) {
        const float bias = g(rng), scale = 0.01f + std::abs(g(rng));
        std::vector<float> want(n);
        for (size_t i = 0; i < n; ++i) {
          want[i] = bias + static_cast<float>(sums[i]) * scale;
          if (with_terms) want[i] += terms[i];
        }
        std::vector<float> sorted = want;
        std::sort(sorted.begin(), sorted.end());
        for (float thr : {sorted[0] - 1.0f, sorted[n / 4], sorted[n / 2],
                          sorted[n - 1], INFINITY, NAN}) {
          for (const pq::Table* t : tables) {
            std::vector<uint32_t> idx(n);
            std::vector<float> dist(n);
            const size_t m = t->scan4_fastscan_filter(
                codes.data(), n, pairs, lut.data(),
                with_terms ? terms.data() : nullptr, bias, scale, thr,
                idx.data(), dist.data());
            ASSERT_LE(m, n);
            const std::string where = std::string(IsaName(t->isa)) +
                                      " pairs=" + std::to_string(pairs) +
                                      " n=" + std::to_string(n) +
                                      " thr=" + std::to_string(thr);
            const float tol = 1e-5f * std::max(1.0f, std::abs(sorted[n - 1]));
            size_t j = 0;
            for (size_t i = 0; i < n; ++i) {
              const bool listed = j < m && idx[j] == i;
              const bool passes = want[i] <= thr;
              if (listed) {
                EXPECT_NEAR(dist[j], want[i], tol) << where;
                if (t == &ref) EXPECT_EQ(dist[j], want[i]) << where;
                EXPECT_LE(dist[j], thr) << where;
                ++j;
              }
              if (listed != passes &&
                  (t == &ref || std::abs(want[i] - thr) > tol)) {
                ADD_FAILURE() << where << " i=" << i << " listed=" << listed;
              }
            }
            EXPECT_EQ(j, m) << where << ": indices not increasing";
          }
        }
      }
    }
  }
}

// The multi-query filter on every ISA (scalar included) equals, query by
// query and bit for bit, that ISA's one-query filter (checked above against
// the definition), on partial blocks, odd pair counts, terms or none, and
// thresholds that keep none, some or all entries.
TEST(PqKernelsTest, FastScanFilterMultiEqualsOneQueryAtATime) {
  std::vector<const pq::Table*> tables = NonScalarTables();
  tables.insert(tables.begin(), Select<pq::Table>(IsaBit(Isa::kScalar)));
  std::mt19937 rng(8);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (size_t pairs : {1, 2, 3, 16, 17, 32, 33}) {
    for (size_t n : {1, 5, 31, 32, 33, 64, 100}) {
      const size_t blocks = (n + 31) / 32;
      std::vector<uint8_t> codes(blocks * pairs * 32);
      for (auto& c : codes) c = static_cast<uint8_t>(rng());
      std::vector<float> terms(n);
      for (auto& t : terms) t = g(rng);
      for (size_t nq = 1; nq <= kFastScanMaxQueries; ++nq) {
        std::vector<std::vector<uint8_t>> tables_q(
            nq, std::vector<uint8_t>(pairs * 32));
        std::vector<const uint8_t*> luts(nq);
        std::vector<float> bias(nq), scale(nq), thr(nq);
        for (size_t q = 0; q < nq; ++q) {
          for (auto& c : tables_q[q]) c = static_cast<uint8_t>(rng() % 64);
          luts[q] = tables_q[q].data();
          bias[q] = g(rng);
          scale[q] = 0.01f + std::abs(g(rng));
        }
        for (bool with_terms : {false, true}) {
          const float* tm = with_terms ? terms.data() : nullptr;
          for (const pq::Table* t : tables) {
            // Thresholds: query q keeps about q / nq of its entries, the
            // last one all (+inf).
            for (size_t q = 0; q < nq; ++q) {
              std::vector<uint32_t> idx(n);
              std::vector<float> dist(n);
              const size_t all = t->scan4_fastscan_filter(
                  codes.data(), n, pairs, luts[q], tm, bias[q], scale[q],
                  INFINITY, idx.data(), dist.data());
              ASSERT_EQ(all, n);
              std::sort(dist.begin(), dist.end());
              thr[q] = q + 1 == nq ? INFINITY : dist[q * n / nq];
            }
            std::vector<uint32_t> idx(nq * n + 1, 7777);
            std::vector<float> dist(nq * n + 1, -7.0f);
            std::vector<size_t> counts(nq, 9999);
            t->scan4_fastscan_filter_multi(codes.data(), n, pairs, nq,
                                           luts.data(), tm, bias.data(),
                                           scale.data(), thr.data(), idx.data(),
                                           dist.data(), counts.data());
            EXPECT_EQ(idx[nq * n], 7777u) << IsaName(t->isa);
            EXPECT_EQ(dist[nq * n], -7.0f) << IsaName(t->isa);
            for (size_t q = 0; q < nq; ++q) {
              const std::string where = std::string(IsaName(t->isa)) +
                                        " pairs=" + std::to_string(pairs) +
                                        " n=" + std::to_string(n) +
                                        " nq=" + std::to_string(nq) +
                                        " q=" + std::to_string(q) +
                                        " terms=" + std::to_string(with_terms);
              std::vector<uint32_t> want_idx(n);
              std::vector<float> want_dist(n);
              const size_t want = t->scan4_fastscan_filter(
                  codes.data(), n, pairs, luts[q], tm, bias[q], scale[q],
                  thr[q], want_idx.data(), want_dist.data());
              ASSERT_EQ(counts[q], want) << where;
              for (size_t j = 0; j < want; ++j) {
                EXPECT_EQ(idx[q * n + j], want_idx[j]) << where << " j=" << j;
                EXPECT_EQ(dist[q * n + j], want_dist[j]) << where << " j=" << j;
              }
            }
          }
        }
      }
    }
  }
}

// nearest_codewords against inner_product_tables' row (the definition): the
// scalar kernel picks exactly the row's first minimum; other ISAs pick a
// codeword whose score is within rounding of it, and exact duplicate
// codewords (a tie) go to the first on every ISA.
TEST(PqKernelsTest, NearestCodewordsMatchesTableRow) {
  const pq::Table& ref = *Select<pq::Table>(IsaBit(Isa::kScalar));
  std::vector<const pq::Table*> tables = NonScalarTables();
  tables.insert(tables.begin(), &ref);
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (size_t dsub : {1, 2, 8, 14, 16}) {
    for (size_t ksub : {1, 7, 16, 17, 64, 100, 256}) {
      for (bool with_init : {false, true}) {
        const size_t n = 37, stride = dsub + 3;
        std::vector<float> x(n * stride), books_t(dsub * ksub), init(ksub);
        for (auto& v : x) v = g(rng);
        for (auto& v : books_t) v = g(rng);
        for (auto& v : init) v = g(rng);
        if (ksub > 19) {
          // Codewords 9 (another SIMD lane) and 19 (the same lane, 16 on)
          // repeat codeword 3, and row 0 prefers them all by far: the tie
          // goes to 3.
          for (size_t d = 0; d < dsub; ++d) {
            books_t[d * ksub + 9] = books_t[d * ksub + 3];
            books_t[d * ksub + 19] = books_t[d * ksub + 3];
          }
          for (size_t d = 0; d < dsub; ++d) x[d] = books_t[d * ksub + 3];
          init[3] = init[9] = init[19] = -1000.0f;
        }
        const float factor = with_init ? -2.0f : -1.0f;
        const float* in = with_init || ksub > 19 ? init.data() : nullptr;
        for (const pq::Table* t : tables) {
          std::vector<int32_t> out(n, -1);
          std::vector<float> best(n);
          t->nearest_codewords(x.data(), n, stride, books_t.data(), dsub, ksub,
                               factor, in, out.data(), best.data());
          for (size_t i = 0; i < n; ++i) {
            std::vector<float> row(ksub);
            ref.inner_product_tables(x.data() + i * stride, books_t.data(), 1,
                                     dsub, ksub, factor, in, row.data());
            const size_t want =
                std::min_element(row.begin(), row.end()) - row.begin();
            const std::string where =
                std::string(IsaName(t->isa)) + " dsub=" + std::to_string(dsub) +
                " ksub=" + std::to_string(ksub) + " i=" + std::to_string(i);
            ASSERT_GE(out[i], 0) << where;
            ASSERT_LT(out[i], static_cast<int32_t>(ksub)) << where;
            if (t == &ref) {
              EXPECT_EQ(out[i], static_cast<int32_t>(want)) << where;
              EXPECT_EQ(best[i], row[want]) << where;
            } else {
              EXPECT_NEAR(row[out[i]], row[want], 1e-4f) << where;
              EXPECT_NEAR(best[i], row[want], 1e-4f) << where;
            }
            if (ksub > 19 && i == 0) EXPECT_EQ(out[i], 3) << where;
          }
        }
      }
    }
  }
}

TEST(PqKernelsTest, FastScanScalarMatchesLayoutDefinition) {
  // Packs known codes by the documented layout and checks the sums.
  const size_t pairs = 3, m = 6;
  std::mt19937 rng(3);
  std::vector<uint8_t> code(32 * m), block(pairs * 32, 0), lut(pairs * 32);
  for (auto& c : code) c = rng() % 16;
  for (auto& c : lut) c = rng() % 40;
  for (size_t v = 0; v < 32; ++v) {
    for (size_t j = 0; j < m; ++j) {
      const size_t byte = (j / 2) * 32 + (j % 2) * 16 + (v & 15);
      block[byte] |= code[v * m + j] << (v < 16 ? 0 : 4);
    }
  }
  std::vector<uint16_t> out(32);
  Select<pq::Table>(IsaBit(Isa::kScalar))
      ->scan4_fastscan(block.data(), 1, pairs, lut.data(), out.data());
  for (size_t v = 0; v < 32; ++v) {
    unsigned s = 0;
    for (size_t j = 0; j < m; ++j)
      s += lut[(j / 2) * 32 + (j % 2) * 16 + code[v * m + j]];
    EXPECT_EQ(out[v], s) << "vector " << v;
  }
}

TEST(PqKernelsTest, QuantizeLut4EqualsScalarExactly) {
  const pq::Table& ref = *Select<pq::Table>(IsaBit(Isa::kScalar));
  std::mt19937 rng(4);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (size_t m : {1, 2, 3, 7, 8, 16, 33, 64, 112, 128}) {
    const size_t pairs = (m + 1) / 2;
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<float> lut(m * 16 + 1);
      for (auto& v : lut) v = trial == 3 ? 1.5f : g(rng);  // 3: no range.
      std::vector<uint8_t> want(pairs * 32, 0xab), got(pairs * 32);
      float want_lo = -1.0f;
      const float want_inv =
          ref.quantize_lut4(lut.data() + 1, m, want.data(), &want_lo);
      // The contract, on the scalar twin: entries in [0, qmax], a zero in
      // every table, qmax reached by the widest one, padding zeroed.
      const unsigned qmax = std::min<unsigned>(255, 65535 / (2 * pairs));
      float lows = 0.0f, range = 0.0f;
      for (size_t j = 0; j < m; ++j) {
        const float* t = lut.data() + 1 + j * 16;
        const float mn = *std::min_element(t, t + 16);
        lows += mn;
        range = std::max(range, *std::max_element(t, t + 16) - mn);
        const uint8_t* q = want.data() + (j / 2) * 32 + (j % 2) * 16;
        EXPECT_EQ(*std::min_element(q, q + 16), 0) << "m=" << m;
        EXPECT_LE(*std::max_element(q, q + 16), qmax) << "m=" << m;
      }
      EXPECT_EQ(want_lo, lows);
      if (trial < 3) {
        EXPECT_FLOAT_EQ(want_inv, range / qmax);
        EXPECT_EQ(*std::max_element(want.begin(), want.end()), qmax);
      } else {
        EXPECT_EQ(want_inv, 0.0f);
      }
      if (m % 2 == 1) {
        for (size_t c = 0; c < 16; ++c)
          EXPECT_EQ(want[(pairs - 1) * 32 + 16 + c], 0);
      }
      for (const pq::Table* t : NonScalarTables()) {
        std::fill(got.begin(), got.end(), 0xcd);
        float got_lo = -2.0f;
        const float got_inv =
            t->quantize_lut4(lut.data() + 1, m, got.data(), &got_lo);
        EXPECT_EQ(got, want) << IsaName(t->isa) << " m=" << m;
        EXPECT_EQ(got_lo, want_lo) << IsaName(t->isa) << " m=" << m;
        EXPECT_EQ(got_inv, want_inv) << IsaName(t->isa) << " m=" << m;
      }
    }
  }
}

}  // namespace
}  // namespace vindex::kernels
