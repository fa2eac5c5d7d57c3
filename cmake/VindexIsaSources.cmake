# Per-ISA kernel sources: only these files get ISA flags; the rest of the
# library builds for the baseline ISA (never -march=native).
function(vindex_isa_source file)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    if(file MATCHES "avx512")
      set_source_files_properties(${file} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-Wno-uninitialized;-Wno-maybe-uninitialized;-mavx2;-mfma;-mf16c;-mbmi;-mbmi2;-mpopcnt;-mlzcnt")
    elseif(file MATCHES "avx2")
      set_source_files_properties(${file} PROPERTIES COMPILE_OPTIONS
        "-mavx2;-mfma;-mf16c;-mbmi;-mbmi2;-mpopcnt;-mlzcnt")
    endif()
  endif()
endfunction()

# True when the target processor can build this ISA's files.
function(vindex_isa_supported isa out)
  set(ok OFF)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    if(isa STREQUAL "avx2" OR isa STREQUAL "avx512")
      set(ok ON)
    endif()
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()
