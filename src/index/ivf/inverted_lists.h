#ifndef VINDEX_SRC_INDEX_IVF_INVERTED_LISTS_H_
#define VINDEX_SRC_INDEX_IVF_INVERTED_LISTS_H_

// The inverted lists of an IVF index: per list, the caller ids, the codes,
// (optionally) the full vectors and (optionally) one float term of its
// entries, each contiguous, entry i at the same position in all of them. A
// list's ids, codes and vectors are either owned vectors or views into a
// read-only file mapping (see io/format.h, section LSTA); a mapped list is
// read-only until OwnedCopy copies it. Terms are derived data, never saved:
// always owned, recomputed by the index after a load (SetTerms). Heads are
// derived too: with EnableHeads, each entry's first HeadCodec::kDim
// coordinates in 8 bits and its coding error (head_codec.h), and the codec's
// 4-bit tail of the rest when it codes one, contiguous per list, kept in step
// with the vectors by every call here, so a bounded scan's first check reads no
// row.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "index/head_codec.h"

namespace vindex::internal {

// How a list stores its entries' codes.
enum class CodeLayout {
  kNone,       // No codes (IVF-Flat keeps only vectors).
  kBytes,      // m bytes per entry, one per sub-quantizer (8-bit PQ).
  kFastScan4,  // 4-bit codes packed in blocks of 32 (kernels/pq_kernels.h).
};

// Thread safety: none of its own; the owning index locks.
class InvertedLists {
 public:
  InvertedLists() = default;
  // entry_terms: keep one float per entry (terms()).
  InvertedLists(int64_t nlist, CodeLayout layout, int m, int vec_dim,
                bool entry_terms = false);
  // Moving keeps every list's storage in place, so its views stay valid.
  InvertedLists(InvertedLists&&) = default;
  InvertedLists& operator=(InvertedLists&&) = default;
  InvertedLists(const InvertedLists&) = delete;
  InvertedLists& operator=(const InvertedLists&) = delete;

  int64_t nlist() const { return static_cast<int64_t>(lists_.size()); }
  CodeLayout layout() const { return layout_; }
  int m() const { return m_; }
  int vec_dim() const { return vec_dim_; }
  bool has_terms() const { return entry_terms_; }
  // The codec of the heads; null when the lists keep none.
  const HeadCodec* head_codec() const { return head_codec_.get(); }
  // Fast-scan: sub-quantizer pairs, and bytes per block of 32 entries.
  int pairs() const { return (m_ + 1) / 2; }
  size_t block_bytes() const { return size_t(pairs()) * 32; }
  // Bytes of codes that n entries occupy in this layout.
  uint64_t code_bytes(uint64_t n) const;

  int64_t list_size(int64_t l) const { return lists_[l].size; }
  // List l's arrays: list_size(l) ids, code_bytes(list_size(l)) code bytes
  // and list_size(l) * vec_dim floats (null when empty).
  const int64_t* ids(int64_t l) const { return lists_[l].ids; }
  const uint8_t* codes(int64_t l) const { return lists_[l].codes; }
  const float* vectors(int64_t l) const { return lists_[l].vectors; }
  // list_size(l) entry terms when has_terms() (null when empty or unset).
  const float* terms(int64_t l) const { return lists_[l].terms; }
  // With heads: list_size(l) * HeadCodec::kDim codes, entry i's at
  // i * HeadCodec::kDim, and list_size(l) slacks (null when empty).
  const uint8_t* head_codes(int64_t l) const { return lists_[l].head_codes; }
  const float* head_slack(int64_t l) const { return lists_[l].head_slack; }
  // With a codec that codes tails: list_size(l) * tail_bytes() codes, and
  // list_size(l) slacks of the whole rows (null otherwise or when empty).
  const uint8_t* tail_codes(int64_t l) const { return lists_[l].tail_codes; }
  const float* row_slack(int64_t l) const { return lists_[l].row_slack; }
  int64_t total() const;

