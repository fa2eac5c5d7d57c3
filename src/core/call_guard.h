#ifndef VINDEX_SRC_CORE_CALL_GUARD_H_
#define VINDEX_SRC_CORE_CALL_GUARD_H_

// Turns what escapes a public entry point into a Status, and refuses calls
// that re-enter an index from inside one of its own calls (a filter predicate
// calling back into the index it filters): such a call would take the index's
// lock again, which deadlocks once a writer waits (RwMutex prefers writers and
// is not re-entrant).

#include <exception>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vindex::internal {

// One frame of the chain of index calls the current thread is inside of,
// innermost first. Frames live on the stack of GuardedCall.
struct CallFrame {
  const void* index;
  const CallFrame* outer;
};

// The current thread's chain (null when it is inside no index call).
const CallFrame* CurrentCallFrames();

// Makes `frames` the current thread's chain for this object's lifetime, so a
// task run on an executor thread counts as inside the calls that started it.
class AdoptCallFrames {
 public:
  explicit AdoptCallFrames(const CallFrame* frames);
  ~AdoptCallFrames();
  AdoptCallFrames(const AdoptCallFrames&) = delete;
  AdoptCallFrames& operator=(const AdoptCallFrames&) = delete;

 private:
  const CallFrame* saved_;
};

// True when the current thread is inside a call on `index`.
bool InsideCallOn(const void* index);

// Runs body() (returning absl::Status) as the public call `what` on `index`:
//  - FailedPrecondition, without running body, when this thread is already
//    inside a call on the same index;
//  - ResourceExhausted when body throws std::bad_alloc (memory ran out);
//  - Unknown with the message when body throws anything else (for example a
//    filter predicate that throws).
// body must leave the index as it was when it throws.
template <typename Body>
absl::Status GuardedCall(const void* index, absl::string_view what,
                         Body&& body) {
  if (InsideCallOn(index)) {
    return absl::FailedPreconditionError(absl::StrCat(
        what,
        " called from inside another call on the same index (for "
        "example from its filter predicate); this would deadlock"));
  }
  CallFrame frame{index, CurrentCallFrames()};
  AdoptCallFrames scope(&frame);
  try {
    return std::forward<Body>(body)();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " ran out of memory"));
  } catch (const std::exception& e) {
    return absl::UnknownError(
        absl::StrCat(what, " failed: exception: ", e.what()));
  } catch (...) {
    return absl::UnknownError(
        absl::StrCat(what, " failed: an exception of unknown type"));
  }
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_CALL_GUARD_H_
