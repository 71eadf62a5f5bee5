#pragma once
// A short-lived directory under /tmp for socket and file tests (short: sun_path holds 107 bytes).

#include <cstdlib>
#include <filesystem>
#include <string>

namespace edgeid::test {

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/edgeid-XXXXXX";
    if (::mkdtemp(name) == nullptr) std::abort();
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace edgeid::test