  // Whether some list is a view into a mapping.
  bool mapped() const { return mapping_ != nullptr; }
  // Makes list l (empty so far) a view of n entries whose arrays lie in
  // memory kept alive by `mapping`. The caller has checked the arrays hold
  // n entries and are aligned for their types.
  void SetView(int64_t l, int64_t n, const int64_t* ids, const uint8_t* codes,
               const float* vectors, std::shared_ptr<const void> mapping);
  // Makes list l (empty so far) own these arrays (sizes as for SetView).
  void SetOwned(int64_t l, std::vector<int64_t> ids, std::vector<uint8_t> codes,
                std::vector<float> vectors);
  // Sets the terms of list l's list_size(l) entries (has_terms() only; the
  // list was set by SetView or SetOwned). Allowed on mapped lists.
  void SetTerms(int64_t l, std::vector<float> terms);
  // A copy in which every list is owned (may throw bad_alloc).
  InvertedLists OwnedCopy() const;
  // Keeps heads coded by `codec` (vec_dim >= HeadCodec::kDim) from now on,
  // computed here for the entries already held; allowed on mapped lists.
  // May throw bad_alloc, leaving the lists without heads.
  void EnableHeads(const HeadCodec& codec);

  // --- Mutations: only when !mapped(). ---
  // Makes room for `extra` more entries in list l (may throw bad_alloc);
  // afterwards that many Appends to l allocate nothing.
  void Reserve(int64_t l, int64_t extra);
  // Appends an entry. `code`: m bytes, one per sub-quantizer (ignored for
  // kNone); `vec`: vec_dim floats (ignored when vec_dim is 0); `term`
  // (ignored without has_terms()).
  void Append(int64_t l, int64_t id, const uint8_t* code, const float* vec,
              float term = 0.0f);
  // Overwrites the id of entry `pos` of list l.
  void SetId(int64_t l, int64_t pos, int64_t id) {
    lists_[l].own->ids[pos] = id;
  }
  // Removes entry `pos` of list l by moving the list's last entry into it.
  void RemoveAt(int64_t l, int64_t pos);

  // The unpacked code of an entry: m bytes.
  void GetCode(int64_t l, int64_t pos, uint8_t* code) const;

  // Owned bytes plus the mapped bytes served.
  size_t MemoryBytes() const;

 private:
  struct Owned {
    std::vector<int64_t> ids;
    std::vector<uint8_t> codes;
    std::vector<float> vectors;
    std::vector<float> terms;
    std::vector<uint8_t> head_codes;
    std::vector<float> head_slack;
    std::vector<uint8_t> tail_codes;
    std::vector<float> row_slack;
  };
  // Small, so that many empty lists cost little (a loaded file pays 12
  // bytes per list at least); the owned arrays live apart, made on demand.
  struct List {
    int64_t size = 0;
    // The arrays read by scans: the owned vectors' data, or a view.
    const int64_t* ids = nullptr;
    const uint8_t* codes = nullptr;  // kBytes: size * m; kFastScan4: blocks.
    const float* vectors = nullptr;  // size * vec_dim.
    const float* terms = nullptr;    // size, always own->terms.
    // size * HeadCodec::kDim and size, always own's; so are the tails.
    const uint8_t* head_codes = nullptr;
    const float* head_slack = nullptr;
    const uint8_t* tail_codes = nullptr;
    const float* row_slack = nullptr;
    bool view = false;
    std::unique_ptr<Owned> own;  // Null until the list owns something.
  };
  // The list's owned arrays, made empty if it had none (may throw).
  static Owned& Own(List& list);
  // Points list's arrays at its owned vectors.
  static void Sync(List& list);
  void SetCode(List& list, int64_t pos, const uint8_t* code);
  // Copies entry `from`'s code over entry `to`'s, or zeroes entry `to`'s
  // fast-scan code (a padding slot); neither allocates.
  void MoveCode(List& list, int64_t from, int64_t to);
  void ClearCode(List& list, int64_t pos);
  // Sets list's heads from its vectors (may throw).
  void FillHeads(List& list);
  // Points list's head arrays at o's.
  static void SyncHeads(List& list, const Owned& o);
  // The tail bytes per entry (0 without heads or tails).
  size_t tail_bytes() const {
    return head_codec_ == nullptr ? 0 : head_codec_->tail_bytes();
  }
  // Appends the head of vec to o.
  void AppendHead(Owned& o, const float* vec) const;

  CodeLayout layout_ = CodeLayout::kNone;
  int m_ = 0;
  int vec_dim_ = 0;
  bool entry_terms_ = false;
  std::shared_ptr<const HeadCodec> head_codec_;
  std::vector<List> lists_;
  std::shared_ptr<const void> mapping_;  // Keeps the views alive.
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_IVF_INVERTED_LISTS_H_
