// gpu_or_cpu: one binary for machines with and without a GPU. The device is
// an option of the index, chosen at run time: Device::kAuto takes the GPU
// when one is usable and the CPU otherwise, and info().device reports which
// one was picked. Build: part of the default build (examples/gpu_or_cpu).
//
// Works in a build without CUDA (-DVINDEX_CUDA=OFF) and on machines without
// a GPU: CudaDeviceCount() is then 0 and kAuto falls back to the CPU. The GPU
// path has never run on a GPU: it is unverified until cuda/device_check.sh
// passes on one (cuda/README.md).
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vindex/vindex.h"

int main() {
  const int dim = 32;
  const int64_t n = 5000;
  const int k = 3;

  // 1. What this process can use. 0 means "no GPU" (no driver, no device,
  // or a build without CUDA); it is not an error.
  const int gpus = vindex::CudaDeviceCount();
  std::printf("usable GPUs: %d\n", gpus);

  // 2. Ask for "GPU if possible" with an options struct (MakeIndex(IndexSpec))
  // rather than a factory string, which always means the CPU.
  auto made = vindex::MakeIndex(
      vindex::FlatOptions{.dim = dim, .device = vindex::Device::kAuto});
  if (!made.ok()) {
    std::fprintf(stderr, "MakeIndex: %s\n", made.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<vindex::Index> index = std::move(*made);
  const vindex::IndexInfo info = index->info();
  // info().device is kCpu or kGpu, never kAuto: it says where the index is.
  std::printf("Device::kAuto picked: %s (%s)\n",
              std::string(vindex::DeviceName(info.device)).c_str(),
              info.description.c_str());
  if (gpus == 0 && info.device != vindex::Device::kCpu) {
    std::fprintf(stderr, "expected the CPU without a GPU\n");
    return 2;
  }

  // 3. The rest of the code does not care where the index lives.
  std::mt19937 rng(11);
  std::normal_distribution<float> gauss;
  std::vector<float> vectors(n * dim);
  for (float& x : vectors) x = gauss(rng);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  if (absl::Status s = index->Add(
          vindex::MatrixView<const float>(vectors.data(), n, dim), ids);
      !s.ok()) {
    std::fprintf(stderr, "Add: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<int64_t> out_ids(k);
  std::vector<float> out_dist(k);
  vindex::SearchOutput out{vindex::MatrixView<int64_t>(out_ids.data(), 1, k),
                           vindex::MatrixView<float>(out_dist.data(), 1, k)};
  if (absl::Status s = index->Search(
          vindex::MatrixView<const float>(vectors.data() + 7 * dim, 1, dim),
          vindex::SearchParams{.k = k}, out);
      !s.ok()) {
    std::fprintf(stderr, "Search: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("nearest to id 7 on the %s: %lld\n",
              std::string(vindex::DeviceName(info.device)).c_str(),
              static_cast<long long>(out_ids[0]));
  if (out_ids[0] != 7) return 3;

  // 4. Demanding the GPU (Device::kGpu) never falls back silently: without
  // one, MakeIndex returns an error status saying why. Callers that must
  // run on a GPU check it; this example only shows it.
  auto gpu_only = vindex::MakeIndex(
      vindex::FlatOptions{.dim = dim, .device = vindex::Device::kGpu});
  if (gpu_only.ok()) {
    std::printf(
        "Device::kGpu: got an index on the %s\n",
        std::string(vindex::DeviceName((*gpu_only)->info().device)).c_str());
  } else {
    std::printf("Device::kGpu without a usable GPU: %s\n",
                gpu_only.status().ToString().c_str());
  }
  return 0;
}
