#include "core/call_guard.h"

namespace vindex::internal {
namespace {

thread_local const CallFrame* current_frames = nullptr;

}  // namespace

const CallFrame* CurrentCallFrames() { return current_frames; }

AdoptCallFrames::AdoptCallFrames(const CallFrame* frames)
    : saved_(current_frames) {
  current_frames = frames;
}

AdoptCallFrames::~AdoptCallFrames() { current_frames = saved_; }

bool InsideCallOn(const void* index) {
  for (const CallFrame* f = current_frames; f != nullptr; f = f->outer) {
    if (f->index == index) return true;
  }
  return false;
}

}  // namespace vindex::internal
