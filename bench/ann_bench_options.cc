// Parses ann_bench's flags.

#include "ann_bench_options.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vindex::bench {
namespace {

bool ParseIntList(const std::string& s, std::vector<int>* out) {
  out->clear();
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    char* end = nullptr;
    long v = std::strtol(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || v < 0) return false;
    out->push_back(static_cast<int>(v));
  }
  return !out->empty();
}

}  // namespace

void PrintUsage() {
  std::cerr
      << "usage: ann_bench (--data DIR --dataset NAME | --synthetic "
         "N,D,NQ[,C])\n"
         "                 --spec SPEC [--spec SPEC ...]\n"
         "                 [--nprobe 1,2,4,...] [--ef 10,16,...] "
         "[--rerank 0,2,4,16] [--k 10]\n"
         "                 [--threads N] [--queries N] [--budget-1t SEC] "
         "[--csv FILE]\n"
         "                 [--reference faiss|hnswlib|auto|none] "
         "[--cache-dir DIR]\n"
         "                 [--angular-metric cosine|ip]\n"
         "SPEC is a vindex factory string: Flat, IVF1024,Flat, IVF1024,PQ32,\n"
         "IVF1024,PQ64x4fs,Rerank, HNSW32, HNSW32,SQ8, HNSW32,SQ4.\n"
         "--rerank 0 means no re-rank (for vindex and FAISS alike).\n"
         "Datasets are read as DIR/NAME_{base,query}.fvecs and\n"
         "DIR/NAME_groundtruth.ivecs (.zst versions are unpacked into the\n"
         "cache folder). 'angular' in NAME means unit vectors: vindex\n"
         "runs them with --angular-metric (default ip), the references\n"
         "with inner product.\n";
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* v) {
      if (i + 1 >= argc) {
        std::cerr << "missing value after " << a << "\n";
        return false;
      }
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      return false;
    } else if (a == "--data") {
      if (!next(&o->data_dir)) return false;
    } else if (a == "--dataset") {
      if (!next(&o->dataset)) return false;
    } else if (a == "--synthetic") {
      if (!next(&o->synthetic)) return false;
    } else if (a == "--spec") {
      if (!next(&v)) return false;
      o->specs.push_back(v);
    } else if (a == "--nprobe") {
      if (!next(&v) || !ParseIntList(v, &o->nprobe)) return false;
    } else if (a == "--ef") {
      if (!next(&v) || !ParseIntList(v, &o->ef)) return false;
    } else if (a == "--rerank") {
      if (!next(&v) || !ParseIntList(v, &o->rerank)) return false;
    } else if (a == "--k") {
      if (!next(&v)) return false;
      o->k = std::atoi(v.c_str());
    } else if (a == "--threads") {
      if (!next(&v)) return false;
      o->threads = std::atoi(v.c_str());
    } else if (a == "--queries") {
      if (!next(&v)) return false;
      o->queries = std::atoll(v.c_str());
    } else if (a == "--budget-1t") {
      if (!next(&v)) return false;
      o->budget_1t = std::atof(v.c_str());
    } else if (a == "--csv") {
      if (!next(&o->csv)) return false;
    } else if (a == "--reference") {
      if (!next(&o->reference)) return false;
    } else if (a == "--cache-dir") {
      if (!next(&o->cache_dir)) return false;
    } else if (a == "--angular-metric") {
      if (!next(&o->angular_metric)) return false;
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return false;
    }
  }
  if (o->specs.empty()) {
    std::cerr << "at least one --spec is needed\n";
    return false;
  }
  if (o->synthetic.empty() && (o->data_dir.empty() || o->dataset.empty())) {
    std::cerr << "give --data and --dataset, or --synthetic\n";
    return false;
  }
  if (o->k < 1) {
    std::cerr << "--k must be >= 1\n";
    return false;
  }
  if (o->reference != "auto" && o->reference != "faiss" &&
      o->reference != "hnswlib" && o->reference != "none") {
    std::cerr << "--reference must be faiss, hnswlib, auto or none\n";
    return false;
  }
  if (o->angular_metric != "cosine" && o->angular_metric != "ip") {
    std::cerr << "--angular-metric must be cosine or ip\n";
    return false;
  }
  if (o->threads <= 0) {
    o->threads = std::max(1u, std::thread::hardware_concurrency());
  }
  return true;
}

}  // namespace vindex::bench
