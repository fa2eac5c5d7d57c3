# Install rules and the package config that makes find_package(vindex) work.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS vindex EXPORT vindexTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/vindex DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT vindexTargets NAMESPACE vindex::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vindex)

configure_package_config_file(cmake/vindexConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vindexConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vindex)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vindexConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vindexConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vindexConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vindex)
install(FILES ${PROJECT_BINARY_DIR}/include/vindex/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vindex)

# pkg-config: vindex.pc, relocatable (paths relative to the .pc file). The
# library is static, so Libs names everything a program links with it.
file(RELATIVE_PATH VINDEX_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" VINDEX_PC_TO_PREFIX "${VINDEX_PC_TO_PREFIX}")
set(VINDEX_PC_REQUIRES "absl_status absl_statusor absl_span absl_function_ref absl_flat_hash_set absl_flat_hash_map absl_strings absl_str_format absl_synchronization")
set(VINDEX_PC_LIBS "")
foreach(lib ${BLAS_LIBRARIES})
  if(lib MATCHES "^(/.*)/lib([^/]+)\\.so$")
    string(APPEND VINDEX_PC_LIBS " -L${CMAKE_MATCH_1} -l${CMAKE_MATCH_2}")
  elseif(lib MATCHES "^/")
    string(APPEND VINDEX_PC_LIBS " ${lib}")
  else()
    string(APPEND VINDEX_PC_LIBS " -l${lib}")
  endif()
endforeach()
if(VINDEX_WITH_CUDA)
  string(APPEND VINDEX_PC_LIBS " ${CUDA_cudart_static_LIBRARY} ${CUDA_cublas_LIBRARY} -lrt")
endif()
string(APPEND VINDEX_PC_LIBS " -lpthread -ldl")
configure_file(cmake/vindex.pc.in ${PROJECT_BINARY_DIR}/vindex.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vindex.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Debian package (cpack -G DEB in the build folder): the library, its
# headers, the CMake and pkg-config files and the vindex tool, under /usr.
if(PROJECT_IS_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME vindex)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_VENDOR "vindex")
  set(CPACK_PACKAGE_CONTACT "vindex maintainers")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Embedded C++ vector retrieval library (Flat, IVF-Flat, IVF-PQ, HNSW) and the vindex tool")
  set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
  # Runtime libraries of the tool come from dpkg-shlibdeps; a program linking
  # the static library needs the development packages of its dependencies.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libabsl-dev, libeigen3-dev, libopenblas-dev")
  include(CPack)
endif()
