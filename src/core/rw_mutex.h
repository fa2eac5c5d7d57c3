#ifndef VINDEX_SRC_CORE_RW_MUTEX_H_
#define VINDEX_SRC_CORE_RW_MUTEX_H_

// The index lock: a writer-preferring reader-writer mutex, with scoped
// reader and writer locks that Clang's -Wthread-safety understands, so
// members can be declared ABSL_GUARDED_BY(mu_).

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace vindex::internal {

// A reader-writer lock that prefers writers: once a writer waits, new
// readers wait behind it. std::shared_mutex (glibc's rwlock) prefers readers,
// so a steady stream of searches could starve Add forever; absl::Mutex is
// fair but invisible to ThreadSanitizer when Abseil is not built with it.
// Meets the SharedMutex requirements; prefer ReaderLock / WriterLock below,
// which the thread-safety analysis can follow (std::shared_lock cannot).
// Thread safety: that is its purpose.
class ABSL_LOCKABLE RwMutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    std::unique_lock<std::mutex> l(m_);
    ++waiting_writers_;
    cv_.wait(l, [&] { return !writer_ && readers_ == 0; });
    --waiting_writers_;
    writer_ = true;
  }
  void unlock() ABSL_UNLOCK_FUNCTION() {
    {
      std::lock_guard<std::mutex> l(m_);
      writer_ = false;
    }
    cv_.notify_all();
  }
  void lock_shared() ABSL_SHARED_LOCK_FUNCTION() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return !writer_ && waiting_writers_ == 0; });
    ++readers_;
  }
  void unlock_shared() ABSL_UNLOCK_FUNCTION() {
    bool last;
    {
      std::lock_guard<std::mutex> l(m_);
      last = --readers_ == 0;
    }
    if (last) cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int readers_ = 0;
  int waiting_writers_ = 0;
  bool writer_ = false;
};

// Holds `mu` shared for its lifetime (searches, Save, GetVectors).
class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(RwMutex& mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_.lock_shared();
  }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  RwMutex& mu_;
};

// Holds `mu` exclusively for its lifetime (Add, Remove, Train).
class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(RwMutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_.lock();
  }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  RwMutex& mu_;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_RW_MUTEX_H_
