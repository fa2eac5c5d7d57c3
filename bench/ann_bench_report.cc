// Prints ann_bench's table, CSV rows and summary.

#include "ann_bench_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace vindex::bench {
namespace {

std::string CsvEscape(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string Fixed(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", prec, v);
  return buf;
}

std::string Pad(std::string s, size_t w, bool right) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s
               : s + std::string(w - s.size(), ' ');
}

void PrintHeader() {
  std::cout << Pad("library", kLibW, false) << " " << Pad("spec", kSpecW, false)
            << " " << Pad("params", kKnobW, false) << Pad("R@1", 8)
            << Pad("R@10", 8) << Pad("QPS 1T", 10) << Pad("QPS batch", 11)
            << Pad("build s", 9) << Pad("MiB", 9) << Pad("heapMiB", 9)
            << Pad("cpu1T", 7) << Pad("cpuB", 6) << "\n";
}

void PrintPoint(const Point& p) {
  std::cout << Pad(p.library, kLibW, false) << " " << Pad(p.spec, kSpecW, false)
            << " " << Pad(p.knobs, kKnobW, false) << Pad(Fixed(p.recall1, 4), 8)
            << Pad(Fixed(p.recall10, 4), 8) << Pad(Fixed(p.qps_1t, 1), 10)
            << Pad(Fixed(p.qps_batch, 1), 11) << Pad(Fixed(p.build_s, 2), 9)
            << Pad(Fixed(p.bytes / 1048576.0, 1), 9)
            << Pad(Fixed(p.heap_bytes / 1048576.0, 1), 9)
            << Pad(Fixed(p.cpu_1t, 2), 7) << Pad(Fixed(p.cpu_batch, 2), 6)
            << "\n"
            << std::flush;
}

void PrintFlatEfficiency(const Point& p, const Dataset& ds, int64_t nq,
                         const Ceilings& c, int threads) {
  const double row_bytes = 4.0 * ds.dim;
  const double scan_gbs = p.qps_1t * ds.n * row_bytes / 1e9;
  const double gflops = 2.0 * p.qps_batch * ds.n * ds.dim / 1e9;
  std::cout << "  Flat efficiency of " << p.library << ": 1T scan "
            << Fixed(scan_gbs, 2) << " GB/s of base vectors = "
            << Fixed(100 * scan_gbs / c.membw_1t_gbs, 1)
            << "% of 1T memory read bandwidth; batch (" << nq << " queries, "
            << threads << " threads) " << Fixed(gflops, 1)
            << " GFLOP/s = " << Fixed(100 * gflops / c.sgemm_all_gflops, 1)
            << "% of SGEMM " << threads << "T ("
            << Fixed(100 * gflops / c.sgemm_1t_gflops, 1) << "% of SGEMM 1T)\n";
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

void PrintSummary(const std::vector<Point>& points) {
  const double thresholds[] = {0.90, 0.95, 0.99};
  // Best point per (group, threshold), for 1T and batch separately.
  struct Best {
    double qps = 0;
    std::string where;
  };
  auto best_of = [&](auto pred, double th, bool batch) {
    Best b;
    for (const Point& p : points) {
      if (!pred(p) || p.recall10 < th) continue;
      double q = batch ? p.qps_batch : p.qps_1t;
      if (q > b.qps) {
        b.qps = q;
        b.where = p.spec + " " + p.knobs;
      }
    }
    return b;
  };
  std::vector<std::string> libs;
  for (const Point& p : points) {
    if (std::find(libs.begin(), libs.end(), p.library) == libs.end()) {
      libs.push_back(p.library);
    }
  }
  std::vector<std::string> specs;
  for (const Point& p : points) {
    if (std::find(specs.begin(), specs.end(), p.spec) == specs.end()) {
      specs.push_back(p.spec);
    }
  }
  std::string ours;
  for (const auto& l : libs) {
    if (l.rfind("vindex", 0) == 0) ours = l;
  }
  auto fmt = [](const Best& b) {
    return b.qps > 0 ? Fixed(b.qps, 1) : std::string("-");
  };
  // A generic reference build gets no ratio: it would headline a number
  // that says nothing about the library (its QPS columns still show).
  std::vector<std::string> generic;
  for (const auto& l : libs) {
    if (IsGenericReference(l)) generic.push_back(l);
  }
  auto ratio_for = [&](const std::string& lib, const Best& a, const Best& b) {
    if (IsGenericReference(lib)) return std::string("n/r");
    return (a.qps > 0 && b.qps > 0) ? Fixed(a.qps / b.qps, 2) + "x"
                                    : std::string("-");
  };
  std::cout << "\n== Summary: best QPS at recall@10 >= threshold (over all "
               "specs and knobs) ==\n";
  std::cout << Pad("library", kLibW, false) << Pad("R@10>=", 7);
  std::cout << Pad("QPS 1T", 10) << Pad("QPS batch", 11) << "  "
            << Pad("ratio vindex/lib 1T", 20) << Pad("batch", 7)
            << "  best 1T point\n";
  for (const auto& lib : libs) {
    for (double th : thresholds) {
      auto is_lib = [&](const Point& p) { return p.library == lib; };
      auto is_ours = [&](const Point& p) { return p.library == ours; };
      Best b1 = best_of(is_lib, th, false), bb = best_of(is_lib, th, true);
      Best o1 = best_of(is_ours, th, false), ob = best_of(is_ours, th, true);
      std::cout << Pad(lib, kLibW, false) << Pad(Fixed(th, 2), 7)
                << Pad(fmt(b1), 10) << Pad(fmt(bb), 11) << "  "
                << Pad(lib == ours ? "" : ratio_for(lib, o1, b1), 20)
                << Pad(lib == ours ? "" : ratio_for(lib, ob, bb), 7) << "  "
                << (b1.qps > 0 ? b1.where : "") << "\n";
    }
  }
  std::cout << "\n== Per spec (same method): best QPS 1T / batch at recall@10 "
               ">= threshold, and vindex/lib ==\n";
  for (const auto& spec : specs) {
    for (const auto& lib : libs) {
      bool any = false;
      for (const Point& p : points) any |= p.spec == spec && p.library == lib;
      if (!any) continue;
      std::cout << Pad(spec, kSpecW, false) << " " << Pad(lib, kLibW, false);
      for (double th : thresholds) {
        auto is_lib = [&](const Point& p) {
          return p.library == lib && p.spec == spec;
        };
        auto is_ours = [&](const Point& p) {
          return p.library == ours && p.spec == spec;
        };
        Best b1 = best_of(is_lib, th, false), bb = best_of(is_lib, th, true);
        std::cout << "  " << Fixed(th, 2) << ": " << fmt(b1) << " / "
                  << fmt(bb);
        if (lib != ours) {
          Best o1 = best_of(is_ours, th, false),
               ob = best_of(is_ours, th, true);
          std::cout << " (" << ratio_for(lib, o1, b1) << " / "
                    << ratio_for(lib, ob, bb) << ")";
        }
      }
      std::cout << "\n";
    }
  }
  for (const auto& lib : generic) {
    std::cout << "\nn/r (not representative): " << lib
              << " is a generic build (ISA: " << LabelIsa(lib)
              << ", no AVX2 or AVX-512 kernels), so no vindex/" << lib
              << " ratio is printed; compare against a build for this CPU "
                 "(FAISS: configure ann_bench with -DFAISS_ROOT=PREFIX of a "
                 "FAISS built with FAISS_OPT_LEVEL=avx2 or avx512).\n";
  }
}

void WriteCsvHeader(std::ostream& csv) {
  csv << "dataset,n,dim,queries,k,threads,library,spec,method,params,"
         "build_s,index_bytes,recall1,recall10,qps_1t,qps_batch,"
         "queries_1t,cpu_share_1t,cpu_share_batch,membw_1t_gbs,"
         "sgemm_1t_gflops,sgemm_all_gflops,heap_bytes\n";
}

void WriteCsvRow(std::ostream& csv, const Dataset& ds, int64_t nq,
                 const Options& o, const Ceilings& ceil, const Point& p) {
  csv << CsvEscape(ds.name) << "," << ds.n << "," << ds.dim << "," << nq << ","
      << o.k << "," << o.threads << "," << CsvEscape(p.library) << ","
      << CsvEscape(p.spec) << "," << CsvEscape(p.method) << ","
      << CsvEscape(p.knobs) << "," << Fixed(p.build_s, 3) << "," << p.bytes
      << "," << Fixed(p.recall1, 5) << "," << Fixed(p.recall10, 5) << ","
      << Fixed(p.qps_1t, 2) << "," << Fixed(p.qps_batch, 2) << ","
      << p.queries_1t << "," << Fixed(p.cpu_1t, 3) << ","
      << Fixed(p.cpu_batch, 3) << "," << Fixed(ceil.membw_1t_gbs, 2) << ","
      << Fixed(ceil.sgemm_1t_gflops, 2) << ","
      << Fixed(ceil.sgemm_all_gflops, 2) << "," << p.heap_bytes << "\n"
      << std::flush;
}

}  // namespace vindex::bench
