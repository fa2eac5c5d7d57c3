#ifndef VINDEX_SRC_CORE_STATUS_MACROS_H_
#define VINDEX_SRC_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` yields a non-OK status.
#define VINDEX_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status vindex_status_ = (expr);          \
    if (!vindex_status_.ok()) return vindex_status_; \
  } while (0)

#define VINDEX_CONCAT_INNER_(a, b) a##b
#define VINDEX_CONCAT_(a, b) VINDEX_CONCAT_INNER_(a, b)

// `lhs = value of expr`, or returns its error status.
#define VINDEX_ASSIGN_OR_RETURN(lhs, expr)                                  \
  VINDEX_ASSIGN_OR_RETURN_IMPL_(VINDEX_CONCAT_(vindex_statusor_, __LINE__), \
                                lhs, expr)
#define VINDEX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

#endif  // VINDEX_SRC_CORE_STATUS_MACROS_H_
