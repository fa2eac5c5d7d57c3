#ifndef VINDEX_SRC_CORE_ROW_MASK_H_
#define VINDEX_SRC_CORE_ROW_MASK_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/id_map.h"
#include "vindex/filter.h"

namespace vindex::internal {

// A bitset over internal rows: bit r set means row r may be returned.
class RowMask {
 public:
  RowMask() = default;
  explicit RowMask(int64_t rows, bool value = false)
      : rows_(rows), words_((rows + 63) / 64, value ? ~uint64_t{0} : 0) {}

  int64_t rows() const { return rows_; }
  bool Test(int64_t r) const { return (words_[r >> 6] >> (r & 63)) & 1; }
  void Set(int64_t r) { words_[r >> 6] |= uint64_t{1} << (r & 63); }
  void Clear(int64_t r) { words_[r >> 6] &= ~(uint64_t{1} << (r & 63)); }
  int64_t Count() const;
  const uint64_t* words() const { return words_.data(); }

 private:
  int64_t rows_ = 0;
  std::vector<uint64_t> words_;
};

// Turns a filter into a row mask over rows whose caller ids are row_ids[r].
// row_of maps a caller id to its row; it lets allow- and deny-lists cost
// O(list size) instead of O(rows). Rows with id -1 (free slots) are never set.
RowMask BuildRowMask(const IdFilter& filter, absl::Span<const int64_t> row_ids,
                     const IdMap<int64_t>& row_of);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ROW_MASK_H_
