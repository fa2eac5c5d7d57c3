// Stress: for every index family, fresh and after a save + memory-mapped
// reload, two searcher threads, one adder, one remover and one saver use one
// index at once for a bounded time. Everything they see is checked against a
// model of which ids may be visible (no lost ids, no phantom ids, no crash),
// then the quiescent index is checked against the model.
//
// The contract under test (include/vindex/index.h): every method may be
// called from several threads at once; mutations are serialised by the index
// itself (so the adder and the remover are separate threads), and a search
// sees each mutation entirely or not at all.
//
// VINDEX_STRESS_SECONDS (default 2) sets the busy time per case and
// VINDEX_STRESS_SEED (default 1) the random choices; both are printed. The
// thread interleaving is not reproducible, so a failure prints the first
// violations it saw. Sizes are small: CI also runs this under TSan and ASan.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "index/hnsw/hnsw_index.h"
#include "test_util.h"
#include "vindex/filter.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using absl::StatusCode;
using Clock = std::chrono::steady_clock;

constexpr int kDim = 16;
constexpr int kClusters = 32;
constexpr int kK = 10;
constexpr int kGroupK = 16;  // >= the largest Add (16) or Remove (8) batch.
constexpr int kNlist = 16;
constexpr int64_t kPinned = 64;       // Ids [0, kPinned): added, never removed.
constexpr int64_t kInitial = 2000;    // Ids [0, kInitial) present at the start.
constexpr int64_t kLowWater = 1500;   // The remover pauses at this size...
constexpr int64_t kHighWater = 3000;  // ...and the adder at this one.

double StressSeconds() {
  const char* env = std::getenv("VINDEX_STRESS_SECONDS");
  const double s = env != nullptr ? std::atof(env) : 0;
  return s > 0 ? s : 2.0;
}

