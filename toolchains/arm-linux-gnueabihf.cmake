# Cross-compiling edgeid for 32-bit ARM, hard float (Debian armhf). See docs/CROSS.md.
#
#   cmake -S . -B build-armhf -G Ninja --toolchain toolchains/arm-linux-gnueabihf.cmake \
#         [-DEDGEID_ARMHF_ROOT=/opt/edgeid-armhf-root]
#
# Two sources of armhf libraries are supported:
#  - a private root: the armhf .debs unpacked into one directory by scripts/armhf-root. This is what
#    we use while the mirror's armhf multiarch index is broken. Selected by -DEDGEID_ARMHF_ROOT=DIR,
#    else by the environment variable EDGEID_ARMHF_ROOT, else /opt/edgeid-armhf-root when it exists
#    and no armhf multiarch libraries are installed.
#  - Debian multiarch (`dpkg --add-architecture armhf` + the :armhf -dev packages), like aarch64.
#    Selected when multiarch libpcap is installed and no root is given, or with -DEDGEID_ARMHF_ROOT=
#    (empty) explicitly.
# Target binaries run under qemu-arm with the cross toolchain's runtime (/usr/arm-linux-gnueabihf)
# as -L prefix and first on the guest's LD_LIBRARY_PATH (set for the guest only, via qemu's -E), so
# that its loader always gets its own libc: a multiarch libc6:armhf of another build next to the
# cross loader hangs in pthread_create (seen on arm64, see the aarch64 file). For a private root
# the root's library directories follow on LD_LIBRARY_PATH.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(_edgeid_triplet arm-linux-gnueabihf)
set(CMAKE_C_COMPILER ${_edgeid_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_edgeid_triplet}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${_edgeid_triplet})

# try_compile() projects re-read this file: hand them the choice made for the main project.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEID_ARMHF_ROOT)

if(NOT DEFINED EDGEID_ARMHF_ROOT)
  if(DEFINED ENV{EDGEID_ARMHF_ROOT})
    set(_edgeid_root "$ENV{EDGEID_ARMHF_ROOT}")
  elseif(NOT EXISTS /usr/lib/${_edgeid_triplet}/pkgconfig/libpcap.pc
         AND EXISTS /opt/edgeid-armhf-root/.edgeid-armhf-root)
    set(_edgeid_root /opt/edgeid-armhf-root)
  else()
    set(_edgeid_root "")
  endif()
  set(EDGEID_ARMHF_ROOT "${_edgeid_root}" CACHE PATH
      "Private armhf root made by scripts/armhf-root (empty: Debian armhf multiarch)")
endif()

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(EDGEID_QEMU_ARM qemu-arm NO_CMAKE_FIND_ROOT_PATH)
if(NOT EDGEID_QEMU_ARM)
  set(EDGEID_QEMU_ARM qemu-arm)  # configure anyway; running tests will say what is missing
endif()

if(EDGEID_ARMHF_ROOT)
  set(_r "${EDGEID_ARMHF_ROOT}")
  if(NOT EXISTS "${_r}/usr/lib/${_edgeid_triplet}/pkgconfig/libpcap.pc")
    message(FATAL_ERROR "EDGEID_ARMHF_ROOT=${_r} holds no armhf libraries: run scripts/armhf-root ${_r}")
  endif()
  set(_libdirs "${_r}/usr/lib/${_edgeid_triplet}" "${_r}/lib/${_edgeid_triplet}")

  # find_* re-root every search path under the private root, and only there.
  set(CMAKE_FIND_ROOT_PATH "${_r}")
  # doctest is header-only and architecture-independent: use the host's package (its include dir,
  # /usr/include, is one of the cross compiler's own, so nothing of the host's leaks in with it).
  if(NOT DEFINED doctest_DIR AND EXISTS /usr/lib/cmake/doctest/doctestConfig.cmake)
    set(doctest_DIR /usr/lib/cmake/doctest CACHE PATH "doctest's CMake config (host, arch-independent)")
  endif()

  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_r}")
  set(ENV{PKG_CONFIG_LIBDIR} "${_r}/usr/lib/${_edgeid_triplet}/pkgconfig:${_r}/usr/share/pkgconfig")
  unset(ENV{PKG_CONFIG_PATH})

  # libpcap.so's DT_NEEDED chain (libdbus-1 -> libsystemd -> ...) lives in the root, not where the
  # linker looks by itself.
  set(_rpath_link "")
  foreach(_d IN LISTS _libdirs)
    string(APPEND _rpath_link " -Wl,-rpath-link,${_d}")
  endforeach()
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${_rpath_link}")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_rpath_link}")
  set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_rpath_link}")

  list(JOIN _libdirs ":" _ld_library_path)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEID_QEMU_ARM} -L /usr/${_edgeid_triplet}
      -E LD_LIBRARY_PATH=/usr/${_edgeid_triplet}/lib:${_ld_library_path}
      -E EDGEID_IN_QEMU=1)
else()
  if(NOT EXISTS /usr/lib/${_edgeid_triplet}/pkgconfig/libpcap.pc)
    message(FATAL_ERROR "No armhf multiarch libraries (libpcap-dev:armhf etc.) are installed. While "
                        "the mirror's armhf index is broken, build a private root with "
                        "scripts/armhf-root and pass -DEDGEID_ARMHF_ROOT=<root> (docs/CROSS.md).")
  endif()
  set(CMAKE_FIND_ROOT_PATH /)
  set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${_edgeid_triplet}/pkgconfig:/usr/share/pkgconfig)
  unset(ENV{PKG_CONFIG_PATH})
  unset(ENV{PKG_CONFIG_SYSROOT_DIR})
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEID_QEMU_ARM} -L /usr/${_edgeid_triplet}
      -E LD_LIBRARY_PATH=/usr/${_edgeid_triplet}/lib:/usr/lib/${_edgeid_triplet}:/lib/${_edgeid_triplet}
      -E EDGEID_IN_QEMU=1)
endif()
