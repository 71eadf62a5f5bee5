#pragma once
// Where the shared, read-only test material lives: EDGEID_SHARED_DIR from the environment, else
// the compile-time default. Tests that need it skip (with a message) when it is absent.

#include <cstdlib>
#include <filesystem>

namespace edgeid::test {

inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("EDGEID_SHARED_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return EDGEID_SHARED_DIR;
}

}  // namespace edgeid::test
