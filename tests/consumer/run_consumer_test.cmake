# Run with cmake -P. Builds and runs the consumer program against an
# installed vindex, once through find_package(vindex VERSION EXACT) and once
# through pkg-config (when pkg-config is installed).
#   -DSOURCE_DIR=vindex source tree  -DWORK_DIR=scratch folder
#   -DGENERATOR=...  -DVERSION=expected version  -DCXX=C++ compiler
#   -DBINARY_DIR=a vindex build: installed into WORK_DIR/prefix first; or
#   -DPREFIX=where vindex is already installed (e.g. /usr from the package)
file(REMOVE_RECURSE ${WORK_DIR})
if(BINARY_DIR)
  set(PREFIX ${WORK_DIR}/prefix)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${PREFIX}
    RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "install failed: ${rc}")
  endif()
endif()
function(run_or_fail what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${what} failed: ${rc}")
  endif()
endfunction()

# find_package.
run_or_fail("configuring the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer
  -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${PREFIX}
  -DCMAKE_BUILD_TYPE=Release -DVINDEX_EXPECTED_VERSION=${VERSION})
run_or_fail("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_or_fail("the consumer (find_package)" ${WORK_DIR}/build/consumer)

# pkg-config.
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(STATUS "pkg-config not found: the pkg-config consumer is not built")
  return()
endif()
file(GLOB_RECURSE pc_files ${PREFIX}/*/vindex.pc)
if(NOT pc_files)
  message(FATAL_ERROR "no vindex.pc under ${PREFIX}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(pc ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} ${PKG_CONFIG})
execute_process(COMMAND ${pc} --modversion vindex OUTPUT_VARIABLE pc_version
  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(rc OR NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config --modversion vindex: '${pc_version}' (rc ${rc}), expected ${VERSION}")
endif()
execute_process(COMMAND ${pc} --cflags --libs vindex OUTPUT_VARIABLE pc_flags
  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "pkg-config --cflags --libs vindex failed: ${rc}")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run_or_fail("compiling the consumer with pkg-config" ${CXX} -std=c++20 -O1
  -DVINDEX_EXPECTED_VERSION="${VERSION}" ${SOURCE_DIR}/tests/consumer/consumer.cc
  -o ${WORK_DIR}/consumer_pkg_config ${pc_flags})
run_or_fail("the consumer (pkg-config)" ${WORK_DIR}/consumer_pkg_config)
