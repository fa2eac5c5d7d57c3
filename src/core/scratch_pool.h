#ifndef VINDEX_SRC_CORE_SCRATCH_POOL_H_
#define VINDEX_SRC_CORE_SCRATCH_POOL_H_

#include <memory>
#include <mutex>
#include <vector>

namespace vindex::internal {

// A growable pool of per-query scratch objects (visited sets, heaps, lookup
// tables). Acquire() hands out a free object or makes a new one; the handle
// returns it on destruction. There are never slots indexed by thread.
// Thread safety: Acquire may be called concurrently; the pool must outlive
// its handles.
template <typename T>
class ScratchPool {
 public:
  class Handle {
   public:
    Handle(ScratchPool* pool, std::unique_ptr<T> obj)
        : pool_(pool), obj_(std::move(obj)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() {
      if (obj_) pool_->Release(std::move(obj_));
    }
    T* get() const { return obj_.get(); }
    T* operator->() const { return obj_.get(); }
    T& operator*() const { return *obj_; }

   private:
    ScratchPool* pool_;
    std::unique_ptr<T> obj_;
  };

  Handle Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<T> obj = std::move(free_.back());
        free_.pop_back();
        return Handle(this, std::move(obj));
      }
    }
    return Handle(this, std::make_unique<T>());
  }

 private:
  void Release(std::unique_ptr<T> obj) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(obj));
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_SCRATCH_POOL_H_
