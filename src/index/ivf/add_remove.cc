// IVF mutations: Add (assign, encode, then append under the lock) and
// Remove, with the copy-on-write of lists served from a mapping.

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/list_location.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/ivf/ivf_base.h"

namespace vindex::internal {

absl::Status IvfIndexBase::AddImpl(MatrixView<const float> vectors,
                                   absl::Span<const int64_t> ids,
                                   const absl::Span<const int32_t>* given_lists,
                                   Executor* executor) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(vectors, ivf_.dim, "vector"));
  VINDEX_RETURN_IF_ERROR(CheckNewIds(ids, vectors.rows));
  const bool lists_given = given_lists != nullptr;
  if (lists_given) {
    if (static_cast<int64_t>(given_lists->size()) != vectors.rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          given_lists->size(), " lists for ", vectors.rows, " vectors"));
    }
    for (int32_t l : *given_lists) {
      if (l < 0 || l >= ivf_.nlist) {
        return absl::InvalidArgumentError(
            absl::StrCat("list ", l, " out of range [0, ", ivf_.nlist, ")"));
      }
    }
  }
  MutexLock write(write_mu_);
  // What is read here changes only under write_mu_, which this call holds, so
  // it stays valid after the ReaderLock (see mu_).
  const float* centroids = nullptr;
  const float* centroid_norms = nullptr;
  bool with_terms = false;
  {
    ReaderLock read(mu_);  // Never waits (see mu_).
    if (!trained_) return absl::FailedPreconditionError("Add before Train");
    for (int64_t id : ids) {
      if (where_.Contains(id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("id ", id, " is already in the index"));
      }
    }
    centroids = centroids_.data();
    centroid_norms = centroid_norms_.data();
    with_terms = lists_.has_terms();
  }
  const int64_t n = vectors.rows;
  const int64_t d = ivf_.dim;
  std::vector<float> rows;
  std::vector<int32_t> assign(n);
  std::vector<uint8_t> codes;
  std::vector<float> terms;
  VINDEX_RETURN_IF_ERROR(TryAllocate("encoding vectors", [&]() -> absl::Status {
    VINDEX_RETURN_IF_ERROR(
        CopyRows(vectors, ivf_.metric == Metric::kCosine, &rows, "vector"));
    MatrixView<const float> x(rows.data(), n, d);
    if (lists_given) {
      std::copy(given_lists->begin(), given_lists->end(), assign.begin());
    } else {
      AssignLists(centroids, centroid_norms, x, assign.data(), executor);
    }
    if (code_m_ > 0) {
      codes.resize(n * code_m_);
      if (with_terms) terms.resize(n);
      Encode(x, assign.data(), codes.data(),
             terms.empty() ? nullptr : terms.data(), executor);
    }
    return absl::OkStatus();
  }));
  std::optional<InvertedLists> owned;
  VINDEX_RETURN_IF_ERROR(CopyMappedLists(&owned));

  WriterLock lock(mu_);
  if (owned.has_value()) lists_ = std::move(*owned);
  // Runs under `lock`, which the analysis does not follow into a lambda.
  VINDEX_RETURN_IF_ERROR(TryAllocate(
      "growing the inverted lists", [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        std::vector<int64_t> per_list(ivf_.nlist, 0);
        for (int32_t a : assign) ++per_list[a];
        for (int64_t l = 0; l < ivf_.nlist; ++l) {
          if (per_list[l] > 0) lists_.Reserve(l, per_list[l]);
        }
        where_.Reserve(where_.size() + n);
      }));
  // Nothing below allocates.
  const bool keep = lists_.vec_dim() > 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t l = assign[i];
    const int64_t pos = lists_.list_size(l);
    lists_.Append(l, ids[i], code_m_ > 0 ? codes.data() + i * code_m_ : nullptr,
                  keep ? rows.data() + i * d : nullptr,
                  terms.empty() ? 0.0f : terms[i]);
    where_.Insert(ids[i], ListLocation::At(l, pos).Pack());
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::RemoveImpl(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(CheckNoRepeats(ids, "Remove"));
  MutexLock write(write_mu_);
  {
    ReaderLock read(mu_);  // Never waits (see mu_).
    for (int64_t id : ids) {
      if (!where_.Contains(id)) {
        return absl::NotFoundError(
            absl::StrCat("id ", id, " is not in the index"));
      }
    }
  }
  std::optional<InvertedLists> owned;
  VINDEX_RETURN_IF_ERROR(CopyMappedLists(&owned));
  WriterLock lock(mu_);
  if (owned.has_value()) lists_ = std::move(*owned);
  for (int64_t id : ids) {
    const ListLocation at = ListLocation::Unpack(*where_.Find(id));
    const int64_t l = at.list;
    const int64_t pos = at.offset;
    where_.Erase(id);
    lists_.RemoveAt(l, pos);
    if (pos < lists_.list_size(l)) where_.Update(lists_.ids(l)[pos], at.Pack());
  }
  return absl::OkStatus();
}

absl::Status IvfIndexBase::CopyMappedLists(
    std::optional<InvertedLists>* owned) const {
  ReaderLock read(mu_);  // Never waits (see mu_).
  if (!lists_.mapped()) return absl::OkStatus();
  // Runs under `read`, which the analysis does not follow into a lambda.
  const auto copy = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    owned->emplace(lists_.OwnedCopy());
    // The mapped ids may have changed since Load checked them; where_ holds
    // what was checked, and the mutations rely on the two agreeing.
    where_.ForEach([&](int64_t id, uint64_t packed) {
      const ListLocation at = ListLocation::Unpack(packed);
      (*owned)->SetId(at.list, at.offset, id);
    });
  };
  return TryAllocate("copying the mapped inverted lists", copy);
}

}  // namespace vindex::internal
