// Factory strings: good ones build the named family, bad ones name the token.
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "vindex/index.h"

namespace vindex {
namespace {

TEST(Factory, FlatBuildsAFlatIndex) {
  auto index = MakeIndex("Flat", 16, Metric::kCosine);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->info().family, IndexFamily::kFlat);
  EXPECT_EQ((*index)->info().metric, Metric::kCosine);
  EXPECT_EQ((*index)->info().dim, 16);
  EXPECT_EQ((*index)->info().description, "Flat");
}

TEST(Factory, BadStringsNameTheBadToken) {
  struct Case {
    const char* factory;
    const char* token;
  };
  for (const Case& c :
       {Case{"", "empty"}, Case{"Flta", "Flta"}, Case{"IVF,Flat", "IVF"},
        Case{"IVF0,Flat", "IVF0"}, Case{"IVF12x,Flat", "IVF12x"},
        Case{"IVF64,PQ", "PQ"}, Case{"IVF64,PQ8x5", "PQ8x5"},
        Case{"IVF64,Flat,Rerank", "Rerank"}, Case{"IVF64,PQ8,Bogus", "Bogus"},
        Case{"HNSW", "HNSW"}, Case{"HNSW-3", "HNSW-3"},
        Case{"HNSW32,SQ6", "SQ6"}, Case{"Flat,Flat", "Flat"}}) {
    auto index = MakeIndex(c.factory, 8);
    ASSERT_FALSE(index.ok()) << c.factory;
    EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument)
        << c.factory;
    EXPECT_NE(index.status().message().find(c.token), std::string::npos)
        << c.factory << ": " << index.status();
  }
}

