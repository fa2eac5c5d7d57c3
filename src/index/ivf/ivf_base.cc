#include "index/ivf/ivf_base.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/call_guard.h"
#include "core/hash_buckets.h"
#include "core/list_location.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/brute_force.h"
#include "linalg/gemm.h"
#include "train/kmeans.h"

namespace vindex::internal {
namespace {

constexpr uint64_t kListAlign = 64;
inline uint64_t PadTo64(uint64_t bytes) {
  return (bytes + kListAlign - 1) / kListAlign * kListAlign;
}

// Writes `bytes` bytes from data (may be null when 0), then zeros up to a
// multiple of 64.
absl::Status WritePadded(io::ContainerWriter& w, const void* data,
                         uint64_t bytes) {
  static constexpr char kZeros[kListAlign] = {};
  if (bytes > 0) VINDEX_RETURN_IF_ERROR(w.WritePayload(data, bytes));
  return w.WritePayload(kZeros, PadTo64(bytes) - bytes);
}

// Writes section LSTA (see io/format.h).
absl::Status SaveLists(const InvertedLists& lists, io::ContainerWriter& w) {
  const int64_t nlist = lists.nlist();
  const uint64_t vd = lists.vec_dim();
  // The count table, and so every array after it, starts 64-aligned in the
  // file; a mapping is page-aligned, so each array is then aligned in memory.
  const uint64_t payload_at = w.offset() + io::kSectionHeaderBytes;
  const uint32_t lead = static_cast<uint32_t>(
      (kListAlign - (payload_at + 8) % kListAlign) % kListAlign);
  uint64_t length = 8 + lead + PadTo64(nlist * sizeof(uint64_t));
  std::vector<uint64_t> counts(nlist);
  for (int64_t l = 0; l < nlist; ++l) {
    const uint64_t n = lists.list_size(l);
    counts[l] = n;
    length += PadTo64(n * sizeof(int64_t)) + PadTo64(lists.code_bytes(n)) +
              PadTo64(n * vd * sizeof(float));
  }
  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagListsAligned, length));
  const uint32_t prefix[2] = {lead, 0};
  VINDEX_RETURN_IF_ERROR(w.WritePayload(prefix, sizeof(prefix)));
  const std::vector<char> zeros(lead, 0);
  VINDEX_RETURN_IF_ERROR(w.WritePayload(zeros.data(), lead));
  VINDEX_RETURN_IF_ERROR(
      WritePadded(w, counts.data(), nlist * sizeof(uint64_t)));
  for (int64_t l = 0; l < nlist; ++l) {
    const uint64_t n = counts[l];
    VINDEX_RETURN_IF_ERROR(WritePadded(w, lists.ids(l), n * sizeof(int64_t)));
    VINDEX_RETURN_IF_ERROR(WritePadded(w, lists.codes(l), lists.code_bytes(n)));
    VINDEX_RETURN_IF_ERROR(
        WritePadded(w, lists.vectors(l), n * vd * sizeof(float)));
  }
  return w.EndSection();
}

// Consumes `bytes` padding bytes of the open section.
absl::Status SkipPayload(io::ContainerReader& r, uint64_t bytes) {
  char buf[kListAlign];
  if (bytes > sizeof(buf)) return absl::InternalError("padding too long");
  return r.ReadPayload(buf, bytes);
}

// One array of a list in section LSTA: a view into the reader's memory when
// it lends memory aligned for T, else a copy in *owned. `bytes` (a multiple
// of sizeof(T)) has been checked against the section's length.
template <typename T>
absl::Status TakeArray(io::ContainerReader& r, uint64_t bytes,
                       std::shared_ptr<const void>* mapping, const T** view,
                       std::vector<T>* owned) {
  *view = nullptr;
  if (bytes > 0) {
    const char* p = nullptr;
    std::shared_ptr<const void> owner;
    VINDEX_RETURN_IF_ERROR(r.ViewPayload(bytes, &p, &owner));
    if (p != nullptr && reinterpret_cast<uintptr_t>(p) % alignof(T) == 0) {
      *view = reinterpret_cast<const T*>(p);
      *mapping = std::move(owner);
    } else {
      owned->resize(bytes / sizeof(T));
      if (p != nullptr) {
        std::memcpy(owned->data(), p, bytes);
      } else {
        VINDEX_RETURN_IF_ERROR(r.ReadPayload(owned->data(), bytes));
      }
    }
  }
  return SkipPayload(r, PadTo64(bytes) - bytes);
}

