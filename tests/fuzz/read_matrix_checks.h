// Invariants of a matrix a vector-file reader accepted, for the reader
// fuzzers: violations abort, which libFuzzer reports as a finding.
#ifndef VINDEX_TESTS_FUZZ_READ_MATRIX_CHECKS_H_
#define VINDEX_TESTS_FUZZ_READ_MATRIX_CHECKS_H_

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include "absl/status/statusor.h"
#include "vindex/vector_files.h"

namespace vindex_fuzz {

// rows * cols elements, no more rows than asked for (max_rows 0: any), and,
// when `finite` is set, only finite floats.
template <typename T>
void CheckReadMatrix(const absl::StatusOr<vindex::Matrix<T>>& m,
                     int64_t max_rows, bool finite) {
  if (!m.ok()) return;
  if (m->rows < 0 || m->cols < 0 ||
      m->data.size() != static_cast<size_t>(m->rows * m->cols) ||
      (max_rows > 0 && m->rows > max_rows)) {
    std::abort();
  }
  if constexpr (std::is_same_v<T, float>) {
    if (!finite) return;
    for (float x : m->data) {
      if (!std::isfinite(x)) std::abort();
    }
  }
}

}  // namespace vindex_fuzz

#endif  // VINDEX_TESTS_FUZZ_READ_MATRIX_CHECKS_H_
