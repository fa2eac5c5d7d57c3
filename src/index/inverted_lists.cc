#include "index/inverted_lists.h"

#include <algorithm>
#include <cstring>

#include "kernels/pq_kernels.h"

namespace vindex::internal {

using kernels::kFastScanBlock;

InvertedLists::InvertedLists(int64_t nlist, CodeLayout layout, int m,
                             int vec_dim)
    : layout_(layout), m_(m), vec_dim_(vec_dim), lists_(nlist) {}

int64_t InvertedLists::total() const {
  int64_t n = 0;
  for (const auto& l : lists_) n += static_cast<int64_t>(l.ids.size());
  return n;
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
  const size_t n = GrownCapacity(list.ids.capacity(), list.ids.size() + extra);
  list.ids.reserve(n);
  if (layout_ == CodeLayout::kBytes) list.codes.reserve(n * m_);
  if (layout_ == CodeLayout::kFastScan4) {
    list.codes.reserve((n + kFastScanBlock - 1) / kFastScanBlock *
                       block_bytes());
  }
  if (vec_dim_ > 0) list.vectors.reserve(n * vec_dim_);
}

void InvertedLists::SetCode(List& list, int64_t pos, const uint8_t* code) {
  if (layout_ == CodeLayout::kBytes) {
    std::memcpy(list.codes.data() + pos * m_, code, m_);
    return;
  }
  uint8_t* block = list.codes.data() + (pos / kFastScanBlock) * block_bytes();
  const int v = static_cast<int>(pos % kFastScanBlock);
  const int t = v & 15;
  const int shift = v < 16 ? 0 : 4;
  for (int j = 0; j < m_; ++j) {
    uint8_t& byte = block[(j / 2) * 32 + (j % 2) * 16 + t];
    byte = static_cast<uint8_t>((byte & ~(0x0f << shift)) |
                                ((code[j] & 0x0f) << shift));
  }
}

void InvertedLists::GetCode(int64_t l, int64_t pos, uint8_t* code) const {
  const List& list = lists_[l];
  if (layout_ == CodeLayout::kBytes) {
    std::memcpy(code, list.codes.data() + pos * m_, m_);
    return;
  }
  if (layout_ != CodeLayout::kFastScan4) return;
  const uint8_t* block =
      list.codes.data() + (pos / kFastScanBlock) * block_bytes();
  const int v = static_cast<int>(pos % kFastScanBlock);
  const int t = v & 15;
  const int shift = v < 16 ? 0 : 4;
  for (int j = 0; j < m_; ++j)
    code[j] = (block[(j / 2) * 32 + (j % 2) * 16 + t] >> shift) & 15;
}

void InvertedLists::Append(int64_t l, int64_t id, const uint8_t* code,
                           const float* vec) {
  List& list = lists_[l];
  const int64_t pos = static_cast<int64_t>(list.ids.size());
  list.ids.push_back(id);
  if (layout_ == CodeLayout::kBytes) {
    list.codes.resize(list.codes.size() + m_);
    SetCode(list, pos, code);
  } else if (layout_ == CodeLayout::kFastScan4) {
    if (pos % kFastScanBlock == 0)
      list.codes.resize(list.codes.size() + block_bytes(), 0);
    SetCode(list, pos, code);
  }
  if (vec_dim_ > 0)
    list.vectors.insert(list.vectors.end(), vec, vec + vec_dim_);
}

void InvertedLists::RemoveAt(int64_t l, int64_t pos) {
  List& list = lists_[l];
  const int64_t last = static_cast<int64_t>(list.ids.size()) - 1;
  if (pos != last) {
    list.ids[pos] = list.ids[last];
    if (layout_ != CodeLayout::kNone) {
      std::vector<uint8_t> code(m_);
      GetCode(l, last, code.data());
      SetCode(list, pos, code.data());
    }
    if (vec_dim_ > 0) {
      std::memcpy(list.vectors.data() + pos * vec_dim_,
                  list.vectors.data() + last * vec_dim_,
                  vec_dim_ * sizeof(float));
    }
  }
  list.ids.pop_back();
  if (layout_ == CodeLayout::kBytes) list.codes.resize(list.codes.size() - m_);
  if (layout_ == CodeLayout::kFastScan4) {
    if (last % kFastScanBlock == 0) {
      list.codes.resize(list.codes.size() - block_bytes());
    } else {
      std::vector<uint8_t> zero(m_, 0);
      SetCode(list, last, zero.data());  // Keep padding slots zero.
    }
  }
  if (vec_dim_ > 0) list.vectors.resize(list.vectors.size() - vec_dim_);
  if (list.ids.capacity() > 2 * list.ids.size() + 1024) {
    list.ids.shrink_to_fit();
    list.codes.shrink_to_fit();
    list.vectors.shrink_to_fit();
  }
}

size_t InvertedLists::MemoryBytes() const {
  size_t b = lists_.capacity() * sizeof(List);
  for (const auto& l : lists_) {
    b += l.ids.capacity() * sizeof(int64_t) + l.codes.capacity() +
         l.vectors.capacity() * sizeof(float);
  }
  return b;
}

}  // namespace vindex::internal