// Reads section LSTA (see io/format.h); the section is open with `left`
// payload bytes. Every length is checked against what the section holds
// before an array is viewed or allocated. Adds the entries read to *seen.
absl::Status LoadListsAligned(io::ContainerReader& r, uint64_t left,
                              InvertedLists* lists, uint64_t* seen) {
  const int64_t nlist = lists->nlist();
  const uint64_t vd = lists->vec_dim();
  uint32_t prefix[2];
  if (left < sizeof(prefix))
    return absl::DataLossError("lists section is truncated");
  VINDEX_RETURN_IF_ERROR(r.ReadPayload(prefix, sizeof(prefix)));
  left -= sizeof(prefix);
  if (prefix[0] >= kListAlign || prefix[1] != 0)
    return absl::DataLossError("lists section has a bad prefix");
  const uint64_t table_bytes = nlist * sizeof(uint64_t);
  if (prefix[0] + PadTo64(table_bytes) > left)
    return absl::DataLossError("lists section is truncated");
  VINDEX_RETURN_IF_ERROR(SkipPayload(r, prefix[0]));
  left -= prefix[0] + PadTo64(table_bytes);
  std::vector<uint64_t> counts(nlist);
  VINDEX_RETURN_IF_ERROR(r.ReadPayload(counts.data(), table_bytes));
  VINDEX_RETURN_IF_ERROR(SkipPayload(r, PadTo64(table_bytes) - table_bytes));
  // The sizes of all lists, checked before any array is touched. Each is
  // bounded by the bytes left, so none of the products below overflows.
  const uint64_t min_entry = sizeof(int64_t) + vd * sizeof(float);
  for (int64_t l = 0; l < nlist; ++l) {
    const uint64_t n = counts[l];
    if (n >= (uint64_t{1} << 32) || n > left / min_entry) {
      return absl::DataLossError(
          absl::StrCat("list ", l, " declares ", n,
                       " entries, more than the section holds"));
    }
    const uint64_t need = PadTo64(n * sizeof(int64_t)) +
                          PadTo64(lists->code_bytes(n)) +
                          PadTo64(n * vd * sizeof(float));
    if (need > left) {
      return absl::DataLossError(
          absl::StrCat("list ", l, " declares ", n,
                       " entries, more than the section holds"));
    }
    left -= need;
  }
  if (left != 0) return absl::DataLossError("lists section has trailing bytes");

  std::shared_ptr<const void> mapping;
  for (int64_t l = 0; l < nlist; ++l) {
    const uint64_t n = counts[l];
    const int64_t* ids;
    const uint8_t* codes;
    const float* vecs;
    std::vector<int64_t> own_ids;
    std::vector<uint8_t> own_codes;
    std::vector<float> own_vecs;
    VINDEX_RETURN_IF_ERROR(
        TakeArray(r, n * sizeof(int64_t), &mapping, &ids, &own_ids));
    VINDEX_RETURN_IF_ERROR(
        TakeArray(r, lists->code_bytes(n), &mapping, &codes, &own_codes));
    VINDEX_RETURN_IF_ERROR(
        TakeArray(r, n * vd * sizeof(float), &mapping, &vecs, &own_vecs));
    const bool all_views = (ids != nullptr || n == 0) &&
                           (codes != nullptr || lists->code_bytes(n) == 0) &&
                           (vecs != nullptr || n * vd == 0);
    if (n > 0 && all_views) {
      lists->SetView(l, static_cast<int64_t>(n), ids, codes, vecs, mapping);
    } else if (n > 0) {
      // Some array was copied: the list owns all of them.
      if (ids != nullptr) own_ids.assign(ids, ids + n);
      if (codes != nullptr)
        own_codes.assign(codes, codes + lists->code_bytes(n));
      if (vecs != nullptr) own_vecs.assign(vecs, vecs + n * vd);
      lists->SetOwned(l, std::move(own_ids), std::move(own_codes),
                      std::move(own_vecs));
    }
    *seen += n;
  }
  return absl::OkStatus();
}

