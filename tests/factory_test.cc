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
        Case{"HNSW32,SQ4", "SQ4"}, Case{"Flat,Flat", "Flat"}}) {
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

}  // namespace
}  // namespace vindex
