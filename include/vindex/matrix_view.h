#ifndef VINDEX_MATRIX_VIEW_H_
#define VINDEX_MATRIX_VIEW_H_

#include <cstdint>
#include <type_traits>
#include <vector>

namespace vindex {

// A non-owning, row-major view of a matrix: `rows` rows of `cols` elements,
// row i starting at `data + i * stride` (stride >= cols, in elements).
// The caller keeps the memory alive for as long as the view is used.
// A view is a value type; copying it copies the pointer, not the data.
template <typename T>
struct MatrixView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;  // 0 means "cols" (dense rows).

  MatrixView() = default;
  MatrixView(T* data, int64_t rows, int64_t cols, int64_t stride = 0)
      : data(data),
        rows(rows),
        cols(cols),
        stride(stride == 0 ? cols : stride) {}

  // A view of const elements converts implicitly from a mutable view.
  template <typename U,
            typename = std::enable_if_t<std::is_same_v<const U, T> &&
                                        !std::is_same_v<U, T>>>
  MatrixView(const MatrixView<U>& other)  // NOLINT(google-explicit-constructor)
      : data(other.data),
        rows(other.rows),
        cols(other.cols),
        stride(other.stride) {}

  int64_t row_stride() const { return stride == 0 ? cols : stride; }
  T* row(int64_t i) const { return data + i * row_stride(); }
  T& at(int64_t i, int64_t j) const { return row(i)[j]; }
  bool empty() const { return rows == 0; }
};

// A dense row-major matrix that owns its elements.
// Thread safety: like std::vector (concurrent reads are safe).
template <typename T>
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<T> data;  // rows * cols elements.

  MatrixView<const T> view() const { return {data.data(), rows, cols}; }
  MatrixView<T> mutable_view() { return {data.data(), rows, cols}; }
  const T* row(int64_t i) const { return data.data() + i * cols; }
};

}  // namespace vindex

#endif  // VINDEX_MATRIX_VIEW_H_
