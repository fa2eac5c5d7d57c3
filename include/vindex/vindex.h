#ifndef VINDEX_VINDEX_H_
#define VINDEX_VINDEX_H_

// The whole public API of vindex.
#include "vindex/executor.h"
#include "vindex/filter.h"
#include "vindex/index.h"
#include "vindex/inspect.h"
#include "vindex/io.h"
#include "vindex/matrix_view.h"
#include "vindex/options.h"
#include "vindex/tune.h"
#include "vindex/vector_files.h"
#include "vindex/version.h"

#endif  // VINDEX_VINDEX_H_
