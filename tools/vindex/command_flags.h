#ifndef VINDEX_TOOLS_VINDEX_COMMAND_FLAGS_H_
#define VINDEX_TOOLS_VINDEX_COMMAND_FLAGS_H_

// Flags that several subcommands declare the same way, and the help text on
// input formats and exit codes they share.

#include "args.h"

namespace vindex::cli {

inline const FlagSpec kThreads{"threads", "N",
                               "Threads to use (default: all cores)."};
inline const FlagSpec kK{"k", "N", "Neighbours per query (default 10)."};
inline const FlagSpec kNprobe{
    "nprobe", "N", "IVF: lists scanned per query (default: the index's)."};
inline const FlagSpec kEf{"ef", "N",
                          "HNSW: candidate list size (default: the index's)."};
inline const FlagSpec kRerank{
    "rerank", "N", "IVF-PQ with Rerank: re-rank k*N candidates exactly."};
inline const FlagSpec kMmap{"mmap", "",
                            "Memory-map the index file instead of reading it."};
inline const FlagSpec kIndex{"index", "FILE",
                             "Index file written by 'vindex build'."};
inline const FlagSpec kQueries{"queries", "FILE",
                               "Query vectors (.fvecs, .bvecs, .npy, .hdf5)."};
inline const FlagSpec kGroundTruth{
    "groundtruth", "FILE",
    "True neighbour ids per query, best first (.ivecs, .npy, .hdf5)."};
inline const FlagSpec kBase{
    "base", "FILE",
    "Base vectors: ground truth is computed exactly from them."};
inline const FlagSpec kMetric{"metric", "l2|ip|cosine",
                              "Distance (default l2)."};

inline constexpr char kFormats[] =
    "Vector files: .fvecs, .bvecs (uint8), .npy (float32/float64/uint8, 2-D, "
    "C\n"
    "order) and, when built with HDF5, ann-benchmarks .hdf5 files (FILE.hdf5\n"
    "takes train/test/neighbors by role; FILE.hdf5:NAME a named dataset).\n"
    "Exit codes: 0 ok, 1 runtime error, 2 bad arguments.";

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_COMMAND_FLAGS_H_
