#ifndef VINDEX_SRC_INDEX_INVERTED_LISTS_H_
#define VINDEX_SRC_INDEX_INVERTED_LISTS_H_

// The inverted lists of an IVF index: per list, the caller ids, the codes
// and (optionally) the full vectors of its entries, each contiguous, entry i
// at the same position in all three.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vindex::internal {

// How a list stores its entries' codes.
enum class CodeLayout {
  kNone,       // No codes (IVF-Flat keeps only vectors).
  kBytes,      // m bytes per entry, one per sub-quantizer (8-bit PQ).
  kFastScan4,  // 4-bit codes packed in blocks of 32 (kernels/pq_kernels.h).
};

// Owns its lists. Thread safety: none of its own; the owning index locks.
class InvertedLists {
 public:
  struct List {
    std::vector<int64_t> ids;
    std::vector<uint8_t>
        codes;  // kBytes: size * m; kFastScan4: blocks * block_bytes.
    std::vector<float> vectors;  // size * vec_dim.
  };

  InvertedLists() = default;
  InvertedLists(int64_t nlist, CodeLayout layout, int m, int vec_dim);

  int64_t nlist() const { return static_cast<int64_t>(lists_.size()); }
  CodeLayout layout() const { return layout_; }
  int m() const { return m_; }
  int vec_dim() const { return vec_dim_; }
  // Fast-scan: sub-quantizer pairs, and bytes per block of 32 entries.
  int pairs() const { return (m_ + 1) / 2; }
  size_t block_bytes() const { return size_t(pairs()) * 32; }

  const List& list(int64_t l) const { return lists_[l]; }
  int64_t list_size(int64_t l) const {
    return static_cast<int64_t>(lists_[l].ids.size());
  }
  int64_t total() const;

  // Makes room for `extra` more entries in list l (may throw bad_alloc);
  // afterwards that many Appends to l allocate nothing.
  void Reserve(int64_t l, int64_t extra);
  // Appends an entry. `code`: m bytes, one per sub-quantizer (ignored for
  // kNone); `vec`: vec_dim floats (ignored when vec_dim is 0).
  void Append(int64_t l, int64_t id, const uint8_t* code, const float* vec);
  // Removes entry `pos` of list l by moving the list's last entry into it.
  void RemoveAt(int64_t l, int64_t pos);
  // The unpacked code of an entry: m bytes.
  void GetCode(int64_t l, int64_t pos, uint8_t* code) const;

  size_t MemoryBytes() const;

 private:
  void SetCode(List& list, int64_t pos, const uint8_t* code);

  CodeLayout layout_ = CodeLayout::kNone;
  int m_ = 0;
  int vec_dim_ = 0;
  std::vector<List> lists_;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_INVERTED_LISTS_H_
