# User-facing build options.
# Tests, benches, examples and the tool are built by default only when vindex
# is the top-level project, not when a service pulls it in with
# add_subdirectory.
option(VINDEX_BUILD_TESTS "Build the GoogleTest suite" ${PROJECT_IS_TOP_LEVEL})
option(VINDEX_BUILD_BENCH "Build the benchmark binaries" ${PROJECT_IS_TOP_LEVEL})
option(VINDEX_BUILD_EXAMPLES "Build the examples" ${PROJECT_IS_TOP_LEVEL})
option(VINDEX_BUILD_TOOLS "Build the vindex command-line tool" ${PROJECT_IS_TOP_LEVEL})
option(VINDEX_BUILD_PYTHON "Build the Python module (needs python3-dev, pybind11-dev, numpy; tests need pytest)" OFF)
option(VINDEX_SANITIZE "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
option(VINDEX_TSAN "Build with ThreadSanitizer" OFF)
option(VINDEX_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
set(VINDEX_CUDA "AUTO" CACHE STRING "Build the CUDA backend: ON, OFF or AUTO (when nvcc is found)")
set_property(CACHE VINDEX_CUDA PROPERTY STRINGS ON OFF AUTO)
set(VINDEX_MPI "AUTO" CACHE STRING "Build the MPI component (vindex::mpi): ON, OFF or AUTO (when MPI for C++ is found)")
set_property(CACHE VINDEX_MPI PROPERTY STRINGS ON OFF AUTO)
# Optional reference libraries for bench/ann_bench (never required).
set(FAISS_ROOT "" CACHE PATH "Prefix of a FAISS install to compare against (default: system libfaiss-dev if found)")

if(VINDEX_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(VINDEX_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(VINDEX_FUZZ)
  # Coverage instrumentation for all code; checksums are not enforced so the
  # fuzzer can reach the parsers behind them (standard libFuzzer practice).
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
endif()
