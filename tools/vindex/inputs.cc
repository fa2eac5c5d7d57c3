#include "inputs.h"

#include <string>

namespace vindex::cli {
namespace {

// Splits "FILE.hdf5[:NAME]"; false when the path is not an HDF5 one.
bool SplitHdf5(const std::string& path, Role role, std::string* file,
               std::string* dataset) {
  for (const char* ext : {".hdf5", ".h5"}) {
    size_t at = path.rfind(std::string(ext));
    if (at == std::string::npos) continue;
    size_t end = at + std::string(ext).size();
    if (end == path.size()) {
      *file = path;
      switch (role) {
        case Role::kBase:
          *dataset = "train";
          break;
        case Role::kQueries:
          *dataset = "test";
          break;
        case Role::kGroundTruth:
          *dataset = "neighbors";
          break;
        case Role::kIds:
          *dataset = "ids";
          break;
      }
      return true;
    }
    if (path[end] == ':') {
      *file = path.substr(0, end);
      *dataset = path.substr(end + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

#if !defined(VINDEX_TOOL_HAVE_HDF5)
namespace {
absl::Status NoHdf5(const std::string& path) {
  return absl::InvalidArgumentError(
      path +
      ": this vindex tool was built without HDF5 (install libhdf5-dev "
      "and rebuild, or convert the file to .fvecs/.npy)");
}

}  // namespace

bool HaveHdf5() { return false; }
absl::StatusOr<FloatMatrix> ReadHdf5Float(const std::string& file,
                                          const std::string&, int64_t) {
  return NoHdf5(file);
}
absl::StatusOr<Int32Matrix> ReadHdf5Int(const std::string& file,
                                        const std::string&, int64_t) {
  return NoHdf5(file);
}
#endif

absl::StatusOr<FloatMatrix> ReadVectorsFile(const std::string& path, Role role,
                                            int64_t max_rows) {
  std::string file, dataset;
  if (SplitHdf5(path, role, &file, &dataset)) {
    return ReadHdf5Float(file, dataset, max_rows);
  }
  return ReadFloatVectors(path, {.max_rows = max_rows});
}

absl::StatusOr<Int32Matrix> ReadIntFile(const std::string& path, Role role,
                                        int64_t max_rows) {
  std::string file, dataset;
  if (SplitHdf5(path, role, &file, &dataset)) {
    return ReadHdf5Int(file, dataset, max_rows);
  }
  return ReadIntVectors(path, {.max_rows = max_rows});
}

}  // namespace vindex::cli
