// Factory strings: good ones build the named family, bad ones name the token.
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

}  // namespace
}  // namespace vindex
