#ifndef VINDEX_BENCH_ANN_BENCH_SWEEP_H_
#define VINDEX_BENCH_ANN_BENCH_SWEEP_H_

// One contender's sweep over a spec's search knobs: the knob values tried,
// and the recall, speed and CPU share measured at each.

#include <cstdint>
#include <string>
#include <vector>

#include "ann_bench_options.h"
#include "bench_common.h"

namespace vindex::bench {

// One measured sweep point: what ran, with which knobs, and what it gave.
struct Point {
  std::string library;
  std::string spec;
  std::string method;
  std::string knobs;
  double recall1 = 0;
  double recall10 = 0;
  double qps_1t = 0;
  double qps_batch = 0;
  double build_s = 0;
  uint64_t bytes = 0;
  uint64_t heap_bytes = 0;  // Heap growth over the build (0: unknown).
  double cpu_1t = 0;
  double cpu_batch = 0;
  int64_t queries_1t = 0;
};

// The knob values to try for a spec, in sweep order (for IVF-PQ with
// re-rank: every nprobe for one re-rank factor, then the next factor).
std::vector<Knobs> SweepPoints(const SpecInfo& s, const Options& o);

// Measures one sweep point into *pt (recall, batch and one-thread QPS, CPU
// shares); returns "" or an error.
std::string Measure(Contender& c, const Dataset& ds, const Options& o,
                    int64_t nq, const Knobs& knobs, Point* pt);

}  // namespace vindex::bench

#endif  // VINDEX_BENCH_ANN_BENCH_SWEEP_H_
