// Index's optional operations, the names of the public enums and of the
// active ISA.
#include "vindex/index.h"

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "kernels/kernels.h"

namespace vindex {

absl::Status Index::Remove(absl::Span<const int64_t>) {
  return absl::UnimplementedError(
      absl::StrCat(internal::Sv(IndexFamilyName(info().family)),
                   " does not support Remove"));
}

absl::Status Index::GetVectors(absl::Span<const int64_t>,
                               MatrixView<float>) const {
  return absl::UnimplementedError(
      absl::StrCat(internal::Sv(IndexFamilyName(info().family)),
                   " does not support GetVectors"));
}

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "l2";
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kCosine:
      return "cosine";
  }
  return "unknown";
}

std::string_view DeviceName(Device device) {
  switch (device) {
    case Device::kCpu:
      return "cpu";
    case Device::kGpu:
      return "gpu";
    case Device::kAuto:
      return "auto";
  }
  return "unknown";
}

std::string_view IndexFamilyName(IndexFamily family) {
  switch (family) {
    case IndexFamily::kFlat:
      return "Flat";
    case IndexFamily::kIvfFlat:
      return "IVF-Flat";
    case IndexFamily::kIvfPq:
      return "IVF-PQ";
    case IndexFamily::kHnsw:
      return "HNSW";
    case IndexFamily::kRotated:
      return "Rotated";
  }
  return "unknown";
}

std::string_view ActiveIsaName() {
  return kernels::IsaName(kernels::ActiveIsa());
}

}  // namespace vindex
