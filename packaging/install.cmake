# packaging/install.cmake: install rules, the CMake package (lola::lola), a relocatable
# pkg-config file and CPack (TGZ and DEB). Included at the end of the top-level CMakeLists.txt.
#
# Installed layout (relative to the prefix):
#   ${CMAKE_INSTALL_INCLUDEDIR}/lola.h, lola.hpp (header-only C++ owners over it, not part of the ABI)
#   ${CMAKE_INSTALL_LIBDIR}/liblola.so.<version>, liblola.so.<ABI> and liblola.so links
#   ${CMAKE_INSTALL_LIBDIR}/cmake/lola/lolaConfig.cmake, lolaConfigVersion.cmake, lolaTargets*.cmake
#   ${CMAKE_INSTALL_LIBDIR}/pkgconfig/lola.pc
#   ${CMAKE_INSTALL_BINDIR}/lola (the CLI, component lola_runtime)
# and, from bindings/, when built: ${CMAKE_INSTALL_DATADIR}/java/lola.jar (component lola_java)
# and ${CMAKE_INSTALL_LIBDIR}/cli/lola/ (Lola.dll, liblolacs.so; component lola_csharp). The
# CPack packages take lola_runtime and lola_development only.
#
# lola_core is static and linked PRIVATE into the shared library, so the exported lola target
# carries no link interface: consumers need neither lola_core nor ZLIB/Threads.

# LOLA_INSTALL is declared in the top-level CMakeLists.txt (tests/install reads it too).
if(NOT LOLA_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)

set(LOLA_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/lola" CACHE STRING
    "Where lolaConfig.cmake is installed, relative to the prefix")
