// A file changed in place while an index maps it (as cp over it or rsync
// --inplace would) may give wrong results, but never crashes the process or
// touches memory out of bounds. Each family's mapped sections (HNSW level-0
// blocks and exact vectors, Flat vectors, IVF list ids, codes and vectors)
// are rewritten with random words and extreme values; the index is then
// searched, read and saved, then mutated (which copies the mapping) and used
// again.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "index/hnsw/hnsw_index.h"
#include "io/format.h"
#include "test_util.h"
#include "vindex/filter.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace vindex {
namespace {

using testing::RunSearch;
using testing::SequentialIds;

constexpr int kDim = 16;
constexpr int64_t kN = 400;
constexpr int kK = 10;

using Span = testing::SectionSpan;

// The payloads of the sections an index may serve from a mapping.
std::vector<Span> MappedSections(const std::string& bytes) {
  std::vector<Span> spans;
  for (const Span& s : testing::Sections(bytes)) {
    if ((s.tag == io::kTagLevel0 || s.tag == io::kTagVectors ||
         s.tag == io::kTagListsAligned) &&
        s.length >= 4) {
      spans.push_back(s);
    }
  }
  return spans;
}

std::string ReadFile(const std::string& path) {
  std::string bytes;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) bytes.append(buf, n);
  ::close(fd);
  return bytes;
}

// Ways to rewrite the mapped sections in place.
enum class Rewrite {
  kRandomWords,    // Random words at random places.
  kExtremeWords,   // Values that are out of range as slots, counts, floats.
  kAllOnes,        // Every byte 0xFF.
  kJustPastSlots,  // Every word kN: one past the last slot.
  kZeros,
};

constexpr Rewrite kRewrites[] = {Rewrite::kRandomWords, Rewrite::kExtremeWords,
                                 Rewrite::kAllOnes, Rewrite::kJustPastSlots,
                                 Rewrite::kZeros};

// The word a rewrite fills the sections with, if it fills them.
std::optional<uint32_t> FillWord(Rewrite how) {
  switch (how) {
    case Rewrite::kAllOnes:
      return 0xFFFFFFFFu;
    case Rewrite::kJustPastSlots:
      return uint32_t{kN};
    case Rewrite::kZeros:
      return 0u;
    default:
      return std::nullopt;
  }
}

// Rewrites the file at `path` through its own descriptor, without
// truncating it, as a copy over the file in place would.
void RewriteInPlace(const std::string& path, Rewrite how, uint64_t seed) {
  const std::vector<Span> spans = MappedSections(ReadFile(path));
  ASSERT_FALSE(spans.empty());
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::mt19937_64 rng(seed);
  const auto put = [&](uint64_t offset, uint32_t word) {
    ASSERT_EQ(::pwrite(fd, &word, 4, static_cast<off_t>(offset)), 4);
  };
  static constexpr uint32_t kExtremes[] = {0xFFFFFFFFu,
                                           0x7FFFFFFFu,
                                           0x80000000u,
                                           0x7F800000u /* +inf */,
                                           0xFF800000u /* -inf */,
                                           0x7FC00000u /* NaN */,
                                           uint32_t{kN},
                                           uint32_t{kN} + 1,
                                           0x00010000u,
                                           0x7C007C00u /* fp16 infs */};
  for (const Span& s : spans) {
    const uint64_t words = s.length / 4;
    switch (how) {
      case Rewrite::kRandomWords:
      case Rewrite::kExtremeWords:
        for (int i = 0; i < 200; ++i) {
          const uint64_t at = s.offset + 4 * (rng() % words);
          put(at, how == Rewrite::kRandomWords
                      ? static_cast<uint32_t>(rng())
                      : kExtremes[rng() % std::size(kExtremes)]);
        }
        break;
      case Rewrite::kAllOnes:
      case Rewrite::kJustPastSlots:
      case Rewrite::kZeros: {
        std::vector<uint32_t> fill(words, *FillWord(how));
        ASSERT_EQ(
            ::pwrite(fd, fill.data(), words * 4, static_cast<off_t>(s.offset)),
            static_cast<ssize_t>(words * 4));
        break;
      }
    }
  }
  ::close(fd);
}

// Every read the index offers; each must succeed (with any results).
void ExerciseReads(const Index& index, const std::vector<float>& queries,
                   const std::vector<int64_t>& ids, const std::string& what) {
  const IdFilter range = IdFilter::Range(ids.front(), ids.front() + kN / 2);
  const std::vector<int64_t> few(ids.begin(), ids.begin() + 20);
  const IdFilter allow = IdFilter::AllowList(few);
  for (const SearchParams& p :
       {SearchParams{.k = kK}, SearchParams{.k = 50, .nprobe = 8, .ef = 200},
        SearchParams{.k = kK, .filter = &range},
        SearchParams{.k = kK, .filter = &allow}}) {
    auto got = RunSearch(index, queries, kDim, p);
    EXPECT_TRUE(got.status.ok()) << what << ": " << got.status;
  }
  if (index.capabilities().get_vectors) {
    std::vector<float> out(few.size() * kDim);
    EXPECT_TRUE(
        index.GetVectors(few, MatrixView<float>(out.data(), few.size(), kDim))
            .ok())
        << what;
  }
  EXPECT_EQ(index.info().size, static_cast<int64_t>(ids.size())) << what;
  // Saving what was read gives a file that loads or is refused: DataLoss.
  std::string saved;
  StringWriter w(&saved);
  ASSERT_TRUE(index.Save(w).ok()) << what;
  MemoryReader r(saved);
  auto again = LoadIndex(r);
  EXPECT_TRUE(again.ok() ||
              again.status().code() == absl::StatusCode::kDataLoss)
      << what << ": " << again.status();
}

