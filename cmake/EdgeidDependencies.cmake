# Third-party libraries, all from Debian packages (scripts/setup installs them). Each becomes one
# imported target so that modules declare exactly what they use.
#
# Cross builds: the toolchain files (toolchains/*.cmake) point find_*, pkg-config and the Boost
# config at the target's libraries (multiarch or a private root); nothing here is target-specific.
find_package(PkgConfig REQUIRED)

# Debian's BoostConfigVersion compares "1.81" and "1.81.0" as strings: ask for the full version,
# in CONFIG mode, or CMake silently falls back to its old FindBoost module.
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED)

# mbedTLS 2.28 ships neither a CMake config nor a .pc file.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
find_library(MBEDTLS_LIBRARY mbedtls REQUIRED)
find_library(MBEDX509_LIBRARY mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
add_library(edgeid_mbedtls INTERFACE)
add_library(third_party::mbedtls ALIAS edgeid_mbedtls)
target_include_directories(edgeid_mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})

pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)

if(NOT EDGEID_STATIC)
  # Static link order matters: tls -> x509 -> crypto.
  target_link_libraries(edgeid_mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY}
                                                 ${MBEDCRYPTO_LIBRARY})
  add_library(third_party::lmdb ALIAS PkgConfig::LMDB)
  add_library(third_party::pcap ALIAS PkgConfig::PCAP)
else()
  # EDGEID_STATIC: a target whose EDGEID_FULLY_STATIC property is true (only the edgeid
  # executable, see agent/CMakeLists.txt) links -static, so it must get .a archives instead of
  # .so paths (ld refuses a shared object under -static). Every other target, the tests included,
  # links exactly as without EDGEID_STATIC. $<TARGET_PROPERTY:EDGEID_FULLY_STATIC> in a link
  # interface is evaluated on the target being linked.
  set(_fully_static "$<BOOL:$<TARGET_PROPERTY:EDGEID_FULLY_STATIC>>")

  # Finds lib<name>.a for each name, in the given directories first; fails loudly if one is missing.
  function(_edgeid_static_archives out)
    cmake_parse_arguments(A "" "" "NAMES;HINTS" ${ARGN})
    set(paths "")
    foreach(name IN LISTS A_NAMES)
      string(MAKE_C_IDENTIFIER "EDGEID_STATIC_LIB_${name}" var)
      find_library(${var} NAMES lib${name}.a HINTS ${A_HINTS})
      if(NOT ${var})
        message(FATAL_ERROR "EDGEID_STATIC: lib${name}.a not found (searched ${A_HINTS} and the "
                            "default paths); its Debian -dev package ships it")
      endif()
      list(APPEND paths ${${var}})
    endforeach()
    set(${out} ${paths} PARENT_SCOPE)
  endfunction()

  # third_party::<name> links <name>_static for a fully static target, <shared> for all others.
  function(_edgeid_static_switch name shared)
    add_library(edgeid_${name}_static INTERFACE)
    add_library(edgeid_${name}_shared INTERFACE)
    target_link_libraries(edgeid_${name}_shared INTERFACE ${shared})
    if(NOT TARGET edgeid_${name})
      add_library(edgeid_${name} INTERFACE)
      add_library(third_party::${name} ALIAS edgeid_${name})
    endif()
    target_link_libraries(edgeid_${name} INTERFACE
      "$<IF:${_fully_static},edgeid_${name}_static,edgeid_${name}_shared>")
  endfunction()

  get_filename_component(_mbedtls_dir ${MBEDTLS_LIBRARY} DIRECTORY)
  _edgeid_static_archives(_mbedtls_a NAMES mbedtls mbedx509 mbedcrypto HINTS ${_mbedtls_dir})
  _edgeid_static_switch(mbedtls "${MBEDTLS_LIBRARY};${MBEDX509_LIBRARY};${MBEDCRYPTO_LIBRARY}")
  target_link_libraries(edgeid_mbedtls_static INTERFACE ${_mbedtls_a})

  _edgeid_static_archives(_lmdb_a NAMES ${LMDB_STATIC_LIBRARIES} HINTS ${LMDB_STATIC_LIBRARY_DIRS})
  _edgeid_static_switch(lmdb PkgConfig::LMDB)
  target_link_libraries(edgeid_lmdb_static INTERFACE ${_lmdb_a} Threads::Threads)
  target_include_directories(edgeid_lmdb SYSTEM INTERFACE ${LMDB_INCLUDE_DIRS})

  # libpcap.a pulls in libdbus-1.a (its Requires.private, from pkg-config --static), and
  # libdbus-1.a wants sd_listen_fds/sd_is_socket from libsystemd, of which Debian ships no .a:
  # agent/src/static_stubs.cc defines those two for the fully static edgeid instead.
  set(_pcap_static_names ${PCAP_STATIC_LIBRARIES})
  list(REMOVE_ITEM _pcap_static_names systemd)
  _edgeid_static_archives(_pcap_a NAMES ${_pcap_static_names} HINTS ${PCAP_STATIC_LIBRARY_DIRS})
  _edgeid_static_switch(pcap PkgConfig::PCAP)
  target_link_libraries(edgeid_pcap_static INTERFACE ${_pcap_a} Threads::Threads)
  target_include_directories(edgeid_pcap SYSTEM INTERFACE ${PCAP_INCLUDE_DIRS})
endif()

if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(doctest REQUIRED)
endif()

find_package(Threads REQUIRED)
