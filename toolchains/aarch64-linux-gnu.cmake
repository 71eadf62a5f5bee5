# Cross-compiling edgeid for 64-bit ARM (Debian arm64) with Debian's cross toolchain and the
# arm64 multiarch -dev packages that `scripts/setup --cross` installs. See docs/CROSS.md.
#
#   cmake -S . -B build-aarch64 -G Ninja --toolchain toolchains/aarch64-linux-gnu.cmake
#
# Target binaries run under qemu-user (there is no binfmt_misc in our containers), so ctest and
# doctest's test discovery go through CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(_edgeid_triplet aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${_edgeid_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_edgeid_triplet}-g++)
# Makes find_library/find_package look in <prefix>/lib/aarch64-linux-gnu, where multiarch puts the
# target's libraries and CMake configs (headers are shared with the host in /usr/include).
set(CMAKE_LIBRARY_ARCHITECTURE ${_edgeid_triplet})

# Libraries, headers and packages come from the target's world only; build tools from the host's.
set(CMAKE_FIND_ROOT_PATH /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must read the arm64 .pc files only, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${_edgeid_triplet}/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})
unset(ENV{PKG_CONFIG_SYSROOT_DIR})

# -L makes qemu take the loader (/lib/ld-linux-aarch64.so.1) from the cross toolchain's runtime in
# /usr/aarch64-linux-gnu. That loader must also get *that* directory's libc, libstdc++ and libgcc_s:
# its default search finds the arm64 multiarch libc6 in /lib/aarch64-linux-gnu first (the :arm64
# -dev packages pull it in, and it is a different glibc build, 2.36-9+deb12uN vs 2.36-8cross1), and
# that mismatched pair hangs in pthread_create. So the guest (only the guest: qemu's -E) gets
# LD_LIBRARY_PATH with the cross runtime first; multiarch libraries (libpcap...) are found after it.
find_program(EDGEID_QEMU_AARCH64 qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(NOT EDGEID_QEMU_AARCH64)
  set(EDGEID_QEMU_AARCH64 qemu-aarch64)  # configure anyway; running tests will say what is missing
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEID_QEMU_AARCH64} -L /usr/${_edgeid_triplet}
    -E LD_LIBRARY_PATH=/usr/${_edgeid_triplet}/lib:/usr/lib/${_edgeid_triplet}:/lib/${_edgeid_triplet}
    -E EDGEID_IN_QEMU=1)
