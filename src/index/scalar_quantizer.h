#ifndef VINDEX_SRC_INDEX_SCALAR_QUANTIZER_H_
#define VINDEX_SRC_INDEX_SCALAR_QUANTIZER_H_

// Forwards to train/scalar_quantizer.h, the home of ScalarQuantizer8;
// include that instead.
#include "train/scalar_quantizer.h"  // IWYU pragma: export

#endif  // VINDEX_SRC_INDEX_SCALAR_QUANTIZER_H_