// Checks the loaded ids (none -1, no repeats; fills *where) and vectors
// (finite).
absl::Status CheckListContents(const InvertedLists& lists,
                               absl::flat_hash_map<int64_t, uint64_t>* where) {
  const int64_t vd = lists.vec_dim();
  for (int64_t l = 0; l < lists.nlist(); ++l) {
    const int64_t n = lists.list_size(l);
    const int64_t* ids = lists.ids(l);
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] == -1 ||
          !where->emplace(ids[i], ListLocation::At(l, i).Pack()).second) {
        return absl::DataLossError(
            absl::StrCat("lists section has invalid or repeated id ", ids[i]));
      }
    }
    const float* v = lists.vectors(l);
    for (int64_t i = 0; i < n * vd; ++i) {
      if (!std::isfinite(v[i])) {
        return absl::DataLossError(
            absl::StrCat("list ", l, " has a non-finite vector value"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckIvfOptions(int dim, Metric metric, Device device, int nlist,
                             int nprobe, int iterations, int max_ppc) {
  VINDEX_RETURN_IF_ERROR(CheckDimMetric(dim, metric));
  if (device == Device::kGpu) {
    return absl::InvalidArgumentError(
        "this is the CPU IVF index; the GPU one comes from cuda/");
  }
  if (nlist < 1)
    return absl::InvalidArgumentError(absl::StrCat("nlist ", nlist, " < 1"));
  if (nprobe < 1 || nprobe > kMaxIvfNprobe) {
    return absl::InvalidArgumentError(absl::StrCat(
        "default_nprobe must be in [1, ", kMaxIvfNprobe, "], got ", nprobe));
  }
  if (iterations < 0 || iterations > kMaxKMeansIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("kmeans_iterations must be in [0, ", kMaxKMeansIterations,
                     "], got ", iterations));
  }
  if (max_ppc < 1 || max_ppc > kMaxPointsPerCentroid) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_points_per_centroid must be in [1, ",
                     kMaxPointsPerCentroid, "], got ", max_ppc));
  }
  return absl::OkStatus();
}

IvfIndexBase::IvfIndexBase(const IvfConfig& config, CodeLayout layout,
                           int code_m, int vec_dim, bool entry_terms)
    : config_(config),
      code_m_(code_m),
      lists_(0, layout, code_m, vec_dim, entry_terms) {}
// The nlist lists are created by Train or Load, once their size is known to
// be sound (a hostile file's nlist is bounded by its centroids section).

IndexInfo IvfIndexBase::info() const {
  std::shared_lock lock(mu_);
  IndexInfo info;
  info.family = config_.family;
  info.device = Device::kCpu;
  info.metric = config_.metric;
  info.dim = config_.dim;
  info.size = lists_.total();
  info.trained = trained_;
  info.memory_bytes =
      lists_.MemoryBytes() + centroids_.capacity() * sizeof(float) +
      centroid_norms_.capacity() * sizeof(float) +
      where_.capacity() * (sizeof(int64_t) + sizeof(uint64_t) + 1) +
      ExtraMemory();
  info.description = Description();
  info.memory_mapped = lists_.mapped();
  return info;
}

void IvfIndexBase::AssignLists(const float* centroids,
                               const float* centroid_norms,
                               MatrixView<const float> x, int32_t* out,
                               Executor* executor) const {
  // L2 adds go to the nearest centroid; inner product and cosine to the
  // centroid of largest inner product (as searches probe them).
  train::AssignNearest(centroids,
                       config_.metric == Metric::kL2 ? centroid_norms : nullptr,
                       config_.nlist, x, out, nullptr, executor);
}

absl::Status IvfIndexBase::CopyMappedLists(
    std::optional<InvertedLists>* owned) const {
  if (!lists_.mapped()) return absl::OkStatus();
  try {
    owned->emplace(lists_.OwnedCopy());
    // The mapped ids may have changed since Load checked them; where_ holds
    // what was checked, and the mutations rely on the two agreeing.
    for (const auto& [id, packed] : where_) {
      const ListLocation at = ListLocation::Unpack(packed);
      (*owned)->SetId(at.list, at.offset, id);
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory copying the mapped inverted lists");
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::Train(MatrixView<const float> samples,
                                 Executor* executor) {
  return internal::GuardedCall(
      this, "Train", [&] { return TrainUnguarded(samples, executor); });
}

absl::Status IvfIndexBase::TrainUnguarded(MatrixView<const float> samples,
                                          Executor* executor) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(samples, config_.dim, "training vector"));
  std::lock_guard<std::mutex> write(write_mu_);
  if (lists_.total() > 0) {
    return absl::FailedPreconditionError(
        "cannot retrain an index that holds vectors");
  }
  if (samples.rows < config_.nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("training needs at least nlist = ", config_.nlist,
                     " vectors, got ", samples.rows));
  }
  std::vector<float> normalized;
  MatrixView<const float> x = samples;
  if (config_.metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(
        CopyRows(samples, true, &normalized, "training vector"));
    x = MatrixView<const float>(normalized.data(), samples.rows, config_.dim);
  }
  train::KMeansOptions ko;
  ko.k = config_.nlist;
  ko.iterations = config_.kmeans_iterations;
  ko.max_points_per_centroid = config_.max_points_per_centroid;
  ko.seed = config_.seed;
  // Unit-norm centroids for inner product too (as FAISS's IVF does): with
  // raw means, the largest-inner-product assignment favours the centroids
  // of large norm, and the lists grow lopsided (debian-desc-use512,
  // IVF693: sum of squared list sizes 7.3x that of equal lists, against
  // 1.5x spherical; 2.6x more codes scanned at nprobe 48).
  ko.spherical = config_.metric != Metric::kL2;
  ko.inner_product = config_.metric == Metric::kInnerProduct;
  ko.progress = config_.kmeans_progress;
  absl::StatusOr<train::KMeansResult> km;
  try {
    km = train::KMeans(x, ko, executor);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory training the coarse quantizer");
  }
  if (!km.ok()) return km.status();
  std::vector<float> norms(config_.nlist);
  linalg::RowSquaredNorms(km->centroids.data(), config_.nlist, config_.dim,
                          config_.dim, norms.data());
  VINDEX_RETURN_IF_ERROR(
      StageTraining(x, km->centroids.data(), norms.data(), executor));
  InvertedLists fresh;
  try {
    fresh = InvertedLists(config_.nlist, lists_.layout(), code_m_,
                          lists_.vec_dim(), lists_.has_terms());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory creating the inverted lists");
  }

  std::unique_lock lock(mu_);
  lists_ = std::move(fresh);
  where_.clear();
  centroids_ = std::move(km->centroids);
  centroid_norms_ = std::move(norms);
  trained_ = true;
  CommitTraining();
  return absl::OkStatus();
}

absl::Status IvfIndexBase::Add(MatrixView<const float> vectors,
                               absl::Span<const int64_t> ids,
                               Executor* executor) {
  return internal::GuardedCall(
      this, "Add", [&] { return AddUnguarded(vectors, ids, executor); });
}

absl::Status IvfIndexBase::AddUnguarded(MatrixView<const float> vectors,
                                        absl::Span<const int64_t> ids,
                                        Executor* executor) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(vectors, config_.dim, "vector"));
  VINDEX_RETURN_IF_ERROR(CheckNewIds(ids, vectors.rows));
  std::lock_guard<std::mutex> write(write_mu_);
  if (!trained_) return absl::FailedPreconditionError("Add before Train");
  // where_ only changes under write_mu_, which we hold.
  for (int64_t id : ids) {
    if (where_.contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("id ", id, " is already in the index"));
    }
  }
  const int64_t n = vectors.rows;
  const int64_t d = config_.dim;
  std::vector<float> rows;
  std::vector<int32_t> assign(n);
  std::vector<uint8_t> codes;
  std::vector<float> terms;
  try {
    VINDEX_RETURN_IF_ERROR(
        CopyRows(vectors, config_.metric == Metric::kCosine, &rows, "vector"));
    MatrixView<const float> x(rows.data(), n, d);
    AssignLists(centroids_.data(), centroid_norms_.data(), x, assign.data(),
                executor);
    if (code_m_ > 0) {
      codes.resize(n * code_m_);
      if (lists_.has_terms()) terms.resize(n);
      Encode(x, assign.data(), codes.data(),
             terms.empty() ? nullptr : terms.data(), executor);
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory encoding vectors");
  }
  std::optional<InvertedLists> owned;
  VINDEX_RETURN_IF_ERROR(CopyMappedLists(&owned));

  std::unique_lock lock(mu_);
  if (owned.has_value()) lists_ = std::move(*owned);
  try {
    std::vector<int64_t> per_list(config_.nlist, 0);
    for (int32_t a : assign) ++per_list[a];
    for (int64_t l = 0; l < config_.nlist; ++l) {
      if (per_list[l] > 0) lists_.Reserve(l, per_list[l]);
    }
    internal::ReserveSafely(where_, where_.size() + n);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory growing the inverted lists");
  }
  // Nothing below allocates.
  const bool keep = lists_.vec_dim() > 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t l = assign[i];
    const int64_t pos = lists_.list_size(l);
    lists_.Append(l, ids[i], code_m_ > 0 ? codes.data() + i * code_m_ : nullptr,
                  keep ? rows.data() + i * d : nullptr,
                  terms.empty() ? 0.0f : terms[i]);
    where_.emplace(ids[i], ListLocation::At(l, pos).Pack());
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::Search(MatrixView<const float> queries,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchUnguarded(queries, params, out, executor);
  });
}

