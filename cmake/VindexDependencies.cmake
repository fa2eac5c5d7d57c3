# Dependencies, all through find_package (Debian packages on the build machine).
find_package(Threads REQUIRED)
find_package(absl REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
set(BLA_VENDOR OpenBLAS)
find_package(BLAS)
if(NOT BLAS_FOUND)
  unset(BLA_VENDOR)
  find_package(BLAS REQUIRED)
endif()

if(VINDEX_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(VINDEX_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# CUDA: detected here; the cuda/ target is built when it is available.
set(VINDEX_WITH_CUDA OFF)
if(NOT VINDEX_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit)
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/cuda/CMakeLists.txt")
    set(VINDEX_WITH_CUDA ON)
    # Every target that takes CUDA objects (the static `vindex` included)
    # needs architectures under every generator, so the default is set, and
    # the language enabled, here at the top level before any target exists.
    # Override with -DCMAKE_CUDA_ARCHITECTURES=...
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual" CACHE STRING
        "CUDA architectures of the GPU code (sm_80, sm_90 and PTX by default)")
    endif()
    # The kernels are C++17; CMake would otherwise ask nvcc for the host
    # targets' C++20 dialect, which it cannot name for nvcc.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
  elseif(VINDEX_CUDA STREQUAL "ON")
    message(FATAL_ERROR "VINDEX_CUDA=ON but no usable CUDA toolkit (or cuda/ target) was found")
  endif()
endif()
message(STATUS "vindex: CUDA backend ${VINDEX_WITH_CUDA}")

# MPI: the mpi/ component (distributed training, build and sharded search) is
# built when MPI for C++ is found.
set(VINDEX_WITH_MPI OFF)
if(NOT VINDEX_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(VINDEX_WITH_MPI ON)
  elseif(VINDEX_MPI STREQUAL "ON")
    message(FATAL_ERROR "VINDEX_MPI=ON but MPI for C++ was not found (Debian: libopenmpi-dev openmpi-bin)")
  endif()
endif()
message(STATUS "vindex: MPI component ${VINDEX_WITH_MPI}")
