#ifndef VINDEX_SRC_CORE_RW_MUTEX_H_
#define VINDEX_SRC_CORE_RW_MUTEX_H_

#include <condition_variable>
#include <mutex>

namespace vindex::internal {

// A reader-writer lock that prefers writers: once a writer waits, new
// readers wait behind it. std::shared_mutex (glibc's rwlock) prefers readers,
// so a steady stream of searches could starve Add forever; absl::Mutex is
// fair but invisible to ThreadSanitizer when Abseil is not built with it.
// Meets the SharedMutex requirements (use std::shared_lock / unique_lock).
// Thread safety: that is its purpose.
class RwMutex {
 public:
  void lock() {
    std::unique_lock<std::mutex> l(m_);
    ++waiting_writers_;
    cv_.wait(l, [&] { return !writer_ && readers_ == 0; });
    --waiting_writers_;
    writer_ = true;
  }
  void unlock() {
    {
      std::lock_guard<std::mutex> l(m_);
      writer_ = false;
    }
    cv_.notify_all();
  }
  void lock_shared() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return !writer_ && waiting_writers_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
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

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_RW_MUTEX_H_