absl::Status IvfIndexBase::SearchUnguarded(MatrixView<const float> queries,
                                           const SearchParams& params,
                                           SearchOutput out,
                                           Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(CheckSearch(queries, params, out, config_.dim));
  if (params.nprobe < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe ", params.nprobe, " < 0"));
  }
  VINDEX_ASSIGN_OR_RETURN(const int rerank, ResolveRerank(params));
  const int nprobe =
      std::min(params.nprobe == 0 ? config_.default_nprobe : params.nprobe,
               config_.nlist);
  const Metric metric = config_.metric;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(CopyRows(queries, true, &normalized, "query"));
    queries =
        MatrixView<const float>(normalized.data(), queries.rows, queries.cols);
  }
  std::shared_lock lock(mu_);
  if (!trained_) return absl::FailedPreconditionError("search before Train");
  const int64_t total = lists_.total();
  if (params.filter != nullptr && total == 0) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  // Filters become a bitmask over global positions (list offset + position),
  // built once per call, so a list entry is tested before any distance work.
  std::vector<int64_t> offsets;
  RowMask mask;
  if (params.filter != nullptr) {
    offsets.resize(config_.nlist + 1, 0);
    for (int64_t l = 0; l < config_.nlist; ++l)
      offsets[l + 1] = offsets[l] + lists_.list_size(l);
    const IdFilter& f = *params.filter;
    if (f.kind() == IdFilter::Kind::kAllowList ||
        f.kind() == IdFilter::Kind::kDenyList) {
      const bool allow = f.kind() == IdFilter::Kind::kAllowList;
      mask = RowMask(total, !allow);
      for (int64_t id : f.listed_ids()) {
        auto it = where_.find(id);
        if (it == where_.end()) continue;
        const ListLocation at = ListLocation::Unpack(it->second);
        const int64_t g = offsets[at.list] + at.offset;
        if (allow) {
          mask.Set(g);
        } else {
          mask.Clear(g);
        }
      }
    } else {
      mask = RowMask(total, false);
      for (int64_t l = 0; l < config_.nlist; ++l) {
        const int64_t* ids = lists_.ids(l);
        for (int64_t i = 0; i < lists_.list_size(l); ++i) {
          if (f.Allows(ids[i])) mask.Set(offsets[l] + i);
        }
      }
    }
  }

  // Coarse step: the nprobe closest centroids of every query (GEMM batched).
  const int64_t nq = queries.rows;
  std::vector<int64_t> probe(nq * nprobe);
  std::vector<float> coarse(nq * nprobe);
  BruteForceRows crow;
  crow.data = centroids_.data();
  crow.rows = config_.nlist;
  crow.dim = config_.dim;
  crow.stride = config_.dim;
  crow.sq_norms = centroid_norms_.data();
  BruteForceKnn(
      crow, metric == Metric::kL2 ? Score::kL2 : Score::kNegativeInnerProduct,
      queries, nprobe,
      BruteForceOutput{probe.data(), nprobe, coarse.data(), nprobe}, executor);

  if (params.filter == nullptr &&
      ScanBatch(queries, probe.data(), coarse.data(), nprobe, params.k, out,
                executor)) {
    for (int64_t i = 0; i < nq; ++i)
      ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), params.k);
    return absl::OkStatus();
  }
  ParallelFor(executor, nq, [&](int64_t i) {
    ProbeContext ctx;
    ctx.query = queries.row(i);
    ctx.lists = probe.data() + i * nprobe;
    ctx.coarse = coarse.data() + i * nprobe;
    ctx.nprobe = nprobe;
    ctx.k = params.k;
    ctx.rerank_factor = rerank;
    ctx.mask = params.filter != nullptr ? &mask : nullptr;
    ctx.offsets = &offsets;
    ctx.out_ids = out.ids.row(i);
    ctx.out_scores = out.distances.row(i);
    ScanLists(ctx);
    ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), params.k);
  });
  return absl::OkStatus();
}

