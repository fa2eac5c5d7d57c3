// Radix k-selection for large k (up to 4096), one 1024-thread block per
// (row, chunk).
//
// Values map to 32-bit keys whose unsigned order is the float order (sign
// flipped for positives, all bits flipped for negatives; -0 is taken as +0;
// excluded entries get the key 0xffffffff, which no float reaches, and are
// skipped). Four passes build a shared-memory histogram of the next 8 bits
// among keys that share the prefix found so far, and narrow the prefix to the
// bucket holding the k-th smallest key. A last sweep gathers every entry
// below that key (in any order) and, in column order, as many entries equal
// to it as are still needed, so ties keep the smaller ids as on the CPU. The
// k gathered entries are then sorted by (value, id) in shared memory.

#include "select_k_common.cuh"

namespace vindex::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr uint32_t kExcludedKey = 0xffffffffu;

__device__ __forceinline__ uint32_t KeyOf(float v) {
  if (v != v) return kExcludedKey;  // NaN.
  uint32_t b = __float_as_uint(v);
  if (b == 0x80000000u) b = 0;  // -0 == +0.
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__global__ void __launch_bounds__(kThreads)
    RadixSelectKernel(SelectKArgs a, int64_t nchunks, int sort_size) {
  extern __shared__ float smem[];
  float* sv = smem;
  int* si = reinterpret_cast<int*>(smem + sort_size);
  __shared__ int hist[256];
  __shared__ uint32_t s_prefix;
  __shared__ int s_need;  // Entries still to take at the prefix.
  __shared__ int s_take;  // k clipped to the valid entries.
  __shared__ int s_less;  // Slots filled by entries below the k-th key.
  __shared__ int warp_total[kThreads / 32];

  const int64_t r = blockIdx.x / nchunks;
  const int64_t chunk_index = blockIdx.x % nchunks;
  const int64_t begin = chunk_index * a.chunk;
  const int64_t end = min(a.cols, begin + a.chunk);
  const float* row = a.dist + r * a.ld;
  const int32_t* idx_row = a.in_idx != nullptr ? a.in_idx + r * a.ld : nullptr;
  const int tid = threadIdx.x;

  uint32_t prefix = 0;
  uint32_t prefix_mask = 0;
  int need = a.k;
  int take = 0;
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = 24 - 8 * pass;
    for (int i = tid; i < 256; i += kThreads) hist[i] = 0;
    __syncthreads();
    for (int64_t c = begin + tid; c < end; c += kThreads) {
      float v;
      int id;
      FetchEntry(a, row, idx_row, c, &v, &id);
      const uint32_t key = KeyOf(v);
      if (key != kExcludedKey && (key & prefix_mask) == prefix) {
        atomicAdd(&hist[(key >> shift) & 255], 1);
      }
    }
    __syncthreads();
    if (tid == 0) {
      int n = need;
      if (pass == 0) {
        int valid = 0;
        for (int b = 0; b < 256; ++b) valid += hist[b];
        n = min(n, valid);
        s_take = n;
      }
      uint32_t p = prefix;
      if (n > 0) {
        int cum = 0;
        for (int b = 0; b < 256; ++b) {
          if (cum + hist[b] >= n) {
            p |= static_cast<uint32_t>(b) << shift;
            n -= cum;
            break;
          }
          cum += hist[b];
        }
      }
      s_prefix = p;
      s_need = n;
    }
    __syncthreads();
    prefix = s_prefix;
    prefix_mask |= 0xffu << shift;
    need = s_need;
    take = s_take;
    __syncthreads();
    if (take == 0) break;  // Uniform: nothing valid in this chunk.
  }

  // prefix is now the k-th smallest key; `need` entries equal to it are
  // taken, the smallest columns first, after the take - need smaller ones.
  const int less_total = take - need;
  if (tid == 0) s_less = 0;
  __syncthreads();
  int equal_base = 0;  // Equal entries seen in earlier rounds (uniform).
  for (int64_t base = begin; take > 0 && base < end; base += kThreads) {
    const int64_t c = base + tid;
    float v = 0.0f;
    int id = kEmptyId;
    uint32_t key = kExcludedKey;
    if (c < end) {
      FetchEntry(a, row, idx_row, c, &v, &id);
      key = KeyOf(v);
    }
    if (key != kExcludedKey && key < prefix) {
      const int pos = atomicAdd(&s_less, 1);
      sv[pos] = v;
      si[pos] = id;
    }
    const bool equal = key != kExcludedKey && key == prefix;
    const unsigned ballot = __ballot_sync(0xffffffffu, equal);
    const int lane = tid & 31;
    const int warp = tid >> 5;
    if (lane == 0) warp_total[warp] = __popc(ballot);
    __syncthreads();
    int before = 0;
    int total = 0;
    for (int w = 0; w < kThreads / 32; ++w) {
      const int t = warp_total[w];
      before += w < warp ? t : 0;
      total += t;
    }
    const int pos = equal_base + before + __popc(ballot & ((1u << lane) - 1));
    if (equal && pos < need) {
      sv[less_total + pos] = v;
      si[less_total + pos] = id;
    }
    equal_base += total;
    __syncthreads();  // warp_total is rewritten next round.
  }
  for (int i = take + tid; i < sort_size; i += kThreads) {
    sv[i] = __int_as_float(0x7f800000);
    si[i] = kEmptyId;
  }
  __syncthreads();
  BlockBitonicSort(sv, si, sort_size);
  WriteResult(a, r, chunk_index, sv, si);
}

}  // namespace

cudaError_t LaunchRadixSelect(const SelectKArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0 || a.k <= 0 || a.k > kRadixSelectMaxK ||
      a.chunk <= 0) {
    return cudaErrorInvalidValue;
  }
  const int64_t nchunks = (a.cols + a.chunk - 1) / a.chunk;
  if (a.rows * nchunks > INT_MAX) return cudaErrorInvalidConfiguration;
  int sort_size = 1;
  while (sort_size < a.k) sort_size <<= 1;
  const size_t smem = static_cast<size_t>(sort_size) * 8;
  RadixSelectKernel<<<static_cast<unsigned>(a.rows * nchunks), kThreads, smem,
                      stream>>>(a, nchunks, sort_size);
  return cudaGetLastError();
}

}  // namespace vindex::cuda
