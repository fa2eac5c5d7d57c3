#ifndef VINDEX_SRC_CORE_MUTEX_H_
#define VINDEX_SRC_CORE_MUTEX_H_

// A plain exclusive mutex and its scoped lock, declared as a capability so
// that Clang's -Wthread-safety checks members ABSL_GUARDED_BY it.

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace vindex::internal {

// std::mutex with lock annotations; same semantics (not recursive, not fair).
// Thread safety: that is its purpose.
class ABSL_LOCKABLE Mutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { m_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { m_.unlock(); }

 private:
  std::mutex m_;
};

// Holds `mu` for its lifetime.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_.lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_MUTEX_H_
