#include "platform/files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>  // doctest prints std::error_code with operator<<
#include <sstream>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include "platform/error.h"
#include "temp_dir.h"

using namespace edgeid::platform;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("write_file_atomically creates and replaces with the given mode and leaves no temp") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("state.json");
  REQUIRE_FALSE(write_file_atomically(path, "one", 0600));
  CHECK(slurp(path) == "one");
  REQUIRE_FALSE(write_file_atomically(path, std::string(100000, 'x'), 0640));
  CHECK(slurp(path).size() == 100000);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);

  CHECK(write_file_atomically(dir.file("missing/x"), "a") == std::errc::no_such_file_or_directory);
  CHECK(write_file_atomically("", "a") == errc::invalid_argument);
}

TEST_CASE("check_secret_file accepts 0600/0400 files of the owner or root and names the file") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("secret");
  std::ofstream(path) << "s3cret";
  std::string why;

  ::chmod(path.c_str(), 0600);
  CHECK_FALSE(check_secret_file(path, ::geteuid(), why));
  CHECK(why.empty());
  ::chmod(path.c_str(), 0400);
  CHECK_FALSE(check_secret_file(path, ::geteuid(), why));

  ::chmod(path.c_str(), 0640);
  CHECK(check_secret_file(path, ::geteuid(), why) == errc::permission_denied);
  CHECK(why.find(path) != std::string::npos);
  CHECK(why.find("0640") != std::string::npos);
  ::chmod(path.c_str(), 0604);
  CHECK(check_secret_file(path, ::geteuid(), why) == errc::permission_denied);

  CHECK(check_secret_file(dir.file("absent"), ::geteuid(), why) ==
        std::errc::no_such_file_or_directory);
  CHECK(why.find(dir.file("absent")) != std::string::npos);
  CHECK(check_secret_file(dir.path(), ::geteuid(), why) == errc::permission_denied);

  ::chmod(path.c_str(), 0600);
  if (::geteuid() == 0) {
    // Owned by root: acceptable for any service user; owned by someone else: not.
    CHECK_FALSE(check_secret_file(path, 4242, why));
    REQUIRE(::chown(path.c_str(), 4243, 4243) == 0);
    CHECK(check_secret_file(path, 4242, why) == errc::permission_denied);
    CHECK(why.find("4243") != std::string::npos);
    CHECK_FALSE(check_secret_file(path, 4243, why));
  } else {
    CHECK(check_secret_file(path, ::geteuid() + 1, why) == errc::permission_denied);
  }
}