TEST(Factory, BadDimOrMetricIsInvalidArgument) {
  EXPECT_EQ(MakeIndex("Flat", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeIndex("Flat", -4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeIndex("Flat", 4, static_cast<Metric>(9)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Factory, ParseIndexSpecGivesTheOptionsToAdjust) {
  auto spec = ParseIndexSpec("IVF64,PQ8x4fs,Rerank", 32, Metric::kCosine);
  ASSERT_TRUE(spec.ok()) << spec.status();
  const auto* pq = std::get_if<IvfPqOptions>(&*spec);
  ASSERT_NE(pq, nullptr);
  EXPECT_EQ(pq->ivf.dim, 32);
  EXPECT_EQ(pq->ivf.metric, Metric::kCosine);
  EXPECT_EQ(pq->ivf.nlist, 64);
  EXPECT_EQ(pq->pq_m, 8);
  EXPECT_EQ(pq->pq_bits, 4);
  EXPECT_TRUE(pq->keep_raw_vectors);

  // Adjusted options build the index with the adjustment in force.
  int calls = 0;
  IvfFlatOptions flat =
      std::get<IvfFlatOptions>(*ParseIndexSpec("IVF4,Flat", 2));
  flat.ivf.kmeans_iterations = 3;
  flat.ivf.kmeans_progress = [&calls](int, double) { ++calls; };
  auto index = MakeIndex(flat);
  ASSERT_TRUE(index.ok()) << index.status();
  std::vector<float> points;
  for (int i = 0; i < 64; ++i) {
    points.push_back(static_cast<float>(i % 8));
    points.push_back(static_cast<float>(i / 8));
  }
  ASSERT_TRUE(
      (*index)->Train(MatrixView<const float>(points.data(), 64, 2)).ok());
  EXPECT_EQ(calls, 3);

  auto bad = ParseIndexSpec("IVF64,PQ8x5", 32);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("PQ8x5"), std::string::npos);
}

// Every form of the grammar, with the options each one stands for.
TEST(Factory, ParseIndexSpecReadsEveryForm) {
  using T = HnswOptions::Traversal;
  auto parse = [](const char* factory) {
    auto spec = ParseIndexSpec(factory, 24, Metric::kInnerProduct);
    EXPECT_TRUE(spec.ok()) << factory << ": " << spec.status();
    return spec.ok() ? *spec : IndexSpec{};
  };
  const auto flat = std::get<FlatOptions>(parse("Flat"));
  EXPECT_EQ(flat.dim, 24);
  EXPECT_EQ(flat.metric, Metric::kInnerProduct);

  EXPECT_EQ(std::get<IvfFlatOptions>(parse("IVF1024,Flat")).ivf.nlist, 1024);
  EXPECT_EQ(std::get<IvfFlatOptions>(parse(" IVF7 , Flat ")).ivf.nlist, 7);

  struct PqCase {
    const char* factory;
    int nlist, m, bits;
    bool rerank;
  };
  for (const PqCase& c : {PqCase{"IVF256,PQ32", 256, 32, 8, false},
                          PqCase{"IVF256,PQ32x8", 256, 32, 8, false},
                          PqCase{"IVF64,PQ16x4", 64, 16, 4, false},
                          PqCase{"IVF64,PQ16x4fs", 64, 16, 4, false},
                          PqCase{"IVF64,PQ16x4fs,Rerank", 64, 16, 4, true},
                          PqCase{"IVF9,PQ8,RFlat", 9, 8, 8, true}}) {
    const auto o = std::get<IvfPqOptions>(parse(c.factory));
    EXPECT_EQ(o.ivf.dim, 24) << c.factory;
    EXPECT_EQ(o.ivf.metric, Metric::kInnerProduct) << c.factory;
    EXPECT_EQ(o.ivf.nlist, c.nlist) << c.factory;
    EXPECT_EQ(o.pq_m, c.m) << c.factory;
    EXPECT_EQ(o.pq_bits, c.bits) << c.factory;
    EXPECT_EQ(o.keep_raw_vectors, c.rerank) << c.factory;
    EXPECT_EQ(o.default_rerank_factor > 0, c.rerank) << c.factory;
  }

  struct HnswCase {
    const char* factory;
    int m;
    T traversal;
  };
  for (const HnswCase& c :
       {HnswCase{"HNSW32", 32, T::kFloat}, HnswCase{"HNSW16,SQ8", 16, T::kSq8},
        HnswCase{"HNSW16,SQ4", 16, T::kSq4},
        HnswCase{"HNSW48,FP16", 48, T::kFp16}}) {
    const auto o = std::get<HnswOptions>(parse(c.factory));
    EXPECT_EQ(o.dim, 24) << c.factory;
    EXPECT_EQ(o.m, c.m) << c.factory;
    EXPECT_EQ(o.traversal, c.traversal) << c.factory;
  }
}

// Strings outside the grammar are InvalidArgument naming what is wrong,
// from the parser itself (before any index exists).
TEST(Factory, ParseIndexSpecRejectsStringsOutsideTheGrammar) {
  for (const char* factory : {"",
                              ",",
                              "flat",
                              "Flat,",
                              "IVF",
                              "IVF-1,Flat",
                              "IVF1x,Flat",
                              "IVF99999999999,Flat",
                              "IVF8",
                              "IVF8,",
                              "IVF8,PQ",
                              "IVF8,PQ0",
                              "IVF8,PQ4x",
                              "IVF8,PQ4x16",
                              "IVF8,PQ4fs",
                              "IVF8,PQ4,Rerank,Rerank2",
                              "IVF8,Flat,RFlat",
                              "IVF8,HNSW32",
                              "HNSW0",
                              "HNSW32,SQ8,PQ4",
                              "HNSW32,FP32",
                              "HNSW32x",
                              "PQ8",
                              "SQ8"}) {
    auto spec = ParseIndexSpec(factory, 16, Metric::kL2);
    ASSERT_FALSE(spec.ok()) << "\"" << factory << "\" parsed";
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument)
        << factory;
    EXPECT_NE(spec.status().message().find("factory string"), std::string::npos)
        << factory << ": " << spec.status();
  }
}

}  // namespace
}  // namespace vindex
