#ifndef VINDEX_TESTS_TEST_UTIL_H_
#define VINDEX_TESTS_TEST_UTIL_H_

// Shared test helpers: data generators, a double-precision brute force,
// recall, and access to the real datasets (in $VINDEX_DATA_DIR, else the
// data folder the project keeps at ../shared/data beside the repository).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vindex/index.h"

// Defined when a sanitizer's allocator is in use: it reports a failed
// operator new instead of throwing, so tests of real allocation failures
// skip themselves.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VINDEX_TEST_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VINDEX_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif

namespace vindex::testing {

// n x d floats, uniform in [-1, 1), reproducible from seed.
std::vector<float> RandomVectors(int64_t n, int d, uint64_t seed);

// n x d floats drawn around `clusters` random centres (Gaussian, sigma
// relative to the centre spread): the shape of real embeddings, good for IVF.
std::vector<float> ClusteredVectors(int64_t n, int d, int clusters,
                                    uint64_t seed, float sigma = 0.15f);

// n x d standard Gaussian floats, but every 20th row 1000 times wider: 5%
// of the points lie far out (beyond 10 from the origin, the rest within
// about 6). Seeding that favours outliers shows here.
std::vector<float> CoreAndFarVectors(int64_t n, int d, uint64_t seed);

// Rows of `v` (d wide) farther than 10 from the origin.
int CountFarRows(const std::vector<float>& v, int d);

// `v` (rows of d floats) with dimension j scaled by 4 exp(-j / falloff) +
// floor: the leading dimensions carry most of the spread, as after a
// principal-axis rotation, so bounded scans stop most rows early.
std::vector<float> RotatedLike(std::vector<float> v, int d,
                               float falloff = 12.0f, float floor = 0.02f);

// Ids 0..n-1 (or offset..offset+n-1).
std::vector<int64_t> SequentialIds(int64_t n, int64_t offset = 0);

struct Neighbors {
  std::vector<int64_t> ids;       // nq x k
  std::vector<double> distances;  // nq x k, natural values
};

// Exact k-NN in double precision: the reference for every index test.
// Ties go to the smaller id. `allowed` (if given) filters base ids.
Neighbors BruteForce(const std::vector<float>& base,
                     const std::vector<int64_t>& base_ids,
                     const std::vector<float>& queries, int d, int k,
                     Metric metric,
                     const std::function<bool(int64_t)>& allowed = nullptr);

// Mean fraction of the true top-k ids found in the returned top-k.
double RecallAtK(const std::vector<int64_t>& truth, int truth_k,
                 const std::vector<int64_t>& found, int found_k, int k);

// Runs index.Search and returns ids and distances (nq x k).
struct SearchResult {
  std::vector<int64_t> ids;
  std::vector<float> distances;
  absl::Status status;
};
SearchResult RunSearch(const Index& index, const std::vector<float>& queries,
                       int d, const SearchParams& params,
                       Executor* executor = nullptr);

// The bytes index.Save writes (the test fails if Save does): for comparing
// an index's state before and after a call.
std::string Saved(const Index& index);

// The top-level sections of the saved file `bytes`, in file order: each
// one's tag and its payload's offset and length (the walk stops at a
// section that claims more bytes than remain).
struct SectionSpan {
  uint32_t tag;
  uint64_t offset;
  uint64_t length;
};
std::vector<SectionSpan> Sections(const std::string& bytes);

// Calls `patch` on the payload of the first section tagged `tag` in the saved
// file `bytes` and fixes that section's checksum, so only the loader's own
// checks can reject the result. Fails the test if there is no such section.
std::string PatchSection(
    std::string bytes, uint32_t tag,
    const std::function<void(char* payload, uint64_t length)>& patch);

// A TEXMEX dataset from the data folder above (unpacked from .zst into the
// build folder when needed). Absent data gives std::nullopt; tests then skip.
struct Dataset {
  std::string name;
  int dim = 0;
  Metric metric = Metric::kL2;
  std::vector<float> base;
  std::vector<float> queries;
  std::vector<int32_t> groundtruth;  // nq x gt_k
  int gt_k = 0;
  int64_t num_base() const { return dim ? base.size() / dim : 0; }
  int64_t num_queries() const { return dim ? queries.size() / dim : 0; }
};
std::optional<Dataset> LoadSharedDataset(const std::string& name,
                                         int64_t max_queries = -1);

}  // namespace vindex::testing

#endif  // VINDEX_TESTS_TEST_UTIL_H_
