// HNSW integrity checks: what Load verifies of untrusted level-0 blocks and
// upper-level links, and the full invariant check the tests run.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/storage.h"
#include "train/scalar_quantizer.h"

namespace vindex {

using hnsw::EntryPoint;
using hnsw::kNoEntry;
using hnsw::UnpackEntry;

absl::Status HnswIndex::CheckLevel0(uint32_t n) const {
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t* list = Links(r, 0);
    const uint32_t cnt = list[0];
    if (cnt > static_cast<uint32_t>(m0_)) {
      return absl::DataLossError(
          absl::StrCat("level-0 block ", r, " has ", cnt, " links"));
    }
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t y = list[1 + i];
      if (y >= n || y == r) {
        return absl::DataLossError(
            absl::StrCat("level-0 block ", r, " links to ", y));
      }
    }
    const float* v = FullVector(r);
    for (int j = 0; j < dim_; ++j) {
      if (!std::isfinite(v[j]))
        return absl::DataLossError("vectors have a non-finite value");
    }
    const char* b = Block(r);
    if (sq_bits_ != 0) {
      const uint8_t* code = reinterpret_cast<const uint8_t*>(b);
      uint32_t sum;
      std::memcpy(&sum, b + payload_bytes_ - sizeof(sum), sizeof(sum));
      if (sq_bits_ == 4 && dim_ % 2 == 1 &&
          (code[internal::ScalarQuantizer::PackedBytes(dim_) - 1] >> 4) != 0) {
        return absl::DataLossError(
            absl::StrCat("level-0 block ", r, " has a code past dim"));
      }
      if (sum != (sq_bits_ == 8
                      ? internal::ScalarQuantizer::CodeSum(code, dim_)
                      : internal::ScalarQuantizer::PackedSum(code, dim_))) {
        return absl::DataLossError(
            absl::StrCat("level-0 block ", r, " has a wrong code sum"));
      }
    } else if (quantized_) {
      const uint16_t* half = reinterpret_cast<const uint16_t*>(b);
      for (int j = 0; j < dim_; ++j) {
        if ((half[j] & 0x7C00) == 0x7C00) {
          return absl::DataLossError(
              absl::StrCat("level-0 block ", r, " has a non-finite half"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HnswIndex::CheckUpperLevels(uint32_t n) const {
  for (uint32_t r = 0; r < n; ++r) {
    for (int l = 1; l <= levels_[r]; ++l) {
      const uint32_t* list = Links(r, l);
      for (uint32_t i = 0; i < list[0]; ++i) {
        if (levels_[list[1 + i]] < l) {
          return absl::DataLossError(
              absl::StrCat("graph row ", r, " links above a node's level"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HnswIndex::CheckGraphForTesting() const {
  internal::ReaderLock lock(mu_);
  int max_level = -1;
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] == -1) continue;
    max_level = std::max<int>(max_level, levels_[x]);
    for (int l = 0; l <= levels_[x]; ++l) {
      const uint32_t* list = Links(x, l);
      if (list[0] > static_cast<uint32_t>(Capacity(l))) {
        return absl::InternalError(
            absl::StrCat("slot ", x, " level ", l, " has ", list[0], " links"));
      }
      for (uint32_t i = 0; i < list[0]; ++i) {
        const uint32_t y = list[1 + i];
        if (y >= num_slots_ || y == x || ids_[y] == -1 || levels_[y] < l) {
          return absl::InternalError(
              absl::StrCat("slot ", x, " level ", l, " has a bad link to ", y));
        }
      }
    }
  }
  const uint64_t e = entry_.load();
  if (max_level < 0) {
    if (e != kNoEntry)
      return absl::InternalError("empty graph with an entry point");
    return absl::OkStatus();
  }
  const EntryPoint entry = UnpackEntry(e);
  const uint32_t ep = entry.slot;
  if (e == kNoEntry || ep >= num_slots_ || ids_[ep] == -1 ||
      levels_[ep] != max_level || entry.level != max_level) {
    return absl::InternalError(
        "entry point is not a live node of the top level");
  }
  return absl::OkStatus();
}

std::vector<uint32_t> HnswIndex::Level0LinksForTesting(uint32_t slot) const {
  internal::ReaderLock lock(mu_);
  if (slot >= num_slots_ || ids_[slot] == -1) return {};
  const uint32_t* list = Links(slot, 0);
  return std::vector<uint32_t>(list + 1, list + 1 + list[0]);
}

}  // namespace vindex
