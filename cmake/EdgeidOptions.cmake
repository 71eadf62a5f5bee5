# One INTERFACE target carries the language level, warnings and sanitizer flags; every project
# target links it, third-party code never sees it.
add_library(edgeid_options INTERFACE)
add_library(edgeid::options ALIAS edgeid_options)
target_compile_features(edgeid_options INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)

# -Wno-missing-field-initializers: GCC 12 warns on C++20 designated initializers that leave
# members to their default member initializers, which is exactly how they are meant to be used.
target_compile_options(edgeid_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                -Wno-sign-conversion -Wno-missing-field-initializers)
if(EDGEID_WERROR)
  target_compile_options(edgeid_options INTERFACE -Werror)
endif()
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC notes an ABI change of GCC 7 on armhf for every std::pair/struct parameter; not ours.
  target_compile_options(edgeid_options INTERFACE -Wno-psabi)
endif()

if(EDGEID_SANITIZE)
  # Applied globally so that every object, including doctest's and Boost's inlined code, is
  # instrumented consistently.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(EDGEID_STATIC)
  add_compile_options(-ffunction-sections -fdata-sections)
endif()

# Project include paths resolve as <module>/header.h; everything else comes in as SYSTEM.
function(edgeid_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(edgeid_${name} STATIC ${M_SOURCES})
  add_library(edgeid::${name} ALIAS edgeid_${name})
  target_include_directories(edgeid_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                            PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(edgeid_${name} PUBLIC ${M_DEPS} PRIVATE edgeid::options)
endfunction()