set(LOLA_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where lola.pc is installed, relative to the prefix")
set(_lola_pkg_bindir "${CMAKE_CURRENT_BINARY_DIR}/packaging")

# ---- the library and its header -------------------------------------------------------------
install(TARGETS lola EXPORT lolaTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    COMPONENT lola_runtime NAMELINK_COMPONENT lola_development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT lola_development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT lola_runtime
  PUBLIC_HEADER DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT lola_development)

# ---- CMake package: find_package(lola CONFIG) -> lola::lola ----------------------------------
install(EXPORT lolaTargets
  NAMESPACE lola::
  FILE lolaTargets.cmake
  DESTINATION "${LOLA_INSTALL_CMAKEDIR}"
  COMPONENT lola_development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/lolaConfig.cmake.in"
  "${_lola_pkg_bindir}/lolaConfig.cmake"
  INSTALL_DESTINATION "${LOLA_INSTALL_CMAKEDIR}"
  NO_SET_AND_CHECK_MACRO)
# A new ABI bumps the major version, so SameMajorVersion keeps binary compatibility honest.
write_basic_package_version_file(
  "${_lola_pkg_bindir}/lolaConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${_lola_pkg_bindir}/lolaConfig.cmake"
  "${_lola_pkg_bindir}/lolaConfigVersion.cmake"
  DESTINATION "${LOLA_INSTALL_CMAKEDIR}"
  COMPONENT lola_development)

# ---- pkg-config: paths relative to ${pcfiledir}, so the installed tree can be moved ----------
if(IS_ABSOLUTE "${LOLA_INSTALL_PKGCONFIGDIR}")
  # An absolute pkgconfig directory cannot point back at a movable prefix.
  set(LOLA_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # Any anchor works: only the number of path components between the two matters.
  file(RELATIVE_PATH _lola_pc_up "/lola-prefix/${LOLA_INSTALL_PKGCONFIGDIR}" "/lola-prefix")
  string(REGEX REPLACE "/$" "" _lola_pc_up "${_lola_pc_up}")
  set(LOLA_PC_PREFIX "\${pcfiledir}/${_lola_pc_up}")
endif()
foreach(_lola_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_lola_dir}}")
    set(LOLA_PC_${_lola_dir} "${CMAKE_INSTALL_${_lola_dir}}")
  else()
    set(LOLA_PC_${_lola_dir} "\${prefix}/${CMAKE_INSTALL_${_lola_dir}}")
  endif()
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/lola.pc.in" "${_lola_pkg_bindir}/lola.pc" @ONLY)
install(FILES "${_lola_pkg_bindir}/lola.pc"
  DESTINATION "${LOLA_INSTALL_PKGCONFIGDIR}"
  COMPONENT lola_development)

# ---- CPack: a .tar.gz and a .deb -------------------------------------------------------------
# Only when liblola is the top-level project: a parent project owns its own packaging.
if(NOT PROJECT_IS_TOP_LEVEL)
  return()
endif()

set(LOLA_PACKAGE_MAINTAINER "liblola developers <liblola@example.org>" CACHE STRING
    "Maintainer field of the Debian package")
# The shared library needs the C and C++ runtimes and zlib (CRC-32 of state blobs).
# dpkg-shlibdeps is not used (it needs a full Debian source tree), so the list is explicit.
set(_lola_deb_depends "libc6, libgcc-s1 | libgcc1, libstdc++6, zlib1g")
# With CUDA sources (CMAKE_CUDA_RUNTIME_LIBRARY is Shared) or a CUDA:: link, the library needs
# libcudart.so.<major>, packaged by NVIDIA as cuda-cudart-<major>-<minor> and by Debian as
# libcudart<major>.
set(_lola_uses_cudart OFF)
foreach(_lola_tgt IN ITEMS lola lola_core)
  get_target_property(_lola_srcs ${_lola_tgt} SOURCES)
  get_target_property(_lola_libs ${_lola_tgt} LINK_LIBRARIES)
  if(_lola_srcs MATCHES "\\.cu(;|$)" OR _lola_libs MATCHES "(^|;)CUDA::")
    set(_lola_uses_cudart ON)
  endif()
endforeach()
if(LOLA_ENABLE_CUDA AND _lola_uses_cudart AND DEFINED CUDAToolkit_VERSION_MAJOR)
  string(APPEND _lola_deb_depends ", cuda-cudart-${CUDAToolkit_VERSION_MAJOR}-"
         "${CUDAToolkit_VERSION_MINOR} | libcudart${CUDAToolkit_VERSION_MAJOR}")
endif()
# -DLOLA_DEB_DEPENDS=... replaces the computed list (not cached, so it follows the build).
if(NOT DEFINED LOLA_DEB_DEPENDS)
  set(LOLA_DEB_DEPENDS "${_lola_deb_depends}")
endif()

set(CPACK_PACKAGE_NAME "lola")
set(CPACK_PACKAGE_VENDOR "liblola")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION} (liblola, C API)")
# Lines under 80 columns: CPack indents each one in the Debian control file.
set(CPACK_PACKAGE_DESCRIPTION "\
liblola is a runtime for LoLA attention (low-rank linear attention with
sparse caching): a sliding window, a sparse cache chosen by self-recall
error and a linear-attention state, with constant memory per token.
This package holds the shared library liblola.so.${LOLA_ABI_VERSION}, its C header lola.h,
a CMake package (find_package(lola)) and a pkg-config file (lola.pc).")
set(CPACK_PACKAGE_CONTACT "${LOLA_PACKAGE_MAINTAINER}")
set(CPACK_GENERATOR "TGZ;DEB")
set(CPACK_VERBATIM_VARIABLES ON)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME "lola")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${LOLA_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "libs")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${LOLA_DEB_DEPENDS}")
# A shlibs control file and the ldconfig trigger for liblola.so.<ABI>.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build[^/]*/" "/out/" "__pycache__" "\\.pyc$")

# The packages hold the C library and the CLI only: the bindings' components (lola_java,
# lola_csharp) are installed by `cmake --install` but shipped as a jar and a NuGet package.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};lola_runtime;/"
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};lola_development;/")

include(CPack)
