#ifndef VINDEX_SRC_CORE_ROW_MASK_H_
#define VINDEX_SRC_CORE_ROW_MASK_H_

#include <cstdint>
#include <vector>

namespace vindex::internal {

// A bitset over internal rows (filter_plan.h builds one from a filter): bit r
// set means row r may be returned.
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

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ROW_MASK_H_
