# Debian packages (CPack DEB) for amd64, arm64 and armhf: `cpack` in a build directory
# (scripts/package does it for each architecture; docs/OPERATIONS.md).
#
# The binary is dynamically linked and the package declares Debian's runtime libraries: mbedTLS
# and libpcap parse hostile input, and a Debian security update of them must reach edgeid by
# `apt upgrade`, without a rebuild. (A fully static build exists for appliances without Debian:
# EDGEID_STATIC, scripts/cross static.) The list matches what dpkg-shlibdeps derives on amd64;
# tests/packaging/package_test.sh checks that it still does.

install(FILES agent/dist/edgeid.json DESTINATION /etc/edgeid
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES agent/dist/edgeid.service DESTINATION /lib/systemd/system)
install(FILES agent/dist/edgeid.sysusers DESTINATION /usr/lib/sysusers.d RENAME edgeid.conf)
install(FILES agent/dist/edgeid.tmpfiles DESTINATION /usr/lib/tmpfiles.d RENAME edgeid.conf)
install(FILES agent/dist/edgeid.8 DESTINATION share/man/man8)
install(FILES README.md docs/OPERATIONS.md docs/UPSTREAM.md docs/upstream.schema.json
        DESTINATION share/doc/edgeid)

if(CMAKE_CROSSCOMPILING)
  # scripts/cross runs the packaged binary under the same emulator as the tests; the toolchain
  # sets it as a plain variable, so it is written down for the script here.
  string(REPLACE ";" " " _edgeid_emulator "${CMAKE_CROSSCOMPILING_EMULATOR}")
  file(WRITE ${CMAKE_BINARY_DIR}/crosscompiling-emulator.txt "${_edgeid_emulator}\n")
  if(CMAKE_SYSTEM_PROCESSOR STREQUAL "aarch64")
    set(_edgeid_deb_arch arm64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
    set(_edgeid_deb_arch armhf)
  else()
    set(_edgeid_deb_arch ${CMAKE_SYSTEM_PROCESSOR})
  endif()
else()
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _edgeid_deb_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME edgeid)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "edgeid maintainers <edgeid@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "device identity agent for firewalls and network sensors")
set(CPACK_PACKAGE_DESCRIPTION
    "edgeid learns every device on the wire passively (ARP, DHCP, NDP, mDNS, NBNS, LLDP/CDP,\n\
VLANs), fetches device identities from Microsoft Intune and Entra ID, correlates them, keeps\n\
an LMDB inventory and pushes merged records to a collector or ClickHouse.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_edgeid_deb_arch})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1 (>= 3.0), libpcap0.8 (>= 1.10.0), \
libmbedtls14 (>= 2.28.0), libmbedx509-1 (>= 2.28.0), libmbedcrypto7 (>= 2.28.0), \
liblmdb0 (>= 0.9.24), ieee-data, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/agent/dist/debian/conffiles
    ${PROJECT_SOURCE_DIR}/agent/dist/debian/postinst
    ${PROJECT_SOURCE_DIR}/agent/dist/debian/prerm
    ${PROJECT_SOURCE_DIR}/agent/dist/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
