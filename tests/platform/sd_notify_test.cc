#include "platform/sd_notify.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ostream>  // doctest prints std::error_code with operator<<
#include <string>
#include <sys/socket.h>
#include <sys/un.h>

#include <doctest/doctest.h>

#include "platform/error.h"
#include "temp_dir.h"

using namespace edgeid::platform;

namespace {

// A datagram socket standing in for systemd; @p name is a path or "@abstract".
int bind_receiver(const std::string& name) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    ++len;
  }
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  return fd;
}

std::string receive(int fd) {
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

TEST_CASE("sd_notify_to sends one datagram to a path socket and to an abstract one") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("notify");
  const int fd = bind_receiver(path);
  REQUIRE_FALSE(sd_notify_to(path, "READY=1\nSTATUS=serving"));
  CHECK(receive(fd) == "READY=1\nSTATUS=serving");
  ::close(fd);

  const std::string abstract = "@edgeid-test-" + std::to_string(::getpid());
  const int afd = bind_receiver(abstract);
  REQUIRE_FALSE(sd_notify_to(abstract, "WATCHDOG=1"));
  CHECK(receive(afd) == "WATCHDOG=1");
  ::close(afd);

  CHECK(sd_notify_to("relative/path", "READY=1") == errc::invalid_argument);
  CHECK(sd_notify_to(dir.file("absent"), "READY=1") == std::errc::no_such_file_or_directory);
}

TEST_CASE("sd_notify reads $NOTIFY_SOCKET and is a no-op without it") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("notify");
  const int fd = bind_receiver(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  CHECK_FALSE(sd_notify("STOPPING=1"));
  CHECK(receive(fd) == "STOPPING=1");
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(sd_notify("READY=1"));
  CHECK(receive(fd) == "<nothing>");
  ::close(fd);
}