absl::Status IvfIndexBase::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove",
                               [&] { return RemoveUnguarded(ids); });
}

absl::Status IvfIndexBase::RemoveUnguarded(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(CheckNoRepeats(ids, "Remove"));
  std::lock_guard<std::mutex> write(write_mu_);
  for (int64_t id : ids) {
    if (!where_.contains(id)) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  std::optional<InvertedLists> owned;
  VINDEX_RETURN_IF_ERROR(CopyMappedLists(&owned));
  std::unique_lock lock(mu_);
  if (owned.has_value()) lists_ = std::move(*owned);
  for (int64_t id : ids) {
    auto it = where_.find(id);
    const ListLocation at = ListLocation::Unpack(it->second);
    const int64_t l = at.list;
    const int64_t pos = at.offset;
    where_.erase(it);
    lists_.RemoveAt(l, pos);
    if (pos < lists_.list_size(l)) where_[lists_.ids(l)[pos]] = at.Pack();
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::GetVectors(absl::Span<const int64_t> ids,
                                      MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors",
                               [&] { return GetVectorsUnguarded(ids, out); });
}

absl::Status IvfIndexBase::GetVectorsUnguarded(absl::Span<const int64_t> ids,
                                               MatrixView<float> out) const {
  // Held from the start: a copy-on-write Remove or Add replaces lists_.
  std::shared_lock lock(mu_);
  if (!keeps_vectors()) {
    return absl::UnimplementedError(absl::StrCat(
        Description(), " keeps no exact vectors (use keep_raw_vectors)"));
  }
  const int64_t d = config_.dim;
  if (out.rows != static_cast<int64_t>(ids.size()) || out.cols != d ||
      (out.data == nullptr && !ids.empty()) || out.row_stride() < out.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetVectors output must be ", ids.size(), " x ", d));
  }
  for (int64_t id : ids) {
    if (!where_.contains(id)) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const ListLocation at = ListLocation::Unpack(where_.at(ids[i]));
    std::memcpy(out.row(i), lists_.vectors(at.list) + int64_t{at.offset} * d,
                d * sizeof(float));
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save",
                               [&] { return SaveUnguarded(writer); });
}

absl::Status IvfIndexBase::SaveUnguarded(Writer& writer) const {
  std::shared_lock lock(mu_);
  io::ContainerWriter w(writer);
  io::FileHeader h;
  h.family = config_.family;
  h.dim = static_cast<uint32_t>(config_.dim);
  h.metric = config_.metric;
  h.count = static_cast<uint64_t>(lists_.total());
  VINDEX_RETURN_IF_ERROR(w.WriteHeader(h));
  io::ByteBuilder p;
  p.U32(static_cast<uint32_t>(config_.nlist));
  p.U32(static_cast<uint32_t>(config_.default_nprobe));
  p.U32(static_cast<uint32_t>(config_.kmeans_iterations));
  p.U32(static_cast<uint32_t>(config_.max_points_per_centroid));
  p.U64(config_.seed);
  p.U32(trained_ ? 1 : 0);
  AppendParams(p);
  VINDEX_RETURN_IF_ERROR(w.WriteSection(io::kTagParams, p.bytes()));
  if (!trained_) return w.Finish();

  const size_t cbytes = centroids_.size() * sizeof(float);
  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagCentroids, cbytes));
  VINDEX_RETURN_IF_ERROR(w.WritePayload(centroids_.data(), cbytes));
  VINDEX_RETURN_IF_ERROR(w.EndSection());
  VINDEX_RETURN_IF_ERROR(SaveExtra(w));

  VINDEX_RETURN_IF_ERROR(SaveLists(lists_, w));
  return w.Finish();
}

