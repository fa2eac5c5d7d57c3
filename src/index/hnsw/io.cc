// HNSW save and load: the file sections, and Load's checks of untrusted bytes
// (a level-0 section may be served in place from a file mapping).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/storage.h"
#include "io/format.h"

namespace vindex {

using hnsw::AllocateBlocks;
using hnsw::kFreeEpoch;
using hnsw::kMaxEf;
using hnsw::kMaxLevel;
using hnsw::kMaxM;
using hnsw::kNoEntry;
using hnsw::LoadLink;
using hnsw::PackEntry;
using hnsw::RoundUp;
using hnsw::UnpackEntry;

// File layout (sections after the header, whose count is the live vectors):
//   PARM  m, ef_construction, default_ef (u32), seed (u64), traversal (u32),
//         insert counter (u64), entry row (i64, -1 if empty), sq fitted (u32)
//         [, sq step (f32), dim offsets (f32)], layout (u32, kLayoutBlocks)
//         [, alpha (f32), only when not 1]
//   IDS_  count x i64
//   GRL0  count level-0 blocks of block_bytes_ as held in memory: payload,
//         link count (u32), 2m link rows (u32; unused ones 0). The payload is
//         the vector (f32, normalised for cosine), or the SQ8 codes padded to
//         4 bytes and their u32 sum, or fp16 halves padded to 4 bytes.
//   VECS  quantized traversal only: count x dim f32, the exact vectors
//   GRPH  per row: level (u32), then per level 1..level: n (u32), n rows (u32)
// Rows are the live slots renumbered densely. The header and every section
// length are multiples of 4, so the GRL0 and VECS payloads are 4-byte aligned
// in the file and a mapped load serves them in place.

// The last word of PARM; files without it (an unreleased layout) are
// refused.
constexpr uint32_t kLayoutBlocks = 1;

absl::Status HnswIndex::SaveImpl(Writer& writer) const {
  internal::MutexLock mutation(mutation_mu_);
  internal::ReaderLock lock(mu_);
  std::vector<uint32_t> row(num_slots_, kFreeEpoch);
  std::vector<uint32_t> order;
  order.reserve(live_);
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] != -1) {
      row[x] = static_cast<uint32_t>(order.size());
      order.push_back(x);
    }
  }
  const uint64_t n = order.size();
  io::ContainerWriter w(writer);
  io::FileHeader h;
  h.family = IndexFamily::kHnsw;
  h.dim = static_cast<uint32_t>(dim_);
  h.metric = options_.metric;
  h.count = n;
  VINDEX_RETURN_IF_ERROR(w.WriteHeader(h));

  io::ByteBuilder p;
  p.U32(static_cast<uint32_t>(m_));
  p.U32(static_cast<uint32_t>(options_.ef_construction));
  p.U32(static_cast<uint32_t>(options_.default_ef));
  p.U64(options_.seed);
  p.U32(static_cast<uint32_t>(options_.traversal));
  p.U64(insert_counter_);
  const uint64_t e = entry_.load();
  p.I64(e == kNoEntry ? -1 : static_cast<int64_t>(row[UnpackEntry(e).slot]));
  p.U32(sq_.fitted() ? 1 : 0);
  if (sq_.fitted()) {
    p.F32(sq_.step());
    for (float o : sq_.offsets()) p.F32(o);
  }
  p.U32(kLayoutBlocks);
  // Files of the default graph stay as they were.
  if (options_.alpha != 1.0f) p.F32(options_.alpha);
  VINDEX_RETURN_IF_ERROR(w.WriteSection(io::kTagParams, p.bytes()));

  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagIds, n * sizeof(int64_t)));
  for (uint32_t x : order)
    VINDEX_RETURN_IF_ERROR(w.WritePayload(&ids_[x], sizeof(int64_t)));
  VINDEX_RETURN_IF_ERROR(w.EndSection());

  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagLevel0, n * block_bytes_));
  constexpr size_t kBatch = 64;
  std::vector<char> blocks(kBatch * block_bytes_);
  size_t filled = 0;
  for (uint32_t x : order) {
    char* b = blocks.data() + filled * block_bytes_;
    std::memcpy(b, Block(x), payload_bytes_);
    // Each word read once and checked: a mapped file may have changed.
    const uint32_t* src = Links(x, 0);
    uint32_t* dst = reinterpret_cast<uint32_t*>(b + payload_bytes_);
    const uint32_t cnt = std::min<uint32_t>(LoadLink(src), m0_);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t y = LoadLink(src + 1 + i);
      if (y < num_slots_ && y != x && row[y] != kFreeEpoch)
        dst[1 + kept++] = row[y];
    }
    dst[0] = kept;
    std::fill(dst + 1 + kept, dst + 1 + m0_, 0);
    if (++filled == kBatch) {
      VINDEX_RETURN_IF_ERROR(w.WritePayload(blocks.data(), blocks.size()));
      filled = 0;
    }
  }
  VINDEX_RETURN_IF_ERROR(w.WritePayload(blocks.data(), filled * block_bytes_));
  VINDEX_RETURN_IF_ERROR(w.EndSection());

  if (quantized_) {
    VINDEX_RETURN_IF_ERROR(
        w.BeginSection(io::kTagVectors, n * dim_ * sizeof(float)));
    for (uint32_t x : order) {
      VINDEX_RETURN_IF_ERROR(
          w.WritePayload(FullVector(x), dim_ * sizeof(float)));
    }
    VINDEX_RETURN_IF_ERROR(w.EndSection());
  }

  uint64_t words = 0;
  for (uint32_t x : order) {
    words += 1;
    for (int l = 1; l <= levels_[x]; ++l) words += 1 + Links(x, l)[0];
  }
  VINDEX_RETURN_IF_ERROR(
      w.BeginSection(io::kTagGraph, words * sizeof(uint32_t)));
  std::vector<uint32_t> buf;
  for (uint32_t x : order) {
    buf.clear();
    buf.push_back(levels_[x]);
    for (int l = 1; l <= levels_[x]; ++l) {
      const uint32_t* list = Links(x, l);
      buf.push_back(list[0]);
      for (uint32_t i = 0; i < list[0]; ++i) buf.push_back(row[list[1 + i]]);
    }
    VINDEX_RETURN_IF_ERROR(
        w.WritePayload(buf.data(), buf.size() * sizeof(uint32_t)));
  }
  VINDEX_RETURN_IF_ERROR(w.EndSection());
  return w.Finish();
}

