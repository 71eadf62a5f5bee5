#include "platform/sd_notify.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

#include "platform/error.h"

namespace edgeid::platform {

std::error_code sd_notify(std::string_view state) {
  const char* address = std::getenv("NOTIFY_SOCKET");
  if (address == nullptr || *address == '\0') return {};
  return sd_notify_to(address, state);
}

std::error_code sd_notify_to(std::string_view address, std::string_view state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (address.size() < 2 || address.size() >= sizeof addr.sun_path ||
      (address[0] != '/' && address[0] != '@')) {
    return errc::invalid_argument;
  }
  std::memcpy(addr.sun_path, address.data(), address.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract: no NUL terminator counted
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                          (address[0] == '/' ? 1 : 0));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return last_os_error();
  const ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
  const std::error_code ec = n < 0 ? last_os_error() : std::error_code{};
  ::close(fd);
  if (!ec && static_cast<std::size_t>(n) != state.size()) {
    return std::make_error_code(std::errc::message_size);
  }
  return ec;
}

}  // namespace edgeid::platform
