// An in-memory file (memfd) holding the current fuzz input, for the readers
// that take a path: each input replaces the file's contents and is read back
// through /proc/self/fd, so fuzzing never touches the disk.
#ifndef VINDEX_TESTS_FUZZ_FUZZ_INPUT_FILE_H_
#define VINDEX_TESTS_FUZZ_FUZZ_INPUT_FILE_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace vindex_fuzz {

// Makes the open file `fd` hold exactly `data`; aborts on any failure, since
// the harness cannot go on without its input.
inline void ReplaceContents(int fd, const uint8_t* data, size_t size) {
  if (ftruncate(fd, 0) != 0) std::abort();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pwrite(fd, data + done, size - done, done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
}

class FuzzInputFile {
 public:
  FuzzInputFile() : fd_(memfd_create("vindex_fuzz_input", 0)) {
    if (fd_ < 0) std::abort();  // The harness cannot run without it.
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }

  // Replaces the file's contents with `data` and returns its path.
  const std::string& Write(const uint8_t* data, size_t size) {
    ReplaceContents(fd_, data, size);
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace vindex_fuzz

#endif  // VINDEX_TESTS_FUZZ_FUZZ_INPUT_FILE_H_
