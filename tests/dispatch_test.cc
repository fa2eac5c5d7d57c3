// The dispatcher: an allowed mask pins an ISA, the best allowed ISA wins,
// every family's Active() follows the default mask, and every table has all
// of its kernels.
#include "kernels/dispatch.h"

#include "gtest/gtest.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/pq_kernels.h"
#include "kernels/sq_kernels.h"

namespace vindex::kernels {
namespace {

// The highest ISA in mask, which must not be empty.
Isa Highest(IsaMask mask) {
  Isa best = Isa::kScalar;
  for (Isa isa : kIsas) {
    if ((mask & IsaBit(isa)) != 0) best = isa;
  }
  return best;
}

template <class Table>
void ExpectSelectObeysMasks() {
  const IsaMask runnable = RunnableIsas();
  EXPECT_EQ(Select<Table>(0), nullptr);
  for (Isa isa : kIsas) {
    const Table* t = Select<Table>(IsaBit(isa));
    if ((runnable & IsaBit(isa)) == 0) {
      EXPECT_EQ(t, nullptr) << IsaName(isa);
      continue;
    }
    ASSERT_NE(t, nullptr) << IsaName(isa);
    EXPECT_EQ(t->isa, isa);
    // Scalar plus this ISA: this one, as it is the better of the two.
    EXPECT_EQ(Select<Table>(IsaBit(Isa::kScalar) | IsaBit(isa))->isa, isa);
  }
  // A mask with a hole: scalar and the top ISA only.
  const IsaMask holed = IsaBit(Isa::kScalar) | IsaBit(kIsas[kIsaCount - 1]);
  EXPECT_EQ(Select<Table>(holed)->isa, Highest(holed & runnable));
  EXPECT_EQ(Select<Table>(kAllIsas)->isa, Highest(runnable));
  EXPECT_EQ(Select<Table>(DefaultAllowedIsas())->isa,
            Highest(DefaultAllowedIsas() & runnable));
}

TEST(DispatchTest, RunnableIsasHoldScalarAndOnlyWhatTheCpuRuns) {
  EXPECT_NE(RunnableIsas() & IsaBit(Isa::kScalar), 0u);
  EXPECT_EQ(RunnableIsas() & ~CpuIsas(), 0u);
}

TEST(DispatchTest, SelectObeysMasksForEveryFamily) {
  ExpectSelectObeysMasks<KernelTable>();
  ExpectSelectObeysMasks<pq::Table>();
  ExpectSelectObeysMasks<SqKernelTable>();
}

TEST(DispatchTest, ActiveTablesFollowTheDefaultMask) {
  const Isa want = Highest(DefaultAllowedIsas() & RunnableIsas());
  EXPECT_EQ(Active().isa, want);
  EXPECT_EQ(ActiveIsa(), want);
  EXPECT_EQ(pq::Active().isa, want);
  EXPECT_EQ(sq::Active().isa, want);
  EXPECT_EQ(&Active(), Select<KernelTable>(DefaultAllowedIsas()));
  EXPECT_EQ(&sq::Active(), Select<SqKernelTable>(DefaultAllowedIsas()));
}

// A field left out of a designated initializer would be null.
TEST(DispatchTest, EveryTableHasEveryKernel) {
  for (Isa isa : kIsas) {
    SCOPED_TRACE(IsaName(isa));
    if (const KernelTable* t = Select<KernelTable>(IsaBit(isa))) {
      EXPECT_NE(t->l2_sqr, nullptr);
      EXPECT_NE(t->inner_product, nullptr);
      EXPECT_NE(t->l2_sqr_rows, nullptr);
      EXPECT_NE(t->inner_product_rows, nullptr);
      EXPECT_NE(t->l2_from_ip, nullptr);
      EXPECT_NE(t->threshold_filter, nullptr);
      EXPECT_NE(t->count_less, nullptr);
      EXPECT_NE(t->kth_smallest, nullptr);
    }
    if (const pq::Table* t = Select<pq::Table>(IsaBit(isa))) {
      EXPECT_NE(t->scan8, nullptr);
      EXPECT_NE(t->scan4_fastscan, nullptr);
      EXPECT_NE(t->scan4_fastscan_filter, nullptr);
      EXPECT_NE(t->scan4_fastscan_filter_multi, nullptr);
      EXPECT_NE(t->inner_product_tables, nullptr);
      EXPECT_NE(t->nearest_codewords, nullptr);
      EXPECT_NE(t->quantize_lut4, nullptr);
    }
    if (const SqKernelTable* t = Select<SqKernelTable>(IsaBit(isa))) {
      EXPECT_NE(t->l2_sqr_u8, nullptr);
      EXPECT_NE(t->dot_u8, nullptr);
      EXPECT_NE(t->l2_sqr_u4, nullptr);
      EXPECT_NE(t->dot_u8_u4, nullptr);
      EXPECT_NE(t->l2_sqr_f16, nullptr);
      EXPECT_NE(t->ip_f16, nullptr);
    }
  }
}

}  // namespace
}  // namespace vindex::kernels
