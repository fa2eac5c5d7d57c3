#ifndef VINDEX_BENCH_ANN_BENCH_OPTIONS_H_
#define VINDEX_BENCH_ANN_BENCH_OPTIONS_H_

// ann_bench's command line: the flags and what they default to.

#include <cstdint>
#include <string>
#include <vector>

namespace vindex::bench {

// The flags, with their defaults (see PrintUsage for what each means).
struct Options {
  std::string data_dir;
  std::string dataset;
  std::string synthetic;  // "N,D,NQ".
  std::vector<std::string> specs;
  std::vector<int> nprobe = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<int> ef = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
  std::vector<int> rerank = {0, 2, 4, 16};
  int k = 10;
  int threads = 0;
  int64_t queries = 0;  // 0 = all.
  double budget_1t = 1.0;
  double batch_min_s = 0.5;
  std::string csv;
  std::string reference = "auto";
  std::string cache_dir;
  // vindex's metric on 'angular' data sets (unit vectors): "cosine" or "ip".
  // The references always run inner product; the rankings are the same.
  std::string angular_metric = "ip";
};

// Prints the flags on stderr.
void PrintUsage();

// Parses argv into *o (threads 0 becomes all cores); false on a bad or
// missing flag (after a line on stderr saying which) and for --help.
bool ParseArgs(int argc, char** argv, Options* o);

}  // namespace vindex::bench

#endif  // VINDEX_BENCH_ANN_BENCH_OPTIONS_H_
