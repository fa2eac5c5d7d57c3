#include "index/ivf/inverted_lists.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/pq_kernels.h"

namespace vindex::internal {

using kernels::kFastScanBlock;

namespace {

// Where entry `pos` of a fast-scan list keeps its codes: in block
// pos / kFastScanBlock, sub-quantizer j's nibble is at byte
// (j / 2) * 32 + (j % 2) * 16 + (pos % 16) of the block, in the low nibble
// for the block's first 16 entries and the high one for the rest.
struct FastScanSlot {
  size_t block;  // Byte offset of the block in the list's codes.
  int lane;
  int shift;
};

FastScanSlot SlotOf(int64_t pos, size_t block_bytes) {
  const int v = static_cast<int>(pos % kFastScanBlock);
  return {static_cast<size_t>(pos / kFastScanBlock) * block_bytes, v & 15,
          v < 16 ? 0 : 4};
}

size_t NibbleByte(const FastScanSlot& at, int j) {
  return at.block + (j / 2) * 32 + (j % 2) * 16 + at.lane;
}

uint8_t ReadNibble(const uint8_t* codes, const FastScanSlot& at, int j) {
  return (codes[NibbleByte(at, j)] >> at.shift) & 15;
}

void WriteNibble(uint8_t* codes, const FastScanSlot& at, int j,
                 uint8_t nibble) {
  uint8_t& byte = codes[NibbleByte(at, j)];
  byte = static_cast<uint8_t>((byte & ~(0x0f << at.shift)) |
                              ((nibble & 0x0f) << at.shift));
}

}  // namespace

InvertedLists::InvertedLists(int64_t nlist, CodeLayout layout, int m,
                             int vec_dim, bool entry_terms)
    : layout_(layout),
      m_(m),
      vec_dim_(vec_dim),
      entry_terms_(entry_terms),
      lists_(nlist) {}

uint64_t InvertedLists::code_bytes(uint64_t n) const {
  switch (layout_) {
    case CodeLayout::kBytes:
      return n * m_;
    case CodeLayout::kFastScan4:
      return (n + kFastScanBlock - 1) / kFastScanBlock * block_bytes();
    case CodeLayout::kNone:
      break;
  }
  return 0;
}

int64_t InvertedLists::total() const {
  int64_t n = 0;
  for (const auto& l : lists_) n += l.size;
  return n;
}

InvertedLists::Owned& InvertedLists::Own(List& list) {
  if (list.own == nullptr) list.own = std::make_unique<Owned>();
  return *list.own;
}

void InvertedLists::Sync(List& list) {
  Owned& o = Own(list);
  list.ids = o.ids.empty() ? nullptr : o.ids.data();
  list.codes = o.codes.empty() ? nullptr : o.codes.data();
  list.vectors = o.vectors.empty() ? nullptr : o.vectors.data();
  list.terms = o.terms.empty() ? nullptr : o.terms.data();
  SyncHeads(list, o);
  list.size = static_cast<int64_t>(o.ids.size());
  list.view = false;
}

void InvertedLists::SetView(int64_t l, int64_t n, const int64_t* ids,
                            const uint8_t* codes, const float* vectors,
                            std::shared_ptr<const void> mapping) {
  List& list = lists_[l];
  list.size = n;
  list.ids = ids;
  list.codes = codes;
  list.vectors = vectors;
  list.view = true;
  if (mapping_ == nullptr) mapping_ = std::move(mapping);
  if (head_codec_ != nullptr) FillHeads(list);
}

void InvertedLists::SetOwned(int64_t l, std::vector<int64_t> ids,
                             std::vector<uint8_t> codes,
                             std::vector<float> vectors) {
  List& list = lists_[l];
  Owned& o = Own(list);
  o.ids = std::move(ids);
  o.codes = std::move(codes);
  o.vectors = std::move(vectors);
  Sync(list);
  if (head_codec_ != nullptr) FillHeads(list);
}

void InvertedLists::SyncHeads(List& list, const Owned& o) {
  list.head_codes = o.head_codes.empty() ? nullptr : o.head_codes.data();
  list.head_slack = o.head_slack.empty() ? nullptr : o.head_slack.data();
  list.tail_codes = o.tail_codes.empty() ? nullptr : o.tail_codes.data();
  list.row_slack = o.row_slack.empty() ? nullptr : o.row_slack.data();
}

void InvertedLists::AppendHead(Owned& o, const float* vec) const {
  o.head_codes.resize(o.head_codes.size() + HeadCodec::kDim);
  const float slack = head_codec_->Encode(
      vec, o.head_codes.data() + o.head_codes.size() - HeadCodec::kDim);
  o.head_slack.push_back(slack);
  const size_t tail = tail_bytes();
  if (tail == 0) return;
  o.tail_codes.resize(o.tail_codes.size() + tail);
  o.row_slack.push_back(head_codec_->EncodeTail(
      vec, slack, o.tail_codes.data() + o.tail_codes.size() - tail));
}

void InvertedLists::FillHeads(List& list) {
  Owned& o = Own(list);
  const size_t n = static_cast<size_t>(list.size);
  o.head_codes.clear();
  o.head_slack.clear();
  o.tail_codes.clear();
  o.row_slack.clear();
  o.head_codes.reserve(n * HeadCodec::kDim);
  o.head_slack.reserve(n);
  if (tail_bytes() > 0) {
    o.tail_codes.reserve(n * tail_bytes());
    o.row_slack.reserve(n);
  }
  for (size_t i = 0; i < n; ++i) AppendHead(o, list.vectors + i * vec_dim_);
  SyncHeads(list, o);
}

void InvertedLists::EnableHeads(const HeadCodec& codec) {
  try {
    head_codec_ = std::make_shared<const HeadCodec>(codec);
    for (List& list : lists_) {
      if (list.size > 0) FillHeads(list);
    }
  } catch (...) {
    head_codec_ = nullptr;
    for (List& list : lists_) {
      if (list.own != nullptr) {
        std::vector<uint8_t>().swap(list.own->head_codes);
        std::vector<float>().swap(list.own->head_slack);
        std::vector<uint8_t>().swap(list.own->tail_codes);
        std::vector<float>().swap(list.own->row_slack);
      }
      list.head_codes = nullptr;
      list.head_slack = nullptr;
      list.tail_codes = nullptr;
      list.row_slack = nullptr;
    }
    throw;
  }
}

void InvertedLists::SetTerms(int64_t l, std::vector<float> terms) {
  List& list = lists_[l];
  Owned& o = Own(list);
  o.terms = std::move(terms);
  list.terms = o.terms.empty() ? nullptr : o.terms.data();
}

InvertedLists InvertedLists::OwnedCopy() const {
  InvertedLists copy(nlist(), layout_, m_, vec_dim_, entry_terms_);
  copy.head_codec_ = head_codec_;
  for (int64_t l = 0; l < nlist(); ++l) {
    const List& from = lists_[l];
    const uint64_t n = from.size;
    List& to = copy.lists_[l];
    if (n > 0) {
      Owned& o = Own(to);
      o.ids.assign(from.ids, from.ids + n);
      o.codes.assign(from.codes, from.codes + code_bytes(n));
      o.vectors.assign(from.vectors, from.vectors + n * vec_dim_);
      if (entry_terms_) o.terms.assign(from.terms, from.terms + n);
      if (head_codec_ != nullptr) {
        o.head_codes.assign(from.head_codes,
                            from.head_codes + n * HeadCodec::kDim);
        o.head_slack.assign(from.head_slack, from.head_slack + n);
        if (tail_bytes() > 0) {
          o.tail_codes.assign(from.tail_codes,
                              from.tail_codes + n * tail_bytes());
          o.row_slack.assign(from.row_slack, from.row_slack + n);
        }
      }
      Sync(to);
    }
  }
  return copy;
}

namespace {

// Capacity for n entries that grows geometrically, so adding in many small
// batches costs amortised O(1) copies per entry instead of one full copy of
// the list per batch.
size_t GrownCapacity(size_t current, size_t n) {
  return n <= current ? current : std::max(n, current + current / 2);
}

}  // namespace

void InvertedLists::Reserve(int64_t l, int64_t extra) {
  List& list = lists_[l];
  Owned& o = Own(list);
  const size_t n = GrownCapacity(o.ids.capacity(), o.ids.size() + extra);
  // Each reserve may move its array; the scan pointers follow them even when
  // a later one throws, or they would point at freed memory.
  try {
    o.ids.reserve(n);
    o.codes.reserve(code_bytes(n));
    if (vec_dim_ > 0) o.vectors.reserve(n * vec_dim_);
    if (entry_terms_) o.terms.reserve(n);
    if (head_codec_ != nullptr) {
      o.head_codes.reserve(n * HeadCodec::kDim);
      o.head_slack.reserve(n);
      o.tail_codes.reserve(n * tail_bytes());
      o.row_slack.reserve(tail_bytes() > 0 ? n : 0);
    }
  } catch (...) {
    Sync(list);
    throw;
  }
  Sync(list);
}

void InvertedLists::SetCode(List& list, int64_t pos, const uint8_t* code) {
  uint8_t* codes = list.own->codes.data();
  if (layout_ == CodeLayout::kBytes) {
    std::memcpy(codes + pos * m_, code, m_);
    return;
  }
  const FastScanSlot at = SlotOf(pos, block_bytes());
  for (int j = 0; j < m_; ++j) WriteNibble(codes, at, j, code[j]);
}

void InvertedLists::MoveCode(List& list, int64_t from, int64_t to) {
  uint8_t* codes = list.own->codes.data();
  if (layout_ == CodeLayout::kBytes) {
    std::memcpy(codes + to * m_, codes + from * m_, m_);
    return;
  }
  const FastScanSlot src = SlotOf(from, block_bytes());
  const FastScanSlot dst = SlotOf(to, block_bytes());
  for (int j = 0; j < m_; ++j)
    WriteNibble(codes, dst, j, ReadNibble(codes, src, j));
}

void InvertedLists::ClearCode(List& list, int64_t pos) {
  const FastScanSlot at = SlotOf(pos, block_bytes());
  for (int j = 0; j < m_; ++j) WriteNibble(list.own->codes.data(), at, j, 0);
}

void InvertedLists::GetCode(int64_t l, int64_t pos, uint8_t* code) const {
  const List& list = lists_[l];
  if (layout_ == CodeLayout::kBytes) {
    std::memcpy(code, list.codes + pos * m_, m_);
    return;
  }
  if (layout_ != CodeLayout::kFastScan4) return;
  const FastScanSlot at = SlotOf(pos, block_bytes());
  for (int j = 0; j < m_; ++j) code[j] = ReadNibble(list.codes, at, j);
}

void InvertedLists::Append(int64_t l, int64_t id, const uint8_t* code,
                           const float* vec, float term) {
  List& list = lists_[l];
  Owned& o = Own(list);
  const int64_t pos = static_cast<int64_t>(o.ids.size());
  o.ids.push_back(id);
  if (layout_ == CodeLayout::kBytes) {
    o.codes.resize(o.codes.size() + m_);
    SetCode(list, pos, code);
  } else if (layout_ == CodeLayout::kFastScan4) {
    if (pos % kFastScanBlock == 0)
      o.codes.resize(o.codes.size() + block_bytes(), 0);
    SetCode(list, pos, code);
  }
  if (vec_dim_ > 0) o.vectors.insert(o.vectors.end(), vec, vec + vec_dim_);
  if (entry_terms_) o.terms.push_back(term);
  if (head_codec_ != nullptr) AppendHead(o, vec);
  Sync(list);
}

void InvertedLists::RemoveAt(int64_t l, int64_t pos) {
  List& list = lists_[l];
  Owned& o = Own(list);
  const int64_t last = static_cast<int64_t>(o.ids.size()) - 1;
  if (pos != last) {
    o.ids[pos] = o.ids[last];
    if (layout_ != CodeLayout::kNone) MoveCode(list, last, pos);
    if (vec_dim_ > 0) {
      std::memcpy(o.vectors.data() + pos * vec_dim_,
                  o.vectors.data() + last * vec_dim_, vec_dim_ * sizeof(float));
    }
    if (entry_terms_) o.terms[pos] = o.terms[last];
    if (head_codec_ != nullptr) {
      std::memcpy(o.head_codes.data() + pos * HeadCodec::kDim,
                  o.head_codes.data() + last * HeadCodec::kDim,
                  HeadCodec::kDim);
      o.head_slack[pos] = o.head_slack[last];
      const size_t tail = tail_bytes();
      if (tail > 0) {
        std::memcpy(o.tail_codes.data() + pos * tail,
                    o.tail_codes.data() + last * tail, tail);
        o.row_slack[pos] = o.row_slack[last];
      }
    }
  }
  o.ids.pop_back();
  if (entry_terms_) o.terms.pop_back();
  if (layout_ == CodeLayout::kBytes) o.codes.resize(o.codes.size() - m_);
  if (layout_ == CodeLayout::kFastScan4) {
    if (last % kFastScanBlock == 0) {
      o.codes.resize(o.codes.size() - block_bytes());
    } else {
      ClearCode(list, last);  // Keep padding slots zero.
    }
  }
  if (vec_dim_ > 0) o.vectors.resize(o.vectors.size() - vec_dim_);
  if (head_codec_ != nullptr) {
    o.head_codes.resize(o.head_codes.size() - HeadCodec::kDim);
    o.head_slack.pop_back();
    if (tail_bytes() > 0) {
      o.tail_codes.resize(o.tail_codes.size() - tail_bytes());
      o.row_slack.pop_back();
    }
  }
  if (o.ids.capacity() > 2 * o.ids.size() + 1024) {
    o.ids.shrink_to_fit();
    o.codes.shrink_to_fit();
    o.vectors.shrink_to_fit();
    o.terms.shrink_to_fit();
    o.head_codes.shrink_to_fit();
    o.head_slack.shrink_to_fit();
    o.tail_codes.shrink_to_fit();
    o.row_slack.shrink_to_fit();
  }
  Sync(list);
}

size_t InvertedLists::MemoryBytes() const {
  size_t b = lists_.capacity() * sizeof(List);
  for (const auto& l : lists_) {
    if (l.view) {
      b += l.size * (sizeof(int64_t) + vec_dim_ * sizeof(float)) +
           code_bytes(l.size);
    }
    if (l.own == nullptr) continue;
    const Owned& o = *l.own;
    b += sizeof(Owned) +
         (o.terms.capacity() + o.head_slack.capacity() +
          o.row_slack.capacity()) *
             sizeof(float) +
         o.head_codes.capacity() + o.tail_codes.capacity();
    if (!l.view) {
      b += o.ids.capacity() * sizeof(int64_t) + o.codes.capacity() +
           o.vectors.capacity() * sizeof(float);
    }
  }
  return b;
}

}  // namespace vindex::internal
