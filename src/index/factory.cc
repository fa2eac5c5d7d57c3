// MakeIndex: from options, or from a factory string parsed into options.
#include <charconv>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "index/flat/flat_index.h"
#include "index/gpu_factory.h"
#include "index/hnsw/hnsw_index.h"
#include "index/ivf/ivf_flat_index.h"
#include "index/ivf/ivf_pq_index.h"
#include "index/rotation/rotated_index.h"
#include "vindex/index.h"

namespace vindex {
namespace {

// Parses a positive integer that must fill `s` entirely.
bool ParsePositive(absl::string_view s, int* out) {
  if (s.empty()) return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return false;
  *out = v;
  return true;
}

absl::Status BadToken(absl::string_view factory, absl::string_view token,
                      absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("factory string \"", factory, "\": bad token \"", token,
                   "\" (expected ", expected, ")"));
}

absl::string_view Trimmed(absl::string_view t) {
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

constexpr absl::string_view kRotation = "Rot";

// True when the factory string's first token is "Rot"; *inner is then what
// follows its comma (empty when there is none).
bool SplitRotation(absl::string_view factory, absl::string_view* inner) {
  const size_t comma = factory.find(',');
  if (Trimmed(factory.substr(0, comma)) != kRotation) return false;
  *inner = comma == absl::string_view::npos ? absl::string_view()
                                            : factory.substr(comma + 1);
  return true;
}

absl::StatusOr<IndexSpec> ParseFactory(absl::string_view factory, int dim,
                                       Metric metric) {
  std::vector<absl::string_view> tokens = absl::StrSplit(factory, ',');
  for (auto& t : tokens) t = Trimmed(t);
  if (tokens.empty() || tokens[0].empty()) {
    return absl::InvalidArgumentError("empty factory string");
  }
  absl::string_view first = tokens[0];
  if (first == kRotation) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factory string \"", factory,
        "\": Rot, wraps another index and has no options of its own; parse "
        "the part after \"Rot,\" and wrap the index with "
        "MakeRotatedIndex, or call MakeIndex with the whole string"));
  }
  if (first == "Flat") {
    if (tokens.size() > 1)
      return BadToken(factory, tokens[1], "nothing after Flat");
    return IndexSpec(FlatOptions{.dim = dim, .metric = metric});
  }
  if (absl::StartsWith(first, "HNSW")) {
    HnswOptions o{.dim = dim, .metric = metric};
    if (!ParsePositive(first.substr(4), &o.m))
      return BadToken(factory, first, "HNSW<M>");
    for (size_t i = 1; i < tokens.size(); ++i) {
      if (tokens[i] == "SQ8") {
        o.traversal = HnswOptions::Traversal::kSq8;
      } else if (tokens[i] == "SQ4") {
        o.traversal = HnswOptions::Traversal::kSq4;
      } else if (tokens[i] == "FP16") {
        o.traversal = HnswOptions::Traversal::kFp16;
      } else if (absl::StartsWith(tokens[i], "alpha")) {
        const absl::string_view v = tokens[i].substr(5);
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.alpha);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
          return BadToken(factory, tokens[i], "alpha<number>, e.g. alpha1.1");
        }
      } else {
        return BadToken(factory, tokens[i],
                        "SQ8, SQ4, FP16 or alpha<number> after HNSW<M>");
      }
    }
    return IndexSpec(o);
  }
  if (absl::StartsWith(first, "IVF")) {
    int nlist = 0;
    if (!ParsePositive(first.substr(3), &nlist))
      return BadToken(factory, first, "IVF<nlist>");
    if (tokens.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("factory string \"", factory,
                       "\": IVF<nlist> needs Flat or PQ<M> after it"));
    }
    absl::string_view second = tokens[1];
    if (second == "Flat") {
      if (tokens.size() > 2)
        return BadToken(factory, tokens[2], "nothing after IVF<nlist>,Flat");
      return IndexSpec(IvfFlatOptions{
          .ivf = {.dim = dim, .metric = metric, .nlist = nlist}});
    }
    if (!absl::StartsWith(second, "PQ"))
      return BadToken(factory, second, "Flat or PQ<M>");
    IvfPqOptions o{.ivf = {.dim = dim, .metric = metric, .nlist = nlist}};
    absl::string_view pq = second.substr(2);
    absl::string_view m_part = pq;
    size_t x = pq.find('x');
    if (x != absl::string_view::npos) {
      m_part = pq.substr(0, x);
      absl::string_view bits = pq.substr(x + 1);
      if (bits == "4fs" || bits == "4") {
        o.pq_bits = 4;
      } else if (bits == "8") {
        o.pq_bits = 8;
      } else {
        return BadToken(factory, second, "PQ<M>, PQ<M>x8 or PQ<M>x4fs");
      }
    }
    if (!ParsePositive(m_part, &o.pq_m))
      return BadToken(factory, second, "PQ<M>");
    for (size_t i = 2; i < tokens.size(); ++i) {
      if (tokens[i] == "Rerank" || tokens[i] == "RFlat") {
        o.keep_raw_vectors = true;
        o.default_rerank_factor = 4;
      } else {
        return BadToken(factory, tokens[i], "Rerank");
      }
    }
    return IndexSpec(o);
  }
  return BadToken(factory, first, "Flat, IVF<nlist>, HNSW<M> or Rot,");
}