uint64_t StressSeed() {
  const char* env = std::getenv("VINDEX_STRESS_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 1;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1) from a hash.
float Unit(uint64_t h) {
  return static_cast<float>(static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0);
}

// The vector of every id is a pure function of the id (no storage, so any
// number of ids can be used): one of kClusters centres plus Gaussian-ish
// noise. All vectors are distinct, so an exact search for a stored vector has
// a unique nearest neighbour at distance 0.
class Vectors {
 public:
  explicit Vectors(uint64_t seed) : seed_(seed), centres_(kClusters * kDim) {
    for (int i = 0; i < kClusters * kDim; ++i) {
      centres_[i] = Unit(SplitMix64(seed * 7919 + i));
    }
  }
  void Fill(int64_t id, float* out) const {
    const uint64_t h = SplitMix64(seed_ ^ (static_cast<uint64_t>(id) << 8));
    const float* c = &centres_[(h % kClusters) * kDim];
    for (int j = 0; j < kDim; ++j) {
      const uint64_t b = h + 3 * j;
      // Sum of three uniforms: mean 0, variance 1.
      const float g = Unit(SplitMix64(b)) + Unit(SplitMix64(b + 1)) +
                      Unit(SplitMix64(b + 2));
      out[j] = c[j] + 0.15f * g;
    }
  }
  std::vector<float> Of(const std::vector<int64_t>& ids) const {
    std::vector<float> v(ids.size() * kDim);
    for (size_t i = 0; i < ids.size(); ++i) Fill(ids[i], &v[i * kDim]);
    return v;
  }
  double L2(const float* q, int64_t id) const {
    float v[kDim];
    Fill(id, v);
    double d = 0;
    for (int j = 0; j < kDim; ++j) d += (double{q[j]} - v[j]) * (q[j] - v[j]);
    return d;
  }

 private:
  uint64_t seed_;
  std::vector<float> centres_;
};

struct Family {
  std::string name;
  IndexSpec spec;
  std::string description;  // Expected info().description.
  // An unfiltered search for a stored vector always returns it first
  // (exhaustive scan, or IVF-Flat: the vector's own list is the closest of
  // the nprobe = 4 probed, its exact distance 0 the smallest), so lost ids
  // are checked exactly on random targets too; the other families are held
  // to min_self_hit there. (Filtered batch searches are exact for all.)
  bool exact_self;
  bool exact_distances;  // Returned distances are true L2 distances.
  // Floor on the fraction of self-searches for present ids that find the id
  // in the top kK (approximate families only; measured well above it).
  double min_self_hit;
};

std::vector<Family> Families() {
  // Fewer k-means iterations than the default keep training quick under
  // TSan; the codes stay good enough for the self-hit floors below.
  IvfPqOptions pq8{
      .ivf = {.dim = kDim, .nlist = kNlist, .kmeans_iterations = 4},
      .pq_m = 8,
      .pq_bits = 8};
  IvfPqOptions pq4 = pq8;
  pq4.pq_bits = 4;
  pq4.keep_raw_vectors = true;
  pq4.default_rerank_factor = 4;
  // ef_construction below the default keeps adds quick under sanitizers.
  HnswOptions hnsw{.dim = kDim, .m = 16, .ef_construction = 64};
  HnswOptions sq8 = hnsw;
  sq8.traversal = HnswOptions::Traversal::kSq8;
  return {
      {"Flat", FlatOptions{.dim = kDim}, "Flat", true, true, 1.0},
      {"IvfFlat", IvfFlatOptions{.ivf = {.dim = kDim, .nlist = kNlist}},
       "IVF16,Flat", true, true, 1.0},
      {"IvfPq8", pq8, "IVF16,PQ8", false, false, 0.9},
      {"IvfPq4fsRerank", pq4, "IVF16,PQ8x4fs,Rerank", false, true, 0.9},
      {"Hnsw", hnsw, "HNSW16", false, true, 0.95},
      {"HnswSq8", sq8, "HNSW16,SQ8", false, true, 0.95},
  };
}

// What the threads know about every id. Ids are handed out in increasing
// order and each lives at most once: never added -> add in flight -> present
// -> remove in flight -> removed. Every Add and Remove call gets a sequence
// number (1, 2, ...) from its single calling thread.
//   added_in[id]   = the Add call carrying it, stored before that call starts
//                    (0: never added, or only in a failed Add);
//   removed_in[id] = the Remove call carrying it, stored before it starts.
//   adds_done / removes_done = the last call that has returned.
// A search that read adds_done = A0 and removes_done = R0 before it started
// may return id x only if added_in[x] != 0, and not if removed_in[x] is in
// [1, R0]; it must find target t (exact families) if added_in[t] is in
// [1, A0] and removed_in[t], read after the search, is still 0 (a remove that
// had not started cannot have been seen).
struct Model {
  explicit Model(int64_t capacity)
      : cap(capacity),
        added_in_words(Zeroed(capacity)),
        removed_in_words(Zeroed(capacity)),
        add_first(Zeroed(capacity + 2)),
        add_count(Zeroed(capacity + 2)),
        rm_offset(Zeroed(capacity + 2)),
        rm_ids(Zeroed(capacity)) {}

  // calloc: zeroed pages on demand, where value-initialised arrays (or an
  // array of std::atomic) are written one element at a time, which takes
  // most of a second under TSan.
  struct Free {
    void operator()(int32_t* p) const { std::free(p); }
  };
  using Words = std::unique_ptr<int32_t[], Free>;
  static Words Zeroed(int64_t n) {
    Words w(static_cast<int32_t*>(std::calloc(n, sizeof(int32_t))));
    if (w == nullptr) std::abort();
    return w;
  }

  std::atomic_ref<int32_t> added_in(int64_t id) const {
    return std::atomic_ref<int32_t>(added_in_words[id]);
  }
  std::atomic_ref<int32_t> removed_in(int64_t id) const {
    return std::atomic_ref<int32_t>(removed_in_words[id]);
  }

  const int64_t cap;  // Ids used are in [0, cap) (cap < 2^31); larger
                      // ids never exist.
  // Read and written only through added_in() and removed_in().
  Words added_in_words;
  Words removed_in_words;
  // Add call a added ids [add_first[a], add_first[a] + add_count[a]); Remove
  // call r removed rm_ids[rm_offset[r] .. rm_offset[r + 1]). Written before
  // adds_started / removes_started publish the call.
  Words add_first;
  Words add_count;
  Words rm_offset;
  Words rm_ids;
  std::atomic<int32_t> adds_started{0}, adds_done{0};
  std::atomic<int32_t> removes_started{0}, removes_done{0};
  std::atomic<int64_t> next_id{0};  // Ids below were handed to the adder.
  std::atomic<int64_t> present{0};  // Ids whose Add returned, not removed.
};

// Violations seen by any thread: all counted, the first few kept.
class Violations {
 public:
  void Add(std::string what) {
    const int64_t n = count_.fetch_add(1);
    if (n < 20) {
      std::lock_guard<std::mutex> lock(mu_);
      first_.push_back(std::move(what));
    }
  }
  int64_t count() const { return count_.load(); }
  std::string Report() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string s;
    for (const auto& w : first_) absl::StrAppend(&s, "\n  ", w);
    return s;
  }

 private:
  std::atomic<int64_t> count_{0};
  std::mutex mu_;
  std::vector<std::string> first_;
};

struct Counters {
  std::atomic<int64_t> searches{0}, queries{0}, get_vectors{0};
  std::atomic<int64_t> self_expected{0}, self_hits{0};
  std::atomic<int64_t> add_calls{0}, added_ids{0}, failed_adds{0};
  std::atomic<int64_t> remove_calls{0}, removed_ids{0}, failed_removes{0};
  std::atomic<int64_t> group_checks{0}, saves{0};
  std::atomic<bool> ids_exhausted{false};
};

// Names the family in test listings (instead of its bytes).
void PrintTo(const Family& family, std::ostream* os) { *os << family.name; }

class StressTest : public ::testing::TestWithParam<std::tuple<Family, bool>> {
 protected:
  const Family& family() const { return std::get<0>(GetParam()); }
  bool mapped() const { return std::get<1>(GetParam()); }
};

std::string ParamName(
    const ::testing::TestParamInfo<std::tuple<Family, bool>>& info) {
  return std::get<0>(info.param).name +
         (std::get<1>(info.param) ? "_Mapped" : "");
}

TEST_P(StressTest, SearchAddRemoveAtOnce) {
  const Family& fam = family();
  const double seconds = StressSeconds();
  const uint64_t seed = StressSeed();
  const Vectors vectors(seed);
  // Ids for the fastest family to keep adding for the whole run (Flat and
  // IVF-Flat went through about 0.6M ids/s on 2 busy cores). The model takes
  // 24 bytes per id, calloc'd, so only the ids used cost memory. If they run
  // out, the adder stops and the summary line says so.
  const int64_t cap =
      std::clamp<int64_t>(static_cast<int64_t>(seconds * (1 << 21)),
                          int64_t{1} << 22, int64_t{1} << 27);
  Model model(cap);
  Violations violations;
  Counters c;
  SCOPED_TRACE(absl::StrCat(fam.name, mapped() ? " mapped" : "", " seed ", seed,
                            " seconds ", seconds));

  // Build: train (IVF) on vectors of ids >= cap, which are never added, then
  // add ids [0, kInitial) as Add call 1.
  auto made = MakeIndex(fam.spec);
  ASSERT_TRUE(made.ok()) << made.status();
  std::unique_ptr<Index> index = std::move(*made);
  const Capabilities caps = index->capabilities();
  ASSERT_TRUE(caps.remove);
  ASSERT_TRUE(caps.add_during_search);
  {
    // 4 points per PQ centroid: enough here, and quick under TSan.
    const int64_t kTrain = 1024;
    std::vector<int64_t> sample(kTrain);
    for (int64_t i = 0; i < kTrain; ++i) sample[i] = cap + i;
    auto x = vectors.Of(sample);
    ASSERT_TRUE(
        index->Train(MatrixView<const float>(x.data(), kTrain, kDim)).ok());
    std::vector<int64_t> ids = testing::SequentialIds(kInitial);
    auto v = vectors.Of(ids);
    for (int64_t id : ids) model.added_in(id).store(1);
    model.add_first[1] = 0;
    model.add_count[1] = kInitial;
    ASSERT_TRUE(
        index->Add(MatrixView<const float>(v.data(), kInitial, kDim), ids)
            .ok());
    model.adds_started.store(1);
    model.adds_done.store(1);
    model.next_id.store(kInitial);
    model.present.store(kInitial);
    model.rm_offset[1] = 0;
  }
  EXPECT_EQ(index->info().description, fam.description);
  if (mapped()) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/stress_",
                                          fam.name, "_", getpid(), ".vindex");
    ASSERT_TRUE(SaveIndexToFile(*index, path).ok());
    auto loaded = LoadIndexFromFile(path, LoadOptions{.memory_map = true});
    // The mapping outlives the name (as when a newer save replaces the file).
    std::filesystem::remove(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    index = std::move(*loaded);
    ASSERT_EQ(index->info().size, kInitial);
  }
  const bool started_mapped = index->info().memory_mapped;

  std::atomic<bool> stop{false};
  std::atomic<int> searchers_ready{0};
  std::mutex queue_mu;  // Ids whose Add returned, for the remover.
  std::vector<int64_t> queue;

  // --- Adder: batches of 1-16 fresh ids; now and then a batch that repeats
  // a pinned id, which must fail with InvalidArgument and add nothing (its
  // fresh ids are burnt: never added later, so never visible).
  auto adder = [&] {
    std::mt19937_64 rng(seed * 1000 + 1);
    ThreadPool pool(2);
    while (searchers_ready.load() < 2) std::this_thread::yield();
    while (!stop.load()) {
      if (model.present.load() >= kHighWater) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      const int n = 1 + static_cast<int>(rng() % 16);
      const int64_t first = model.next_id.load();
      if (first + n > cap) {
        c.ids_exhausted.store(true);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      std::vector<int64_t> ids = testing::SequentialIds(n, first);
      Executor* executor = rng() % 2 ? &pool : nullptr;
      if (rng() % 16 == 0) {
        ids.push_back(static_cast<int64_t>(rng() % kPinned));
        std::shuffle(ids.begin(), ids.end(), rng);
        auto v = vectors.Of(ids);
        model.next_id.store(first + n);
        const absl::Status s = index->Add(
            MatrixView<const float>(v.data(), n + 1, kDim), ids, executor);
        if (s.code() != StatusCode::kInvalidArgument) {
          violations.Add(
              absl::StrCat("Add with an already stored id: ", s.ToString()));
        }
        if (caps.get_vectors) {
          std::vector<float> out(kDim);
          for (int64_t id = first; id < first + n; ++id) {
            const absl::Status g =
                index->GetVectors({id}, MatrixView<float>(out.data(), 1, kDim));
            if (g.code() != StatusCode::kNotFound) {
              violations.Add(absl::StrCat("id ", id, " of a failed Add: ",
                                          "GetVectors gave ", g.ToString()));
            }
          }
        }
        ++c.failed_adds;
        continue;
      }
      const int32_t a = model.adds_started.load() + 1;
      model.add_first[a] = static_cast<int32_t>(first);
      model.add_count[a] = n;
      for (int64_t id : ids) model.added_in(id).store(a);
      model.adds_started.store(a);
      model.next_id.store(first + n);
      auto v = vectors.Of(ids);
      const absl::Status s =
          index->Add(MatrixView<const float>(v.data(), n, kDim), ids, executor);
      if (!s.ok()) {
        violations.Add(
            absl::StrCat("Add of ", n, " fresh ids failed: ", s.ToString()));
      }
      model.adds_done.store(a);
      model.present.fetch_add(n);
      {
        std::lock_guard<std::mutex> lock(queue_mu);
        queue.insert(queue.end(), ids.begin(), ids.end());
      }
      ++c.add_calls;
      c.added_ids += n;
    }
  };

  // --- Remover: batches of 1-8 random present ids; now and then a batch
  // with an id that was never added, which must fail with NotFound and
  // remove nothing (its present ids stay in the model as present).
  auto remover = [&] {
    std::mt19937_64 rng(seed * 1000 + 2);
    std::vector<int64_t> mine =
        testing::SequentialIds(kInitial - kPinned, kPinned);
    while (searchers_ready.load() < 2) std::this_thread::yield();
    while (!stop.load()) {
      {
        std::lock_guard<std::mutex> lock(queue_mu);
        mine.insert(mine.end(), queue.begin(), queue.end());
        queue.clear();
      }
      if (static_cast<int64_t>(mine.size()) + kPinned <= kLowWater) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      if (rng() % 16 == 0) {
        const int64_t kept = mine[rng() % mine.size()];
        std::vector<int64_t> ids = {kept,
                                    cap + static_cast<int64_t>(rng() % 1000)};
        if (rng() % 2) std::swap(ids[0], ids[1]);
        const absl::Status s = index->Remove(ids);
        if (s.code() != StatusCode::kNotFound) {
          violations.Add(
              absl::StrCat("Remove with an unknown id: ", s.ToString()));
        }
        ++c.failed_removes;
        continue;
      }
      const int n = 1 + static_cast<int>(rng() % 8);
      const int32_t r = model.removes_started.load() + 1;
      const int32_t off = model.rm_offset[r];
      std::vector<int64_t> ids;
      for (int i = 0; i < n; ++i) {
        const size_t j = rng() % mine.size();
        ids.push_back(mine[j]);
        mine[j] = mine.back();
        mine.pop_back();
        model.rm_ids[off + i] = static_cast<int32_t>(ids.back());
        model.removed_in(ids.back()).store(r);
      }
      model.rm_offset[r + 1] = off + n;
      model.removes_started.store(r);
      const absl::Status s = index->Remove(ids);
      if (!s.ok()) {
        violations.Add(absl::StrCat("Remove of ", n,
                                    " present ids failed: ", s.ToString()));
      }
      model.removes_done.store(r);
      model.present.fetch_sub(n);
      ++c.remove_calls;
      c.removed_ids += n;
    }
  };

  // Checks one returned id against the model (A0, R0 read before the call).
  auto check_visible = [&](int64_t x, int32_t r0, const char* what) {
    if (x < 0 || x >= cap) {
      violations.Add(absl::StrCat(what, " returned id ", x, ", never added"));
      return false;
    }
    if (model.added_in(x).load() == 0) {
      violations.Add(absl::StrCat(what, " returned phantom id ", x,
                                  " (never added or only in a failed Add)"));
      return false;
    }
    const int32_t r = model.removed_in(x).load();
    if (r != 0 && r <= r0) {
      violations.Add(absl::StrCat(what, " returned id ", x, " removed by ",
                                  "Remove call ", r, " which returned before ",
                                  "the call started"));
      return false;
    }
    return true;
  };

  // --- Searchers.
  auto searcher = [&](int t) {
    std::mt19937_64 rng(seed * 1000 + 10 + t);
    std::vector<float> out_vec(kDim);
    bool ready = false;
    for (int64_t iter = 0; !stop.load(); ++iter) {
      const int32_t a0 = model.adds_done.load();
      const int32_t r0 = model.removes_done.load();
      const int32_t as = model.adds_started.load();
      const int32_t rs = model.removes_started.load();
      const int64_t next = model.next_id.load();
      // Targets: the ids of one recent (often unfinished) Add or Remove call,
      // searched with an allow-list of just those ids and k = kGroupK, so
      // that every family finds exactly the visible ones (the filtered scan
      // covers every allowed vector in the probed lists, the vector's own
      // among them; HNSW scans the allowed vectors when there are at most
      // HnswIndex::ScanLimit, thousands here); or random ids, searched
      // without a filter.
      std::vector<int64_t> targets;
      int group = 0;  // 1: Add call `ga`, 2: Remove call `gr`.
      int32_t ga = 0;
      const int mode = static_cast<int>(iter % 3);
      if (mode == 1 && as >= 2) {
        group = 1;
        ga = std::max<int32_t>(2, as - static_cast<int32_t>(rng() % 8));
        for (int32_t i = 0; i < model.add_count[ga]; ++i) {
          targets.push_back(model.add_first[ga] + i);
        }
      } else if (mode == 2 && rs >= 1) {
        group = 2;
        const int32_t gr =
            std::max<int32_t>(1, rs - static_cast<int32_t>(rng() % 8));
        for (int64_t i = model.rm_offset[gr]; i < model.rm_offset[gr + 1];
             ++i) {
          targets.push_back(model.rm_ids[i]);
        }
      } else {
        targets.push_back(static_cast<int64_t>(rng() % next));
        targets.push_back(std::max<int64_t>(
            0, next - 1 - static_cast<int64_t>(rng() % 2000)));
        targets.push_back(
            std::max<int64_t>(0, next - 1 - static_cast<int64_t>(rng() % 200)));
        targets.push_back(static_cast<int64_t>(rng() % kPinned));
      }
      const int64_t nq = targets.size();
      const int k = group != 0 ? kGroupK : kK;
      const IdFilter allow = IdFilter::AllowList(targets);
      SearchParams params{.k = k, .nprobe = 4, .ef = 64};
      if (group != 0) params.filter = &allow;
      auto q = vectors.Of(targets);
      auto res = testing::RunSearch(*index, q, kDim, params);
      ++c.searches;
      c.queries += nq;
      c.group_checks += group != 0;
      if (!ready) {
        ready = true;
        searchers_ready.fetch_add(1);
      }
      if (!res.status.ok()) {
        violations.Add(absl::StrCat("Search failed: ", res.status.ToString()));
        continue;
      }
      // Whether target i is visible: found in its row (group searches), or
      // found first (exact families).
      int64_t found = 0;
      int64_t not_removing = 0, not_removing_found = 0;
      bool all_added_before = true;
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t* row = &res.ids[i * k];
        const float* dist = &res.distances[i * k];
        const int64_t target = targets[i];
        bool hit = false;
        for (int j = 0; j < k; ++j) {
          if (row[j] == -1) {
            for (int l = j; l < k; ++l) {
              if (row[l] != -1) {
                violations.Add(absl::StrCat("padding before id ", row[l]));
              }
            }
            break;
          }
          for (int l = 0; l < j; ++l) {
            if (row[l] == row[j]) {
              violations.Add(absl::StrCat("id ", row[j], " twice in a row"));
            }
          }
          if (j > 0 && dist[j] < dist[j - 1]) {
            violations.Add(absl::StrCat("distances not ascending at rank ", j));
          }
          if (group != 0 && !allow.Allows(row[j])) {
            violations.Add(absl::StrCat("filtered search returned id ", row[j],
                                        ", not in its allow-list"));
          }
          if (!check_visible(row[j], r0, "Search")) continue;
          hit |= row[j] == target;
          if (fam.exact_distances) {
            const double ref = vectors.L2(&q[i * kDim], row[j]);
            if (std::abs(dist[j] - ref) > 1e-4 * (1 + ref)) {
              violations.Add(absl::StrCat("id ", row[j], " returned at ",
                                          "distance ", dist[j], ", its vector ",
                                          "is at ", ref));
            }
          }
        }
        const int32_t ta = target < cap ? model.added_in(target).load() : 0;
        const int32_t tr = target < cap ? model.removed_in(target).load() : 0;
        if (ta == 0 || ta > a0) all_added_before = false;
        const bool exact = group != 0 || fam.exact_self;
        const bool seen = group != 0 ? hit : row[0] == target;
        found += seen;
        if (tr == 0) {
          ++not_removing;
          not_removing_found += seen;
        }
        if (ta != 0 && ta <= a0 && tr == 0) {
          if (group == 0) {
            ++c.self_expected;
            c.self_hits += hit;
          }
          if (exact && !seen) {
            violations.Add(absl::StrCat(
                "lost id ", target, ": its Add (call ", ta, ") returned ",
                "before the search started and no Remove of it had started, ",
                "but a search for its vector ",
                group != 0 ? "(allow-list of its batch) did not return it"
                           : "returned another id first: ",
                group != 0 ? "" : absl::StrCat(row[0])));
          }
        }
      }
      // Add call ga is visible entirely or not at all: if any of its ids
      // came back, so did all that no Remove had started on.
      if (group == 1 && found > 0 && not_removing_found != not_removing) {
        violations.Add(absl::StrCat("Add call ", ga, " seen partly: ", found,
                                    " of its ", nq, " ids found, ",
                                    not_removing - not_removing_found,
                                    " not being removed were missing"));
      }
      // A Remove call likewise, when the search saw all of its ids added.
      if (group == 2 && all_added_before && found != 0 && found != nq) {
        violations.Add(absl::StrCat("a Remove call seen partly: ", found,
                                    " of its ", nq, " ids still found"));
      }

      // GetVectors of one random id and one pinned id, checked the same way.
      if (caps.get_vectors && iter % 2 == 0) {
        const int32_t ga0 = model.adds_done.load();
        const int32_t gr0 = model.removes_done.load();
        const int64_t gnext = model.next_id.load();
        const int64_t id = rng() % 4 == 0
                               ? cap + static_cast<int64_t>(rng() % 1000)
                               : static_cast<int64_t>(rng() % gnext);
        const std::vector<int64_t> ids = {
            id, static_cast<int64_t>(rng() % kPinned)};
        for (int64_t x : ids) {
          const absl::Status g = index->GetVectors(
              {x}, MatrixView<float>(out_vec.data(), 1, kDim));
          ++c.get_vectors;
          const int32_t xa = x < cap ? model.added_in(x).load() : 0;
          const int32_t xr = x < cap ? model.removed_in(x).load() : 0;
          if (g.ok()) {
            if (!check_visible(x, gr0, "GetVectors")) continue;
            float want[kDim];
            vectors.Fill(x, want);
            if (!std::equal(want, want + kDim, out_vec.begin())) {
              violations.Add(absl::StrCat("GetVectors(", x, ") returned ",
                                          "another vector"));
            }
          } else if (g.code() == StatusCode::kNotFound) {
            if (xa != 0 && xa <= ga0 && xr == 0) {
              violations.Add(absl::StrCat("lost id ", x, ": GetVectors gave ",
                                          g.ToString()));
            }
          } else {
            violations.Add(absl::StrCat("GetVectors(", x, "): ", g.ToString()));
          }
        }
      }
    }
  };

  // --- Saver: Save is a const method, allowed alongside everything else;
  // now and then save to memory and load the copy back. It must load (the
  // checksums hold) and hold one consistent state: checked like a search
  // over the pinned ids and the 2000 newest, with each Add call that was
  // unfinished when the save began held entirely or not at all.
  auto saver = [&] {
    std::vector<float> one(kDim), want(kDim);
    while (searchers_ready.load() < 2) std::this_thread::yield();
    while (!stop.load()) {
      const int32_t a0 = model.adds_done.load();
      const int32_t r0 = model.removes_done.load();
      std::string bytes;
      StringWriter writer(&bytes);
      const absl::Status saved = index->Save(writer);
      const int64_t next = model.next_id.load();
      ++c.saves;
      if (!saved.ok()) {
        violations.Add(absl::StrCat("Save failed: ", saved.ToString()));
        continue;
      }
      MemoryReader reader(bytes);
      auto back = LoadIndex(reader);
      if (!back.ok()) {
        violations.Add(absl::StrCat("a save made during mutations does not ",
                                    "load: ", back.status().ToString()));
        continue;
      }
      if (caps.get_vectors) {
        std::vector<int64_t> ids = testing::SequentialIds(kPinned);
        for (int64_t x = std::max(kPinned, next - 2000); x < next; ++x) {
          ids.push_back(x);
        }
        // Add call -> (ids not being removed, how many of them were saved).
        absl::flat_hash_map<int32_t, std::pair<int, int>> unfinished;
        for (int64_t x : ids) {
          const absl::Status g =
              (*back)->GetVectors({x}, MatrixView<float>(one.data(), 1, kDim));
          const int32_t xa = model.added_in(x).load();
          const int32_t xr = model.removed_in(x).load();
          if (g.ok()) {
            if (!check_visible(x, r0, "Save")) continue;
            vectors.Fill(x, want.data());
            if (one != want) {
              violations.Add(
                  absl::StrCat("saved copy has another vector ", "for id ", x));
            }
          } else if (g.code() != StatusCode::kNotFound) {
            violations.Add(absl::StrCat("GetVectors(", x,
                                        ") on a saved copy: ", g.ToString()));
          } else if (xa != 0 && xa <= a0 && xr == 0) {
            violations.Add(absl::StrCat("lost id ", x, ": not in a save ",
                                        "begun after its Add returned"));
          }
          if (xa > a0 && xr == 0) {
            auto& [eligible, present] = unfinished[xa];
            ++eligible;
            present += g.ok();
          }
        }
        for (const auto& [a, counts] : unfinished) {
          if (counts.second != 0 && counts.second != counts.first) {
            violations.Add(absl::StrCat("Add call ", a,
                                        " saved partly: ", counts.second,
                                        " of ", counts.first, " ids"));
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };

  const auto start = Clock::now();
  std::thread s1(searcher, 0), s2(searcher, 1), add(adder), rm(remover),
      save(saver);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  // Every thread type does some work even on a very slow machine.
  const auto give_up = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < give_up &&
         (c.searches.load() < 10 || c.add_calls.load() < 5 ||
          c.remove_calls.load() < 5 || c.saves.load() < 2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  s1.join();
  s2.join();
  save.join();
  add.join();
  rm.join();
  const double busy =
      std::chrono::duration<double>(Clock::now() - start).count();

  std::cout << "[ stress   ] " << fam.name << (mapped() ? " mapped" : "")
            << " (started mapped: " << started_mapped << ") " << busy
            << " s: searches " << c.searches << " (" << c.queries
            << " queries, " << c.group_checks << " batch-visibility checks), "
            << "GetVectors " << c.get_vectors << ", adds " << c.add_calls
            << " (" << c.added_ids << " ids) + " << c.failed_adds
            << " failing, removes " << c.remove_calls << " (" << c.removed_ids
            << " ids) + " << c.failed_removes << " failing, saves " << c.saves
            << ", self-hits " << c.self_hits << "/" << c.self_expected
            << ", final size " << index->info().size
            << (c.ids_exhausted ? " (adder ran out of ids)" : "") << "\n";
  RecordProperty("searches", std::to_string(c.searches.load()));
  RecordProperty("get_vectors", std::to_string(c.get_vectors.load()));
  RecordProperty("add_calls", std::to_string(c.add_calls.load()));
  RecordProperty("remove_calls", std::to_string(c.remove_calls.load()));
  RecordProperty("saves", std::to_string(c.saves.load()));

  EXPECT_EQ(violations.count(), 0) << violations.Report();
  EXPECT_GE(c.searches.load(), 10);
  EXPECT_GE(c.add_calls.load(), 5);
  EXPECT_GE(c.remove_calls.load(), 5);
  EXPECT_GE(c.saves.load(), 2);
  if (!fam.exact_self) {
    EXPECT_GE(c.self_hits.load(), fam.min_self_hit * c.self_expected.load())
        << c.self_hits.load() << " / " << c.self_expected.load();
  }

  // --- Quiescent checks against the model.
  const int64_t next = model.next_id.load();
  std::vector<int64_t> present, removed, burnt;
  for (int64_t id = 0; id < next; ++id) {
    if (model.added_in(id).load() == 0) {
      burnt.push_back(id);
    } else if (model.removed_in(id).load() != 0) {
      removed.push_back(id);
    } else {
      present.push_back(id);
    }
  }
  EXPECT_EQ(model.present.load(), static_cast<int64_t>(present.size()));
  EXPECT_EQ(index->info().size, static_cast<int64_t>(present.size()));
  if (caps.get_vectors) {
    std::vector<float> got(present.size() * kDim);
    const absl::Status g = index->GetVectors(
        present, MatrixView<float>(got.data(), present.size(), kDim));
    EXPECT_TRUE(g.ok()) << g;
    if (g.ok()) EXPECT_TRUE(got == vectors.Of(present)) << "GetVectors";
    std::vector<float> one(kDim);
    int64_t wrong = 0;
    for (const auto* gone : {&removed, &burnt}) {
      // At most about 2000 of each, evenly spread: quick under TSan.
      const size_t step = gone->size() / 2000 + 1;
      for (size_t i = 0; i < gone->size(); i += step) {
        wrong += index
                     ->GetVectors({(*gone)[i]},
                                  MatrixView<float>(one.data(), 1, kDim))
                     .code() != StatusCode::kNotFound;
      }
    }
    EXPECT_EQ(wrong, 0) << "removed or never-added ids not NotFound";
  } else {
    std::vector<float> one(kDim);
    EXPECT_EQ(
        index->GetVectors({0}, MatrixView<float>(one.data(), 1, kDim)).code(),
        StatusCode::kUnimplemented);
  }
  // Every present vector (and every removed one) searched for: nothing but
  // present ids comes back; exact families return the id itself first.
  {
    ThreadPool pool(2);
    std::vector<int64_t> queries = present;
    const size_t sampled = std::min<size_t>(removed.size(), 1000);
    queries.insert(queries.end(), removed.end() - sampled, removed.end());
    auto q = vectors.Of(queries);
    auto res = testing::RunSearch(
        *index, q, kDim, SearchParams{.k = kK, .nprobe = 4, .ef = 64}, &pool);
    ASSERT_TRUE(res.status.ok()) << res.status;
    std::vector<char> is_present(next, 0);
    for (int64_t id : present) is_present[id] = 1;
    int64_t bad = 0, self = 0, self_first = 0;
    for (size_t i = 0; i < queries.size(); ++i) {
      for (int j = 0; j < kK; ++j) {
        const int64_t x = res.ids[i * kK + j];
        if (x == -1) continue;
        if (x < 0 || x >= next || !is_present[x]) {
          if (++bad <= 5) ADD_FAILURE() << "final search returned id " << x;
        }
        self += x == queries[i];
      }
      self_first += res.ids[i * kK] == queries[i];
    }
    EXPECT_EQ(bad, 0);
    if (fam.exact_self) {
      EXPECT_EQ(self_first, static_cast<int64_t>(present.size()));
    } else {
      EXPECT_GE(self, fam.min_self_hit * present.size())
          << self << " / " << present.size();
    }
  }
  if (auto* hnsw = dynamic_cast<HnswIndex*>(index.get())) {
    EXPECT_TRUE(hnsw->CheckGraphForTesting().ok())
        << hnsw->CheckGraphForTesting();
  }
  // The index saves and loads back with the same contents.
  {
    std::string bytes;
    StringWriter w(&bytes);
    ASSERT_TRUE(index->Save(w).ok());
    MemoryReader r(bytes);
    auto back = LoadIndex(r);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)->info().size, static_cast<int64_t>(present.size()));
    if (caps.get_vectors) {
      std::vector<float> got(present.size() * kDim);
      ASSERT_TRUE(
          (*back)
              ->GetVectors(present,
                           MatrixView<float>(got.data(), present.size(), kDim))
              .ok());
      EXPECT_TRUE(got == vectors.Of(present));
    }
  }
  // HNSW: every stored vector is reachable on level 0 from the entry point
  // once a write has run the reachability repair, which every Remove does
  // (an Add does it when enough vectors came since the last repair).
  if (auto* hnsw = dynamic_cast<HnswIndex*>(index.get());
      hnsw != nullptr && !present.empty()) {
    ASSERT_TRUE(index->Remove({present.back()}).ok());
    const std::vector<uint32_t> unreachable =
        hnsw->UnreachableSlotsForTesting();
    EXPECT_TRUE(unreachable.empty())
        << unreachable.size() << " stored vectors unreachable after the run";
  }
}

INSTANTIATE_TEST_SUITE_P(Families, StressTest,
                         ::testing::Combine(::testing::ValuesIn(Families()),
                                            ::testing::Bool()),
                         ParamName);

}  // namespace
}  // namespace vindex
