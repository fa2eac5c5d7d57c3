// Saving and loading an IVF index: the header, the shared params, the
// centroids, the family's sections and the lists (list_io.h).

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/id_map.h"
#include "core/status_macros.h"
#include "index/ivf/ivf_base.h"
#include "index/ivf/list_io.h"
#include "linalg/gemm.h"

namespace vindex::internal {

absl::Status IvfIndexBase::SaveImpl(Writer& writer) const {
  ReaderLock lock(mu_);
  io::ContainerWriter w(writer);
  io::FileHeader h;
  h.family = family_;
  h.dim = static_cast<uint32_t>(ivf_.dim);
  h.metric = ivf_.metric;
  h.count = static_cast<uint64_t>(lists_.total());
  VINDEX_RETURN_IF_ERROR(w.WriteHeader(h));
  io::ByteBuilder p;
  p.U32(static_cast<uint32_t>(ivf_.nlist));
  p.U32(static_cast<uint32_t>(ivf_.default_nprobe));
  p.U32(static_cast<uint32_t>(ivf_.kmeans_iterations));
  p.U32(static_cast<uint32_t>(ivf_.max_points_per_centroid));
  p.U64(ivf_.seed);
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

absl::Status IvfIndexBase::ParseBaseParams(io::ByteCursor& c,
                                           IvfCommonOptions* options,
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
  options->nlist = static_cast<int>(nlist);
  options->default_nprobe = static_cast<int>(nprobe);
  options->kmeans_iterations = static_cast<int>(iterations);
  options->max_points_per_centroid = static_cast<int>(max_ppc);
  options->seed = seed;
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
  const int64_t nlist = ivf_.nlist;
  const int64_t d = ivf_.dim;
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

  CodeLayout layout = CodeLayout::kNone;
  int vec_dim = 0;
  bool with_terms = false;
  {
    ReaderLock read(mu_);  // Uncontended: no other thread sees the index yet.
    layout = lists_.layout();
    vec_dim = lists_.vec_dim();
    with_terms = lists_.has_terms();
  }
  InvertedLists lists(nlist, layout, code_m_, vec_dim, with_terms);
  VINDEX_ASSIGN_OR_RETURN(uint64_t length,
                          r.BeginSection(io::kTagListsAligned));
  uint64_t seen = 0;
  VINDEX_RETURN_IF_ERROR(LoadListsAligned(r, length, &lists, &seen));
  // Sized at construction (absl's reserve is unsafe under bad_alloc); `seen`
  // is bounded by the section.
  IdMap<uint64_t> where = IdMap<uint64_t>::SizedFor(seen);
  VINDEX_RETURN_IF_ERROR(r.EndSection());
  // Every array is now in place (owned or a checked view): check contents.
  VINDEX_RETURN_IF_ERROR(CheckListContents(lists, &where));
  if (lists.has_terms()) {
    VINDEX_RETURN_IF_ERROR(TryAllocate("computing the lists' entry terms", [&] {
      FillEntryTerms(centroids.data(), &lists);
    }));
  }
  if (KeepsListHeads()) {
    VINDEX_RETURN_IF_ERROR(TryAllocate("coding the lists' heads", [&] {
      lists.EnableHeads(ListHeadCodec(centroids.data(), nlist));
    }));
  }
  VINDEX_RETURN_IF_ERROR(r.ReadEnd());
  if (seen != count) {
    return absl::DataLossError(absl::StrCat(
        "header declares ", count, " vectors but the lists hold ", seen));
  }
  std::vector<float> norms(nlist);
  linalg::RowSquaredNorms(centroids.data(), nlist, d, d, norms.data());

  MutexLock write(write_mu_);
  WriterLock lock(mu_);
  centroids_ = std::move(centroids);
  centroid_norms_ = std::move(norms);
  CodeCentroidHeads();
  lists_ = std::move(lists);
  where_ = std::move(where);
  trained_ = true;
  CommitTraining();
  return absl::OkStatus();
}

}  // namespace vindex::internal
