#ifndef VINDEX_BENCH_ANN_BENCH_REPORT_H_
#define VINDEX_BENCH_ANN_BENCH_REPORT_H_

// ann_bench's output: the table of points, the CSV rows, the Flat
// efficiency line and the summary of best QPS per recall threshold.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "ann_bench_sweep.h"
#include "bench_common.h"
#include "machine_ceiling.h"

namespace vindex::bench {

// Column widths of the table.
inline constexpr int kLibW = 34, kSpecW = 26, kKnobW = 20;

// v with `prec` digits after the point.
std::string Fixed(double v, int prec);
// s padded with spaces to width w, on the left when `right` (right-aligned).
std::string Pad(std::string s, size_t w, bool right = true);

void PrintHeader();
void PrintPoint(const Point& p);

// Flat only: how close the scan and the batch come to the machine ceilings.
void PrintFlatEfficiency(const Point& p, const Dataset& ds, int64_t nq,
                         const Ceilings& c, int threads);

// The CPU model name from /proc/cpuinfo, or "unknown CPU".
std::string CpuModel();

// The CSV header line, and one row per point.
void WriteCsvHeader(std::ostream& csv);
void WriteCsvRow(std::ostream& csv, const Dataset& ds, int64_t nq,
                 const Options& o, const Ceilings& ceil, const Point& p);

// Best QPS at recall@10 thresholds, over all specs and per spec, with the
// vindex/reference ratios.
void PrintSummary(const std::vector<Point>& points);

}  // namespace vindex::bench

#endif  // VINDEX_BENCH_ANN_BENCH_REPORT_H_
