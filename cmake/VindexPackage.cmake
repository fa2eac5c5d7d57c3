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