absl::Status IvfIndexBase::ParseBaseParams(io::ByteCursor& c, IvfConfig* config,
                                           bool* trained) {
  VINDEX_ASSIGN_OR_RETURN(uint32_t nlist, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t nprobe, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t iterations, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t max_ppc, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint64_t seed, c.U64());
  VINDEX_ASSIGN_OR_RETURN(uint32_t is_trained, c.U32());
  constexpr uint32_t kLimit = 1u << 30;
  if (nlist == 0 || nlist > kLimit || nprobe == 0 || nprobe > kLimit ||
      iterations > kLimit || max_ppc > kLimit || is_trained > 1) {
    return absl::DataLossError("params section has an out-of-range IVF field");
  }
  config->nlist = static_cast<int>(nlist);
  config->default_nprobe = static_cast<int>(nprobe);
  config->kmeans_iterations = static_cast<int>(iterations);
  config->max_points_per_centroid = static_cast<int>(max_ppc);
  config->seed = seed;
  *trained = is_trained == 1;
  return absl::OkStatus();
}

absl::Status IvfIndexBase::LoadBody(io::ContainerReader& r, uint64_t count,
                                    bool trained) {
  if (!trained) {
    if (count != 0)
      return absl::DataLossError("untrained index declares stored vectors");
    return r.ReadEnd();
  }
  const int64_t nlist = config_.nlist;
  const int64_t d = config_.dim;
  VINDEX_ASSIGN_OR_RETURN(
      uint64_t cbytes,
      r.BeginArraySection(io::kTagCentroids, nlist, d * sizeof(float)));
  std::vector<float> centroids(nlist * d);
  VINDEX_RETURN_IF_ERROR(r.ReadPayload(centroids.data(), cbytes));
  VINDEX_RETURN_IF_ERROR(r.EndSection());
  for (float v : centroids) {
    if (!std::isfinite(v))
      return absl::DataLossError("centroids section has a non-finite value");
  }
  VINDEX_RETURN_IF_ERROR(LoadExtra(r, centroids.data()));

  InvertedLists lists(nlist, lists_.layout(), code_m_, lists_.vec_dim(),
                      lists_.has_terms());
  VINDEX_ASSIGN_OR_RETURN(uint64_t length,
                          r.BeginSection(io::kTagListsAligned));
  uint64_t seen = 0;
  VINDEX_RETURN_IF_ERROR(LoadListsAligned(r, length, &lists, &seen));
  // Sized at construction (absl's reserve is unsafe under bad_alloc); `seen`
  // is bounded by the section.
  absl::flat_hash_map<int64_t, uint64_t> where(TableBucketsFor(seen));
  VINDEX_RETURN_IF_ERROR(r.EndSection());
  // Every array is now in place (owned or a checked view): check contents.
  VINDEX_RETURN_IF_ERROR(CheckListContents(lists, &where));
  if (lists.has_terms()) {
    try {
      FillEntryTerms(centroids.data(), &lists);
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          "out of memory computing the lists' entry terms");
    }
  }
  VINDEX_RETURN_IF_ERROR(r.ReadEnd());
  if (seen != count) {
    return absl::DataLossError(absl::StrCat(
        "header declares ", count, " vectors but the lists hold ", seen));
  }
  std::vector<float> norms(nlist);
  linalg::RowSquaredNorms(centroids.data(), nlist, d, d, norms.data());

  std::lock_guard<std::mutex> write(write_mu_);
  std::unique_lock lock(mu_);
  centroids_ = std::move(centroids);
  centroid_norms_ = std::move(norms);
  lists_ = std::move(lists);
  where_ = std::move(where);
  trained_ = true;
  CommitTraining();
  return absl::OkStatus();
}

}  // namespace vindex::internal
