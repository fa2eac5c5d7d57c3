// libFuzzer target: LoadIndex over arbitrary bytes must never crash, hang or
// leak; when it succeeds the index must answer a search. Each input is loaded
// twice: through MemoryReader (every section copied) and through a reader
// that lends its memory the way MappedFileReader lends a file mapping, so the
// zero-copy paths of memory-mapped loading are fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "vindex/index.h"

namespace {

// Lends views of a heap copy of the input (owned through a shared_ptr, as a
// mapping is), so indexes may keep pointing into it after loading.
class LendingReader final : public vindex::Reader {
 public:
  LendingReader(const uint8_t* data, size_t size)
      : bytes_(std::make_shared<std::vector<char>>(data, data + size)) {}
  absl::Status Read(void* data, size_t size) override {
    if (size > remaining()) return absl::DataLossError("truncated");
    if (size > 0) std::memcpy(data, bytes_->data() + pos_, size);
    pos_ += size;
    return absl::OkStatus();
  }
  uint64_t remaining() const override { return bytes_->size() - pos_; }
  const char* ReadView(size_t size,
                       std::shared_ptr<const void>* owner) override {
    if (size > remaining()) return nullptr;
    const char* p = bytes_->data() + pos_;
    pos_ += size;
    *owner = bytes_;
    return p;
  }

 private:
  std::shared_ptr<std::vector<char>> bytes_;
  size_t pos_ = 0;
};

void LoadAndSearch(vindex::Reader& reader) {
  auto index = vindex::LoadIndex(reader);
  if (!index.ok()) return;
  const int dim = (*index)->info().dim;
  if (dim > 4096) return;  // Keep each input cheap.
  std::vector<float> query(dim, 0.5f);
  int64_t ids[3];
  float dist[3];
  (void)(*index)->Search(vindex::MatrixView<const float>(query.data(), 1, dim),
                         vindex::SearchParams{.k = 3},
                         {vindex::MatrixView<int64_t>(ids, 1, 3),
                          vindex::MatrixView<float>(dist, 1, 3)});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vindex::MemoryReader copying(
      std::string_view(reinterpret_cast<const char*>(data), size));
  LoadAndSearch(copying);
  LendingReader lending(data, size);
  LoadAndSearch(lending);
  return 0;
}
