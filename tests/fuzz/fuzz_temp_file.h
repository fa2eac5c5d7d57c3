// A per-process file holding the current fuzz input, for readers that must
// open a real path: the HDF5 library resolves symbolic links, so the memfd
// behind /proc/self/fd (fuzz_input_file.h) cannot be opened by name. The
// file is removed when the process exits normally.
#ifndef VINDEX_TESTS_FUZZ_FUZZ_TEMP_FILE_H_
#define VINDEX_TESTS_FUZZ_FUZZ_TEMP_FILE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_input_file.h"

namespace vindex_fuzz {

// A path for this process's scratch file `name`: in /dev/shm (memory) when
// it exists, else in TMPDIR or /tmp.
inline std::string FuzzTempPath(const std::string& name) {
  struct stat st;
  std::string dir = "/dev/shm";
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  return dir + "/vindex_fuzz_" + std::to_string(getpid()) + "_" + name;
}

class FuzzTempFile {
 public:
  explicit FuzzTempFile(const std::string& name) : path_(FuzzTempPath(name)) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) std::abort();  // The harness cannot run without it.
  }
  ~FuzzTempFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  FuzzTempFile(const FuzzTempFile&) = delete;
  FuzzTempFile& operator=(const FuzzTempFile&) = delete;

  // Replaces the file's contents with `data` and returns its path.
  const std::string& Write(const uint8_t* data, size_t size) {
    ReplaceContents(fd_, data, size);
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace vindex_fuzz

#endif  // VINDEX_TESTS_FUZZ_FUZZ_TEMP_FILE_H_
