#ifndef VINDEX_TOOLS_VINDEX_INPUTS_H_
#define VINDEX_TOOLS_VINDEX_INPUTS_H_

// Reading the tool's input files: everything vindex/vector_files.h reads,
// plus ann-benchmarks HDF5 files when the tool is built with HDF5
// ("FILE.hdf5" takes the dataset matching the role, "FILE.hdf5:NAME" a
// named one).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "vindex/vector_files.h"

namespace vindex::cli {

enum class Role { kBase, kQueries, kGroundTruth, kIds };

// Float vectors (base or queries).
absl::StatusOr<FloatMatrix> ReadVectorsFile(const std::string& path, Role role,
                                            int64_t max_rows = 0);
// Integer rows (ground truth or ids).
absl::StatusOr<Int32Matrix> ReadIntFile(const std::string& path, Role role,
                                        int64_t max_rows = 0);

bool HaveHdf5();

// Implemented in hdf5_input.cc when HDF5 is available.
absl::StatusOr<FloatMatrix> ReadHdf5Float(const std::string& file,
                                          const std::string& dataset,
                                          int64_t max_rows);
absl::StatusOr<Int32Matrix> ReadHdf5Int(const std::string& file,
                                        const std::string& dataset,
                                        int64_t max_rows);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_INPUTS_H_