struct Family {
  std::string name;
  IndexSpec spec;
};

class MappedFileChangeTest : public ::testing::TestWithParam<Family> {};

TEST_P(MappedFileChangeTest, ChangedFileNeverCrashes) {
  const Family& family = GetParam();
  const std::vector<float> base = testing::ClusteredVectors(kN, kDim, 8, 17);
  const std::vector<float> queries = testing::ClusteredVectors(30, kDim, 8, 18);
  const std::vector<float> extra = testing::ClusteredVectors(20, kDim, 8, 19);
  std::vector<int64_t> ids = SequentialIds(kN, 5000);
  auto made = MakeIndex(family.spec);
  ASSERT_TRUE(made.ok()) << made.status();
  Index& index = **made;
  MatrixView<const float> x(base.data(), kN, kDim);
  if (index.capabilities().needs_training) ASSERT_TRUE(index.Train(x).ok());
  ASSERT_TRUE(index.Add(x, ids).ok());
  const std::string path =
      ::testing::TempDir() + "/mapped_change_" + family.name + ".vindex";
  uint64_t seed = 1;
  for (Rewrite how : kRewrites) {
    for (int repeat = 0; repeat < 2; ++repeat, ++seed) {
      const std::string what = family.name + " rewrite " +
                               std::to_string(static_cast<int>(how)) +
                               " seed " + std::to_string(seed);
      ASSERT_TRUE(SaveIndexToFile(index, path).ok());
      auto mapped = LoadIndexFromFile(path, LoadOptions{.memory_map = true});
      ASSERT_TRUE(mapped.ok()) << mapped.status();
      ASSERT_TRUE((*mapped)->info().memory_mapped) << what;
      RewriteInPlace(path, how, seed);
      ExerciseReads(**mapped, queries, ids, what);
      // A mutation copies the mapping; the index stays whole and usable.
      const std::vector<int64_t> gone(ids.begin() + 3, ids.begin() + 13);
      if (index.capabilities().remove) {
        ASSERT_TRUE((*mapped)->Remove(gone).ok()) << what;
      }
      const std::vector<int64_t> added = SequentialIds(20, 90000);
      ASSERT_TRUE(
          (*mapped)
              ->Add(MatrixView<const float>(extra.data(), 20, kDim), added)
              .ok())
          << what;
      std::vector<int64_t> now;
      for (int64_t id : ids) {
        if (!index.capabilities().remove ||
            std::find(gone.begin(), gone.end(), id) == gone.end()) {
          now.push_back(id);
        }
      }
      now.insert(now.end(), added.begin(), added.end());
      EXPECT_FALSE((*mapped)->info().memory_mapped) << what;
      // Only ids that were added are present, none read from the changed
      // file: a filled section reads as ids made of its fill word.
      if (const std::optional<uint32_t> fill = FillWord(how)) {
        const int64_t read_id =
            static_cast<int64_t>(uint64_t{*fill} << 32 | *fill);
        const std::vector<int64_t> one = {read_id};
        EXPECT_EQ((*mapped)->Remove(one).code(), absl::StatusCode::kNotFound)
            << what << ": id " << read_id;
      }
      ExerciseReads(**mapped, queries, now, what + " after mutation");
      if (auto* hnsw = dynamic_cast<HnswIndex*>(mapped->get())) {
        EXPECT_TRUE(hnsw->CheckGraphForTesting().ok())
            << what << ": " << hnsw->CheckGraphForTesting();
      }
      if (index.capabilities().remove) {
        // Every id the index reports present can be removed.
        ASSERT_TRUE((*mapped)->Remove(now).ok()) << what;
        EXPECT_EQ((*mapped)->info().size, 0) << what;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, MappedFileChangeTest,
    ::testing::Values(
        Family{"flat", FlatOptions{.dim = kDim}},
        Family{"ivf_flat", IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 8}}},
        Family{"ivf_pq8", IvfPqOptions{.ivf = {.dim = kDim, .nlist = 8},
                                       .pq_m = 4,
                                       .pq_bits = 8,
                                       .keep_raw_vectors = true,
                                       .default_rerank_factor = 2}},
        Family{"ivf_pq4",
               IvfPqOptions{
                   .ivf = {.dim = kDim, .nlist = 8}, .pq_m = 4, .pq_bits = 4}},
        Family{"hnsw", HnswOptions{.dim = kDim, .m = 8, .ef_construction = 32}},
        Family{"hnsw_sq8",
               HnswOptions{.dim = kDim,
                           .m = 8,
                           .ef_construction = 32,
                           .traversal = HnswOptions::Traversal::kSq8}},
        Family{"hnsw_sq4",
               HnswOptions{.dim = kDim,
                           .m = 8,
                           .ef_construction = 32,
                           .traversal = HnswOptions::Traversal::kSq4}},
        Family{"hnsw_fp16",
               HnswOptions{.dim = kDim,
                           .m = 8,
                           .ef_construction = 32,
                           .traversal = HnswOptions::Traversal::kFp16}},
        Family{
            "hnsw_ip",
            HnswOptions{.dim = kDim, .metric = Metric::kInnerProduct, .m = 8}}),
    [](const ::testing::TestParamInfo<Family>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace vindex
