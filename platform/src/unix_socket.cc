#include "platform/unix_socket.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <utility>

#include "platform/error.h"
#include "platform/users.h"

namespace edgeid::platform {

namespace {

bool make_address(const std::string& path, sockaddr_un& addr) noexcept {
  addr = sockaddr_un{};
  addr.sun_family = AF_UNIX;
  // Path sockets only: an empty path (or one with a NUL) would name the abstract namespace.
  if (path.empty() || path.size() >= sizeof addr.sun_path || path.find('\0') != std::string::npos) {
    return false;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

// Does a connect() to @p addr get through (someone listens)? Any failure counts as not live.
bool is_live(const sockaddr_un& addr) noexcept {
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe < 0) return false;
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const bool live = rc == 0 || errno == EAGAIN;  // EAGAIN: a listener with a full backlog
  ::close(probe);
  return live;
}

// Is something accepting connections on @p addr? Only a refused connect() proves a stale file.
std::error_code probe_existing(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return last_os_error();
  }
  if (!S_ISSOCK(st.st_mode)) return std::make_error_code(std::errc::file_exists);
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return last_os_error();
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int saved = errno;
  ::close(probe);
  if (rc == 0) return std::make_error_code(std::errc::address_in_use);
  if (saved != ECONNREFUSED) return {saved, std::system_category()};
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return last_os_error();
  return {};
}

}  // namespace

UnixListener::~UnixListener() {
  close();
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      dev_(other.dev_),
      ino_(other.ino_) {
  other.path_.clear();
}

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    other.path_.clear();
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

std::error_code UnixListener::open(const UnixListenerOptions& options) {
  if (fd_ >= 0 || !path_.empty()) return std::make_error_code(std::errc::device_or_resource_busy);
  sockaddr_un addr{};
  if (!make_address(options.path, addr)) return errc::invalid_argument;
  gid_t gid = static_cast<gid_t>(-1);
  if (!options.group.empty()) {
    if (auto ec = lookup_group(options.group, gid)) return ec;
  }
  if (auto ec = probe_existing(options.path, addr)) return ec;

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return last_os_error();
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::error_code ec = last_os_error();
    ::close(fd);
    return ec;
  }
  struct stat st {};
  // From here on the file is ours: any failure removes it again.
  auto fail = [&](std::error_code ec) {
    ::unlink(options.path.c_str());
    ::close(fd);
    return ec;
  };
  if (::stat(options.path.c_str(), &st) != 0) return fail(last_os_error());
  if (::chmod(options.path.c_str(), options.mode) != 0) return fail(last_os_error());
  if (gid != static_cast<gid_t>(-1) &&
      ::chown(options.path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    return fail(last_os_error());
  }
  if (::listen(fd, options.backlog) != 0) return fail(last_os_error());
  fd_ = fd;
  path_ = options.path;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return {};
}

std::error_code UnixListener::accept(int& client_fd) noexcept {
  client_fd = -1;
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      client_fd = fd;
      return {};
    }
    if (errno != EINTR) return last_os_error();
  }
}

int UnixListener::release() noexcept {
  return std::exchange(fd_, -1);
}

void UnixListener::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (path_.empty()) return;
  struct stat st {};
  // Same inode and nobody listening: ours. The probe matters because a freed inode number can
  // be reused at once by a successor's socket at the same path.
  sockaddr_un addr{};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ &&
      st.st_ino == ino_ && make_address(path_, addr) && !is_live(addr)) {
    ::unlink(path_.c_str());
  }
  path_.clear();
}

std::error_code peer_credentials(int fd, PeerCredentials& out) noexcept {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return last_os_error();
  if (len != sizeof cred) return std::make_error_code(std::errc::protocol_error);
  out.pid = cred.pid;
  out.uid = cred.uid;
  out.gid = cred.gid;
  return {};
}

std::error_code connect_unix(const std::string& path, int& fd) noexcept {
  fd = -1;
  sockaddr_un addr{};
  if (!make_address(path, addr)) return errc::invalid_argument;
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return last_os_error();
  // No retry on EINTR: a retried connect() on a stream socket reports EALREADY, not success.
  if (::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::error_code ec = last_os_error();
    ::close(s);
    return ec;
  }
  fd = s;
  return {};
}

}  // namespace edgeid::platform
