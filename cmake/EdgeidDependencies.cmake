# Third-party libraries, all from Debian packages (scripts/setup installs them). Each becomes one
# imported target so that modules declare exactly what they use.
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
# Static link order matters: tls -> x509 -> crypto.
target_link_libraries(edgeid_mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY}
                                               ${MBEDCRYPTO_LIBRARY})

if(EDGEID_STATIC)
  set(_edgeid_pc_static STATIC_)
endif()
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
add_library(third_party::lmdb ALIAS PkgConfig::LMDB)
add_library(third_party::pcap ALIAS PkgConfig::PCAP)
if(EDGEID_STATIC)
  # libpcap.a needs libdbus-1.a (its Requires.private), resolved by pkg-config --static.
  pkg_check_modules(PCAP_STATIC REQUIRED libpcap)
  set(EDGEID_PCAP_STATIC_LIBS ${PCAP_STATIC_STATIC_LIBRARIES})
endif()

if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(doctest REQUIRED)
endif()

find_package(Threads REQUIRED)
