// Block-level k-selection for k <= 1024 (one template instantiation per
// power-of-two capacity K, all in this file).
//
// One 256-thread block handles one (row, chunk). The block keeps its best K
// entries sorted in shared memory, followed by a candidate buffer. Each round
// every thread loads 8 entries (all loads issued before any is used) and
// keeps in registers the current k-th best (value, id); only entries ahead of
// it are appended to the buffer (a shared atomic counter). When the buffer
// could overflow in the next round, the block sorts best + buffer with a
// bitonic network, keeps the first K and tightens the threshold. On random
// data the threshold drops quickly, so almost every entry is rejected by one
// register comparison and the kernel runs at load bandwidth.

#include "select_k_common.cuh"

namespace vindex::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 8;  // Loads in flight per thread.
constexpr int kRound = kThreads * kPerThread;  // Entries per round.
constexpr int kSortCapacity = 4096;            // Best K + buffer, in entries.

__device__ __forceinline__ int NextPow2(int x) {
  int p = 1;
  while (p < x) p <<= 1;
  return p;
}

// Merges the buffer into the best list; updates the threshold (the k-th best).
template <int K>
__device__ __forceinline__ void Flush(float* sv, int* si, int* count, int k,
                                      float* thr_v, int* thr_i) {
  const int n = *count;  // Stable: every append happened before a barrier.
  if (n > 0) {
    const int total = NextPow2(K + n);
    for (int i = K + n + threadIdx.x; i < total; i += blockDim.x) {
      sv[i] = __int_as_float(0x7f800000);
      si[i] = kEmptyId;
    }
    __syncthreads();
    BlockBitonicSort(sv, si, total);
  }
  *thr_v = sv[k - 1];
  *thr_i = si[k - 1];
  __syncthreads();  // Everyone has read count and the threshold.
  if (threadIdx.x == 0) *count = 0;
  __syncthreads();
}

template <int K>
__global__ void __launch_bounds__(kThreads)
    BlockSelectKernel(SelectKArgs a, int64_t nchunks) {
  static_assert(kSortCapacity - K > kRound, "buffer too small");
  __shared__ float sv[kSortCapacity];
  __shared__ int si[kSortCapacity];
  __shared__ int count;
  constexpr int kBuffer = kSortCapacity - K;

  const int64_t r = blockIdx.x / nchunks;
  const int64_t chunk_index = blockIdx.x % nchunks;
  const int64_t begin = chunk_index * a.chunk;
  const int64_t end = min(a.cols, begin + a.chunk);
  const float* row = a.dist + r * a.ld;
  const int32_t* idx_row = a.in_idx != nullptr ? a.in_idx + r * a.ld : nullptr;
  const int tid = threadIdx.x;

  for (int i = tid; i < K; i += kThreads) {
    sv[i] = __int_as_float(0x7f800000);
    si[i] = kEmptyId;
  }
  if (tid == 0) count = 0;
  __syncthreads();

  float thr_v = __int_as_float(0x7f800000);
  int thr_i = kEmptyId;
  for (int64_t base = begin; base < end; base += kRound) {
    float v[kPerThread];
    int id[kPerThread];
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t c = base + j * kThreads + tid;
      if (c < end) {
        FetchEntry(a, row, idx_row, c, &v[j], &id[j]);
      } else {
        v[j] = __int_as_float(0x7fc00000);  // NaN: never selected.
        id[j] = kEmptyId;
      }
    }
    int last_pos = -1;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      if (Before(v[j], id[j], thr_v, thr_i)) {
        const int pos = atomicAdd(&count, 1);
        sv[K + pos] = v[j];
        si[K + pos] = id[j];
        last_pos = pos;
      }
    }
    // After this barrier count <= last_pos + 1 of some thread; flush when
    // the next round could overflow the buffer.
    if (__syncthreads_or(last_pos >= kBuffer - kRound - 1)) {
      Flush<K>(sv, si, &count, a.k, &thr_v, &thr_i);
    }
  }
  __syncthreads();
  Flush<K>(sv, si, &count, a.k, &thr_v, &thr_i);
  WriteResult(a, r, chunk_index, sv, si);
}

template <int K>
cudaError_t Launch(const SelectKArgs& a, int64_t nchunks, cudaStream_t stream) {
  const int64_t blocks = a.rows * nchunks;
  BlockSelectKernel<K>
      <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a, nchunks);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchBlockSelect(const SelectKArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0 || a.k <= 0 || a.k > kBlockSelectMaxK ||
      a.chunk <= 0) {
    return cudaErrorInvalidValue;
  }
  const int64_t nchunks = (a.cols + a.chunk - 1) / a.chunk;
  if (a.rows * nchunks > INT_MAX) return cudaErrorInvalidConfiguration;
  if (a.k <= 32) return Launch<32>(a, nchunks, stream);
  if (a.k <= 64) return Launch<64>(a, nchunks, stream);
  if (a.k <= 128) return Launch<128>(a, nchunks, stream);
  if (a.k <= 256) return Launch<256>(a, nchunks, stream);
  if (a.k <= 512) return Launch<512>(a, nchunks, stream);
  return Launch<1024>(a, nchunks, stream);
}

}  // namespace vindex::cuda
