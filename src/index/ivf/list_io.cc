// Section LSTA of an IVF file: each list's ids, codes and vectors, 64-byte
// aligned so that a mapped file can serve them in place.

#include "index/ivf/list_io.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/list_location.h"
#include "core/status_macros.h"

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

}  // namespace

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

absl::Status CheckListContents(const InvertedLists& lists,
                               IdMap<uint64_t>* where) {
  const int64_t vd = lists.vec_dim();
  for (int64_t l = 0; l < lists.nlist(); ++l) {
    const int64_t n = lists.list_size(l);
    const int64_t* ids = lists.ids(l);
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] == -1 ||
          !where->Insert(ids[i], ListLocation::At(l, i).Pack())) {
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

}  // namespace vindex::internal
