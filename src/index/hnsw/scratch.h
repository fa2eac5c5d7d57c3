// The per-query (and per-insert) working memory of HNSW, pooled by the index.
#ifndef VINDEX_SRC_INDEX_HNSW_SCRATCH_H_
#define VINDEX_SRC_INDEX_HNSW_SCRATCH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/scratch_pool.h"
#include "core/topk.h"
#include "core/visited_set.h"
#include "index/hnsw/hnsw_index.h"

namespace vindex {

// Per-query (or per-insert) scratch, from scratch_.
struct HnswIndex::Scratch {
  internal::VisitedSet visited;
  std::vector<Candidate> candidates;   // Min-heap by d.
  std::vector<Candidate> results;      // Max-heap by d, at most ef.
  std::vector<uint32_t> batch;         // Unvisited neighbours of one node.
  std::vector<Candidate> select;       // Neighbour selection of an insert.
  std::vector<Candidate> passed_over;  // Its candidates the strict test pruned.
  std::vector<Candidate> prune;        // Pruning a full list in Connect.
  std::vector<Candidate> prune_candidates;  // Connect: before pruning.
  std::vector<Candidate> chosen;   // An insert's lists, top level first.
  std::vector<size_t> chosen_end;  // Per level: end of its list in chosen.
  std::vector<uint8_t> qcode;      // Quantized query.
  internal::TopK top;

  // Called by the pool: buffers a huge ef grew are not kept. (The visited
  // set is sized by the index, not by the request, and stays.)
  void Trim() {
    internal::ReleaseIfAbove(candidates);
    internal::ReleaseIfAbove(results);
    internal::ReleaseIfAbove(batch);
    internal::ReleaseIfAbove(select);
    internal::ReleaseIfAbove(passed_over);
    internal::ReleaseIfAbove(prune);
    internal::ReleaseIfAbove(prune_candidates);
    top.ReleaseIfAbove(internal::kMaxPooledBufferBytes);
  }
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_SCRATCH_H_
