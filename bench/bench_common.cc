#include "bench_common.h"

#include <time.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cctype>
#include <variant>

#include "vindex/index.h"

// OpenBLAS's thread control, when OpenBLAS is what BLAS resolves to.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace vindex::bench {

SpecInfo ParseSpec(const std::string& spec, int dim) {
  SpecInfo info;
  // "Rot,<inner>" sweeps the inner's knobs; the references run the inner
  // index on the raw data.
  const bool rotated = spec.rfind("Rot,", 0) == 0;
  auto parsed =
      ParseIndexSpec(rotated ? spec.substr(4) : spec, dim, Metric::kL2);
  if (!parsed.ok()) return info;
  if (std::holds_alternative<FlatOptions>(*parsed)) {
    info.family = SpecInfo::Family::kFlat;
  } else if (const auto* o = std::get_if<IvfFlatOptions>(&*parsed)) {
    info.family = SpecInfo::Family::kIvfFlat;
    info.nlist = o->ivf.nlist;
  } else if (const auto* o = std::get_if<IvfPqOptions>(&*parsed)) {
    info.family = SpecInfo::Family::kIvfPq;
    info.nlist = o->ivf.nlist;
    info.pq_m = o->pq_m;
    info.pq_bits = o->pq_bits;
    info.rerank = o->keep_raw_vectors;
  } else if (const auto* o = std::get_if<HnswOptions>(&*parsed)) {
    info.family = SpecInfo::Family::kHnsw;
    info.hnsw_m = o->m;
    info.hnsw_traversal = o->traversal;
  }
  return info;
}

std::string KnobsString(const SpecInfo& spec, const Knobs& knobs) {
  std::string s;
  switch (spec.family) {
    case SpecInfo::Family::kIvfFlat:
    case SpecInfo::Family::kIvfPq:
      s = "nprobe=" + std::to_string(knobs.nprobe);
      if (spec.rerank) s += " rerank=" + std::to_string(knobs.rerank);
      break;
    case SpecInfo::Family::kHnsw:
      s = "ef=" + std::to_string(knobs.ef);
      break;
    default:
      s = "-";
  }
  return s;
}

void SetBlasThreads(int threads) {
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
}

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

uint64_t HeapBytesInUse() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<uint64_t>(mi.uordblks) + mi.hblkhd;
#else
  return 0;
#endif
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

std::string LabelIsa(const std::string& label) {
  const size_t open = label.find('[');
  const size_t close = label.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return "unknown";
  }
  std::string options = label.substr(open + 1, close - open - 1);
  for (char& c : options) c = static_cast<char>(std::toupper(c));
  // Longest names first: "AVX512" contains "AVX" and "AVX2" does too.
  for (const char* isa : {"AVX512", "AVX2", "AVX", "SSE"}) {
    if (options.find(isa) != std::string::npos) {
      std::string lower(isa);
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      return lower;
    }
  }
  if (options.find("SCALAR") != std::string::npos) return "scalar";
  return "generic";
}

bool IsGenericReference(const std::string& label) {
  if (label.rfind("vindex", 0) == 0) return false;
  const std::string isa = LabelIsa(label);
  return isa == "generic" || isa == "scalar" || isa == "sse";
}

#if !defined(VINDEX_BENCH_HAVE_FAISS)
std::unique_ptr<Contender> MakeFaissContender(const std::string&, int, bool,
                                              std::string* why) {
  *why = "FAISS not built in (configure with FAISS_ROOT or libfaiss-dev)";
  return nullptr;
}
std::string FaissLabel() { return "faiss (not built in)"; }
#endif

#if !defined(VINDEX_BENCH_HAVE_HNSWLIB)
std::unique_ptr<Contender> MakeHnswlibContender(const std::string&, int, bool,
                                                std::string* why) {
  *why = "hnswlib not built in (no hnswlib/hnswlib.h found)";
  return nullptr;
}
std::string HnswlibLabel() { return "hnswlib (not built in)"; }
#endif

}  // namespace vindex::bench