// Where each family's options keep the device.
Device& DeviceOf(HnswOptions& o) { return o.device; }
Device& DeviceOf(IvfFlatOptions& o) { return o.ivf.device; }
Device& DeviceOf(IvfPqOptions& o) { return o.ivf.device; }

// A CPU index of type IndexT; a GPU device is Unimplemented, as `family` has
// no GPU implementation in this build.
template <typename IndexT, typename OptionsT>
absl::StatusOr<std::unique_ptr<Index>> MakeCpuIndex(const OptionsT& options,
                                                    absl::string_view family) {
  OptionsT cpu = options;
  if (DeviceOf(cpu) == Device::kGpu) {
    return absl::UnimplementedError(
        absl::StrCat("this build of vindex has no GPU ", family, " index"));
  }
  DeviceOf(cpu) = Device::kCpu;
  auto index = IndexT::Create(cpu);
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(std::move(*index));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Index>> MakeIndex(const IndexSpec& spec) {
  if (const auto* o = std::get_if<FlatOptions>(&spec)) {
    // kGpu: the GPU index or its error; kAuto: the GPU when one is usable.
    if (o->device == Device::kGpu) return internal::MakeGpuFlatIndex(*o);
    if (o->device == Device::kAuto && CudaDeviceCount() > 0) {
      auto gpu = internal::MakeGpuFlatIndex(*o);
      if (gpu.ok()) return gpu;
    }
    FlatOptions cpu = *o;
    cpu.device = Device::kCpu;
    auto index = FlatIndex::Create(cpu);
    if (!index.ok()) return index.status();
    return std::unique_ptr<Index>(std::move(*index));
  }
  if (const auto* o = std::get_if<IvfFlatOptions>(&spec)) {
    return MakeCpuIndex<IvfFlatIndex>(*o, "IVF-Flat");
  }
  if (const auto* o = std::get_if<IvfPqOptions>(&spec)) {
    return MakeCpuIndex<IvfPqIndex>(*o, "IVF-PQ");
  }
  return MakeCpuIndex<HnswIndex>(std::get<HnswOptions>(spec), "HNSW");
}

absl::StatusOr<IndexSpec> ParseIndexSpec(std::string_view factory, int dim,
                                         Metric metric) {
  return ParseFactory(absl::string_view(factory.data(), factory.size()), dim,
                      metric);
}

absl::StatusOr<std::unique_ptr<Index>> MakeRotatedIndex(
    std::unique_ptr<Index> inner) {
  auto index = RotatedIndex::Create(std::move(inner));
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(std::move(*index));
}

absl::StatusOr<std::unique_ptr<Index>> MakeIndex(std::string_view factory,
                                                 int dim, Metric metric) {
  const absl::string_view whole(factory.data(), factory.size());
  absl::string_view inner;
  if (SplitRotation(whole, &inner)) {
    if (Trimmed(inner).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("factory string \"", whole,
                       "\": Rot needs an index after it, e.g. Rot,HNSW32"));
    }
    absl::string_view nested;
    if (SplitRotation(inner, &nested)) {
      return BadToken(whole, kRotation,
                      "one Rot, at most: a rotation cannot wrap another");
    }
    auto inner_index =
        MakeIndex(std::string_view(inner.data(), inner.size()), dim, metric);
    if (!inner_index.ok()) return inner_index.status();
    return MakeRotatedIndex(std::move(*inner_index));
  }
  auto spec = ParseIndexSpec(factory, dim, metric);
  if (!spec.ok()) return spec.status();
  return MakeIndex(*spec);
}

}  // namespace vindex
