# The instruction sets of src/kernels/isa_table.def, the one table that also
# drives the run-time CPU check: for each ISA, the compile flags of its
# kernel files are the flags of the CPU features its row lists. Sets
# VINDEX_ISAS (names, in table order) and VINDEX_ISA_FLAGS_<name>.
set(VINDEX_ISA_TABLE ${PROJECT_SOURCE_DIR}/src/kernels/isa_table.def)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${VINDEX_ISA_TABLE})
file(STRINGS ${VINDEX_ISA_TABLE} _vindex_feature_rows
  REGEX "^VINDEX_CPU_FEATURE\\(")
file(STRINGS ${VINDEX_ISA_TABLE} _vindex_isa_rows REGEX "^VINDEX_ISA\\(")
foreach(row ${_vindex_feature_rows})
  if(NOT row MATCHES "^VINDEX_CPU_FEATURE\\(([A-Za-z0-9]+), *\"([^\"]+)\"")
    message(FATAL_ERROR "isa_table.def: cannot read feature row: ${row}")
  endif()
  set(_vindex_flag_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
endforeach()
set(VINDEX_ISAS)
foreach(row ${_vindex_isa_rows})
  if(NOT row MATCHES "^VINDEX_ISA\\(([a-z0-9_]+), *[A-Za-z0-9]+, *(0x)?[0-9A-Fa-f]+(.*)\\)")
    message(FATAL_ERROR "isa_table.def: cannot read ISA row: ${row}")
  endif()
  set(isa ${CMAKE_MATCH_1})
  string(REGEX MATCHALL "k[A-Za-z0-9]+" features "${CMAKE_MATCH_3}")
  set(flags)
  foreach(feature ${features})
    if(NOT DEFINED _vindex_flag_${feature})
      message(FATAL_ERROR "isa_table.def: ${isa} lists unknown feature ${feature}")
    endif()
    list(APPEND flags ${_vindex_flag_${feature}})
  endforeach()
  list(APPEND VINDEX_ISAS ${isa})
  set(VINDEX_ISA_FLAGS_${isa} ${flags})
endforeach()

# True when the target processor can build this ISA's files (scalar builds
# everywhere; the other rows are x86-64 ones).
function(vindex_isa_supported isa out)
  set(ok OFF)
  if(isa STREQUAL "scalar" OR
     CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    set(ok ON)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# Compiles the files with this ISA's flags: only kernel files get them; the
# rest of the library builds for the baseline ISA (never -march=native).
function(vindex_isa_sources isa)
  set(options ${VINDEX_ISA_FLAGS_${isa}})
  if(isa STREQUAL "avx512")
    # GCC's AVX-512 intrinsic headers trip these warnings.
    list(APPEND options -Wno-uninitialized -Wno-maybe-uninitialized)
  endif()
  set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "${options}")
endfunction()
