// Writes the fuzzers' seed corpora into the folder given as argv[1], one
// subfolder per fuzzer:
//   load_index/     valid index files of every family this build has, and
//                   crafted hostile ones (valid checksums, hostile contents)
//   vecs_reader/    .fvecs / .bvecs / .ivecs files (first byte: the reader)
//   npy_reader/     .npy files (first byte: the reader)
//   http_request/   HTTP example request bodies
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "io/crc32c.h"
#include "io/format.h"
#include "vindex/index.h"
#include "vindex/vector_files.h"

namespace {

int written = 0;

bool WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) return false;
  ++written;
  return true;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
void Append(std::string* s, T value) {
  s->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// Finds the first section tagged `tag`: its payload's offset and length.
bool FindSection(const std::string& file, uint32_t tag, size_t* payload_at,
                 uint64_t* length) {
  size_t at = vindex::io::kHeaderBytes;
  while (at + vindex::io::kSectionHeaderBytes <= file.size()) {
    uint32_t t;
    std::memcpy(&t, file.data() + at, 4);
    std::memcpy(length, file.data() + at + 8, 8);
    if (t == tag) {
      *payload_at = at + vindex::io::kSectionHeaderBytes;
      return *payload_at + *length + 4 <= file.size();
    }
    at += vindex::io::kSectionHeaderBytes + *length + 4;
  }
  return false;
}

// Overwrites `size` bytes at `offset` into the payload of the first section
// tagged `tag` and recomputes that section's checksum, so only the loader's
// content checks can refuse the result. False if there is no such section.
bool PatchSection(std::string* file, uint32_t tag, size_t offset,
                  const void* value, size_t size) {
  size_t at;
  uint64_t length;
  if (!FindSection(*file, tag, &at, &length) || offset + size > length) {
    return false;
  }
  char* payload = file->data() + at;
  std::memcpy(payload + offset, value, size);
  const uint32_t crc = vindex::io::Crc32c(0, payload, length);
  std::memcpy(payload + length, &crc, 4);
  return true;
}

std::string SaveToBytes(const vindex::Index& index, const std::string& tmp) {
  if (!vindex::SaveIndexToFile(index, tmp).ok()) return "";
  std::string bytes = ReadFile(tmp);
  std::remove(tmp.c_str());
  return bytes;
}

void WriteIndexSeeds(const std::string& dir) {
  const int dim = 8;
  const int64_t n = 300;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> v(n * dim);
  for (float& x : v) x = g(rng);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i * 3 + 1;
  const vindex::MatrixView<const float> data(v.data(), n, dim);
  for (const char* spec :
       {"Flat", "IVF4,Flat", "IVF4,PQ4", "IVF4,PQ4x4fs,Rerank", "HNSW8",
        "HNSW8,SQ8", "HNSW8,SQ4", "HNSW8,FP16", "Rot,Flat", "Rot,IVF4,Flat",
        "Rot,HNSW8"}) {
    for (auto metric : {vindex::Metric::kL2, vindex::Metric::kCosine}) {
      auto index = vindex::MakeIndex(spec, dim, metric);
      if (!index.ok()) continue;  // Family not in this build.
      if (!(*index)->Train(data).ok() || !(*index)->Add(data, ids).ok())
        continue;
      std::string name = std::string(spec) + "_" +
                         std::string(vindex::MetricName(metric)) + ".vindex";
      for (char& c : name) {
        if (c == ',') c = '_';
      }
      const std::string path = dir + "/" + name;
      if (vindex::SaveIndexToFile(**index, path).ok()) ++written;
    }
  }

  // Crafted: an HNSW level-0 block whose first link points past the rows.
  if (auto hnsw = vindex::MakeIndex("HNSW8", dim);
      hnsw.ok() && (*hnsw)->Add(data, ids).ok()) {
    std::string bytes = SaveToBytes(**hnsw, dir + "/tmp.vindex");
    size_t at;
    uint64_t length;
    const uint32_t tag = vindex::io::kTagLevel0;
    if (FindSection(bytes, tag, &at, &length)) {
      const size_t block = length / n;
      const uint32_t out_of_range = 1u << 20;
      if (PatchSection(&bytes, tag, 5 * block + dim * sizeof(float) + 4,
                       &out_of_range, 4)) {
        WriteFile(dir + "/crafted_hnsw_link_out_of_range.vindex", bytes);
      }
    }
  }

  // Crafted: IVF lists whose first count is huge, and whose lead pad is
  // larger than the section allows.
  if (auto ivf = vindex::MakeIndex("IVF4,Flat", dim);
      ivf.ok() && (*ivf)->Train(data).ok() && (*ivf)->Add(data, ids).ok()) {
    const std::string bytes = SaveToBytes(**ivf, dir + "/tmp.vindex");
    size_t at;
    uint64_t length;
    uint32_t lead = 0;
    const uint32_t tag = vindex::io::kTagListsAligned;
    if (FindSection(bytes, tag, &at, &length)) {
      std::memcpy(&lead, bytes.data() + at, 4);
      std::string huge_count = bytes;
      const uint64_t count = uint64_t{1} << 40;
      if (PatchSection(&huge_count, tag, 8 + lead, &count, 8)) {
        WriteFile(dir + "/crafted_ivf_list_count_huge.vindex", huge_count);
      }
      std::string bad_lead = bytes;
      const uint32_t lead_too_big = 1u << 30;
      if (PatchSection(&bad_lead, tag, 0, &lead_too_big, 4)) {
        WriteFile(dir + "/crafted_ivf_list_lead_huge.vindex", bad_lead);
      }
      std::string shifted = bytes;
      const uint64_t one_more = n + 1;  // Lists then overrun the section.
      if (PatchSection(&shifted, tag, 8 + lead + 8, &one_more, 8)) {
        WriteFile(dir + "/crafted_ivf_list_count_overrun.vindex", shifted);
      }
    }
  }

  // Crafted: the first HNSW layout (VECS + GRPH) with m = 256, dim = 1 and
  // every node on level 30 with no links: valid checksums, many levels.
  {
    const uint32_t rows = 200;
    std::string bytes(vindex::io::kMagic, sizeof(vindex::io::kMagic));
    Append<uint32_t>(&bytes, vindex::io::kFormatVersion);
    Append<uint32_t>(&bytes, static_cast<uint32_t>(vindex::IndexFamily::kHnsw));
    Append<uint32_t>(&bytes, 1);  // dim
    Append<uint32_t>(&bytes, static_cast<uint32_t>(vindex::Metric::kL2));
    Append<uint64_t>(&bytes, rows);
    Append<uint32_t>(&bytes, 0);  // flags
    Append<uint32_t>(&bytes, vindex::io::Crc32c(0, bytes.data(), 36));
    auto section = [&](uint32_t tag, const std::string& payload) {
      Append<uint32_t>(&bytes, tag);
      Append<uint32_t>(&bytes, 0);
      Append<uint64_t>(&bytes, payload.size());
      bytes += payload;
      Append<uint32_t>(&bytes,
                       vindex::io::Crc32c(0, payload.data(), payload.size()));
    };
    std::string params;
    Append<uint32_t>(&params, 256);  // m
    Append<uint32_t>(&params, 40);   // ef_construction
    Append<uint32_t>(&params, 16);   // default_ef
    Append<uint64_t>(&params, 1);    // seed
    Append<uint32_t>(&params, 0);    // traversal: float
    Append<uint64_t>(&params, rows);
    Append<int64_t>(&params, 0);   // entry row
    Append<uint32_t>(&params, 0);  // no quantizer
    section(vindex::io::kTagParams, params);
    std::string row_ids, vectors, graph;
    for (uint32_t r = 0; r < rows; ++r) {
      Append<int64_t>(&row_ids, r);
      Append<float>(&vectors, static_cast<float>(r));
      Append<uint32_t>(&graph, 30);                               // level
      for (int l = 0; l <= 30; ++l) Append<uint32_t>(&graph, 0);  // no links
    }
    section(vindex::io::kTagIds, row_ids);
    section(vindex::io::kTagVectors, vectors);
    section(vindex::io::kTagGraph, graph);
    section(vindex::io::kTagEnd, "");
    WriteFile(dir + "/crafted_hnsw_old_layout_level30.vindex", bytes);
  }
}

void WriteVecsSeeds(const std::string& dir) {
  // Selector byte: bits 0-1 pick fvecs (0), bvecs (1) or ivecs (2); the rest
  // is a row limit.
  for (uint8_t selector : {0, 1, 2, 4 | 0}) {
    std::string file(1, static_cast<char>(selector));
    for (int r = 0; r < 3; ++r) {
      Append<int32_t>(&file, 4);
      for (int j = 0; j < 4; ++j) {
        if ((selector & 3) == 0) Append<float>(&file, 0.5f * (r + j));
        if ((selector & 3) == 1) file += static_cast<char>(r * 4 + j);
        if ((selector & 3) == 2) Append<int32_t>(&file, r * 4 + j);
      }
    }
    WriteFile(dir + "/seed_" + std::to_string(selector), file);
  }
}

void WriteNpySeeds(const std::string& dir) {
  const std::string tmp = dir + "/tmp.npy";
  const float f[6] = {1, 2, 3, 4, 5, 6};
  const int32_t i[6] = {1, 2, 3, 4, 5, 6};
  if (vindex::WriteNpy(tmp, vindex::MatrixView<const float>(f, 2, 3)).ok()) {
    WriteFile(dir + "/seed_float", std::string(1, '\0') + ReadFile(tmp));
  }
  if (vindex::WriteNpy(tmp, vindex::MatrixView<const int32_t>(i, 3, 2)).ok()) {
    WriteFile(dir + "/seed_int32", std::string(1, '\1') + ReadFile(tmp));
  }
  std::remove(tmp.c_str());
  // A hand-written float64 header (the writers only write float32 / int32).
  std::string header =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string npy = std::string(1, '\0') + "\x93NUMPY\x01";
  npy += '\0';
  Append<uint16_t>(&npy, static_cast<uint16_t>(header.size()));
  npy += header;
  for (double x : {1.0, 2.0, 3.0, 4.0}) Append<double>(&npy, x);
  WriteFile(dir + "/seed_float64", npy);
}

void WriteHttpRequestSeeds(const std::string& dir) {
  const char* bodies[] = {
      R"({"vector":[1,2,3,4],"k":10})",
      R"({"vector":[0.5,-1e3,2.25E-2],"k":3,"ef":64})",
      R"({"vector":[1],"nprobe":32,"rerank_factor":4})",
      R"({ "k" : 1 , "vector" : [ 0 ] })",
      R"({"vector":[1,2],"ef":1048576})",
      R"({})",
      R"({"id":42,"vector":[1.5,2,3]})",
      R"({"id":9007199254740992})",
  };
  int i = 0;
  for (const char* body : bodies) {
    WriteFile(dir + "/seed_" + std::to_string(i++), body);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (const char* sub :
       {"load_index", "vecs_reader", "npy_reader", "http_request"}) {
    mkdir((dir + "/" + sub).c_str(), 0755);
  }
  WriteIndexSeeds(dir + "/load_index");
  WriteVecsSeeds(dir + "/vecs_reader");
  WriteNpySeeds(dir + "/npy_reader");
  WriteHttpRequestSeeds(dir + "/http_request");
  std::printf("wrote %d seed files under %s\n", written, dir.c_str());
  return written > 0 ? 0 : 1;
}