absl::Status HnswIndex::ParseGraph(const std::vector<uint32_t>& graph) {
  const uint32_t n = num_slots_;
  // A node's upper levels take 1 + m words each whatever links they hold, so
  // a file could ask for far more than it contains. A real graph has about
  // 1 / (m - 1) upper levels per node; allowed are as many words as the
  // level-0 blocks hold (at least two levels per node) plus one node's
  // levels up to the top.
  const uint64_t max_upper_words =
      uint64_t{n} * (block_bytes_ / sizeof(uint32_t)) +
      uint64_t{kMaxLevel} * (1 + m_);
  size_t pos = 0;
  const auto need = [&](size_t words) { return graph.size() - pos >= words; };
  for (uint32_t r = 0; r < n; ++r) {
    if (!need(1)) return absl::DataLossError("graph section is truncated");
    const uint32_t level = graph[pos++];
    if (level > kMaxLevel)
      return absl::DataLossError(absl::StrCat("graph level ", level));
    if (upper_words_ + uint64_t{level} * (1 + m_) > max_upper_words) {
      return absl::DataLossError(absl::StrCat(
          "graph declares more upper levels than ", n, " nodes can have"));
    }
    levels_[r] = static_cast<uint8_t>(level);
    if (level > 0) upper_[r].reset(new uint32_t[size_t{level} * (1 + m_)]());
    upper_words_ += size_t{level} * (1 + m_);
    for (uint32_t l = 1; l <= level; ++l) {
      if (!need(1)) return absl::DataLossError("graph section is truncated");
      const uint32_t cnt = graph[pos++];
      if (cnt > static_cast<uint32_t>(Capacity(l)) || !need(cnt)) {
        return absl::DataLossError(
            absl::StrCat("graph row ", r, " has ", cnt, " links"));
      }
      uint32_t* list = Links(r, static_cast<int>(l));
      list[0] = cnt;
      for (uint32_t i = 0; i < cnt; ++i) {
        const uint32_t y = graph[pos++];
        if (y >= n || y == r) {
          return absl::DataLossError(
              absl::StrCat("graph row ", r, " links to ", y));
        }
        list[1 + i] = y;
      }
    }
  }
  if (pos != graph.size())
    return absl::DataLossError("graph section has trailing bytes");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Index>> HnswIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  const uint64_t n = header.count;
  const uint64_t d = header.dim;
  VINDEX_ASSIGN_OR_RETURN(std::string params,
                          reader.ReadSection(io::kTagParams, 1 << 22));
  io::ByteCursor c(params, "HNSW params");
  HnswOptions o;
  o.dim = static_cast<int>(header.dim);
  o.metric = header.metric;
  VINDEX_ASSIGN_OR_RETURN(uint32_t m, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t efc, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t def_ef, c.U32());
  VINDEX_ASSIGN_OR_RETURN(o.seed, c.U64());
  VINDEX_ASSIGN_OR_RETURN(uint32_t traversal, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint64_t counter, c.U64());
  VINDEX_ASSIGN_OR_RETURN(int64_t entry, c.I64());
  VINDEX_ASSIGN_OR_RETURN(uint32_t fitted, c.U32());
  if (m < 2 || m > kMaxM || efc < 1 || efc > uint32_t{kMaxEf} || def_ef < 1 ||
      def_ef > uint32_t{kMaxEf} ||
      traversal > static_cast<uint32_t>(HnswOptions::Traversal::kSq4) ||
      fitted > 1) {
    return absl::DataLossError("HNSW params section has invalid values");
  }
  o.m = static_cast<int>(m);
  o.ef_construction = static_cast<int>(efc);
  o.default_ef = static_cast<int>(def_ef);
  o.traversal = static_cast<HnswOptions::Traversal>(traversal);
  auto created = Create(o);
  if (!created.ok()) {
    return absl::DataLossError(
        absl::StrCat("HNSW params rejected: ", created.status().message()));
  }
  std::unique_ptr<HnswIndex> index = std::move(*created);
  if (fitted) {
    VINDEX_ASSIGN_OR_RETURN(float step, c.F32());
    // The offsets, then the layout word and an optional alpha.
    if (c.remaining() < d * sizeof(float) ||
        c.remaining() > d * sizeof(float) + 2 * sizeof(uint32_t)) {
      return absl::DataLossError(
          "HNSW params section has the wrong quantizer size");
    }
    std::vector<float> offsets(d);
    for (uint64_t j = 0; j < d; ++j) {
      VINDEX_ASSIGN_OR_RETURN(offsets[j], c.F32());
      if (!std::isfinite(offsets[j]))
        return absl::DataLossError("bad quantizer offset");
    }
    if (!(step > 0.0f) || !std::isfinite(step)) {
      return absl::DataLossError("bad quantizer step");
    }
    if (index->sq_bits_ == 0)
      return absl::DataLossError("quantizer in a float HNSW file");
    index->sq_.Set(std::move(offsets), step);
  }
  VINDEX_ASSIGN_OR_RETURN(uint32_t layout, c.U32());
  if (layout != kLayoutBlocks) {
    return absl::DataLossError(
        absl::StrCat("unknown HNSW file layout ", layout));
  }
  if (c.remaining() == sizeof(float)) {
    VINDEX_ASSIGN_OR_RETURN(float alpha, c.F32());
    if (!(alpha > 1.0f && alpha <= hnsw::kMaxAlpha)) {
      return absl::DataLossError("HNSW params section has an invalid alpha");
    }
    index->options_.alpha = alpha;
  }
  VINDEX_RETURN_IF_ERROR(c.ExpectEnd());
  if (n >= std::numeric_limits<uint32_t>::max() - 1) {
    return absl::DataLossError("HNSW file holds too many vectors");
  }
  if (index->sq_bits_ != 0 && n > 0 && !index->sq_.fitted()) {
    return absl::DataLossError(
        "scalar-quantized HNSW file without a quantizer");
  }
  if ((n == 0) != (entry == -1) || entry < -1 ||
      entry >= static_cast<int64_t>(n)) {
    return absl::DataLossError(
        absl::StrCat("HNSW entry point ", entry, " is invalid"));
  }
  const uint32_t rows = static_cast<uint32_t>(n);
  HnswIndex& ix = *index;

  VINDEX_ASSIGN_OR_RETURN(
      uint64_t ids_bytes,
      reader.BeginArraySection(io::kTagIds, n, sizeof(int64_t)));
  // Each length was checked against the bytes remaining, so allocations are
  // bounded by the input's size.
  std::vector<int64_t> ids(n);
  VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ids.data(), ids_bytes));
  VINDEX_RETURN_IF_ERROR(reader.EndSection());

  // Served from the reader's memory when it lends it (a file mapping) and
  // the words are aligned there; copied otherwise.
  VINDEX_ASSIGN_OR_RETURN(
      uint64_t l0_bytes,
      reader.BeginArraySection(io::kTagLevel0, n, ix.block_bytes_));
  const char* view = nullptr;
  std::shared_ptr<const void> owner;
  if (n > 0)
    VINDEX_RETURN_IF_ERROR(reader.ViewPayload(l0_bytes, &view, &owner));
  if (view != nullptr &&
      reinterpret_cast<uintptr_t>(view) % alignof(uint32_t) == 0) {
    ix.ResizeSlotArrays(n);
    ix.level0_ = const_cast<char*>(view);
    ix.mapping_ = std::move(owner);
    ix.capacity_ = rows;
  } else if (n > 0) {
    // Exactly n slots (Grow would round up to at least 64 blocks, which for
    // a few long vectors is far more than the file holds).
    const size_t alloc_bytes = RoundUp(l0_bytes, 64);
    char* blocks = AllocateBlocks(alloc_bytes);
    if (blocks == nullptr) throw std::bad_alloc();
    std::memset(blocks + l0_bytes, 0, alloc_bytes - l0_bytes);
    ix.level0_ = blocks;
    ix.capacity_ = rows;
    ix.ResizeSlotArrays(n);
    if (ix.quantized_) ix.full_.resize(n * d);
    if (view != nullptr) {
      std::memcpy(ix.level0_, view, l0_bytes);
    } else {
      VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ix.level0_, l0_bytes));
    }
  }
  VINDEX_RETURN_IF_ERROR(reader.EndSection());
  if (ix.quantized_) {
    VINDEX_RETURN_IF_ERROR(
        reader.BeginArraySection(io::kTagVectors, n, d * sizeof(float))
            .status());
    const size_t vec_bytes = n * d * sizeof(float);
    view = nullptr;
    if (n > 0 && ix.mapping_ != nullptr)
      VINDEX_RETURN_IF_ERROR(reader.ViewPayload(vec_bytes, &view, &owner));
    if (view != nullptr &&
        reinterpret_cast<uintptr_t>(view) % alignof(float) == 0) {
      ix.full_view_ = reinterpret_cast<const float*>(view);
    } else {
      if (ix.mapping_ != nullptr) ix.full_.resize(n * d);
      if (view != nullptr) {
        std::memcpy(ix.full_.data(), view, vec_bytes);
      } else {
        VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ix.full_.data(), vec_bytes));
      }
    }
    VINDEX_RETURN_IF_ERROR(reader.EndSection());
  }

  VINDEX_ASSIGN_OR_RETURN(uint64_t graph_bytes,
                          reader.BeginSection(io::kTagGraph));
  if (graph_bytes % sizeof(uint32_t) != 0) {
    return absl::DataLossError("graph section length is not a multiple of 4");
  }
  std::vector<uint32_t> graph(graph_bytes / sizeof(uint32_t));
  VINDEX_RETURN_IF_ERROR(reader.ReadPayload(graph.data(), graph_bytes));
  VINDEX_RETURN_IF_ERROR(reader.EndSection());
  VINDEX_RETURN_IF_ERROR(reader.ReadEnd());

  ix.num_slots_ = rows;
  ix.row_of_.ReserveEmpty(n);
  for (uint64_t r = 0; r < n; ++r) {
    ix.ids_[r] = ids[r];
    if (ids[r] == -1 || !ix.row_of_.Insert(static_cast<uint32_t>(r))) {
      return absl::DataLossError(
          absl::StrCat("ids section has invalid or repeated id ", ids[r]));
    }
  }
  VINDEX_RETURN_IF_ERROR(ix.ParseGraph(graph));
  VINDEX_RETURN_IF_ERROR(ix.CheckLevel0(rows));
  VINDEX_RETURN_IF_ERROR(ix.CheckUpperLevels(rows));
  if (n > 0) {
    int max_level = 0;
    for (uint32_t r = 0; r < rows; ++r)
      max_level = std::max<int>(max_level, ix.levels_[r]);
    const uint32_t ep = static_cast<uint32_t>(entry);
    if (ix.levels_[ep] != max_level) {
      return absl::DataLossError("HNSW entry point is not on the top level");
    }
    ix.entry_.store(PackEntry({max_level, ep}));
  }
  for (uint32_t r = 0; r < rows; ++r) ix.epochs_[r] = 0;
  ix.live_ = static_cast<int64_t>(n);
  ix.insert_counter_ = counter;
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace vindex
