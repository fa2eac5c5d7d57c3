#ifndef VINDEX_TOOLS_VINDEX_GENERATE_H_
#define VINDEX_TOOLS_VINDEX_GENERATE_H_

// `vindex generate`: writes a reproducible clustered dataset in the TEXMEX
// layout the benches and scripts read (PREFIX_base.fvecs,
// PREFIX_query.fvecs, PREFIX_groundtruth.ivecs), with exact ground truth.

#include "args.h"

namespace vindex::cli {

CommandSpec GenerateSpec();
int RunGenerate(const Args& args, UsageError* usage);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_GENERATE_H_
