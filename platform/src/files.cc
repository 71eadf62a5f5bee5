#include "platform/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>
#include <vector>

#include "platform/error.h"

namespace edgeid::platform {

namespace {

std::error_code write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_os_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::error_code write_file_atomically(const std::string& path, std::string_view contents,
                                      mode_t mode) {
  if (path.empty() || path.back() == '/') return errc::invalid_argument;
  std::string temp = path + ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return last_os_error();
  temp.assign(name.data());

  auto fail = [&](std::error_code ec) {
    ::close(fd);
    ::unlink(temp.c_str());
    return ec;
  };
  if (::fchmod(fd, mode) != 0) return fail(last_os_error());
  if (auto ec = write_all(fd, contents)) return fail(ec);
  if (::fsync(fd) != 0) return fail(last_os_error());
  if (::close(fd) != 0) {
    const std::error_code ec = last_os_error();
    ::unlink(temp.c_str());
    return ec;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::error_code ec = last_os_error();
    ::unlink(temp.c_str());
    return ec;
  }
  const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return last_os_error();
  const std::error_code ec = ::fsync(dir) != 0 ? last_os_error() : std::error_code{};
  ::close(dir);
  return ec;
}

namespace {

std::error_code check_secret_stat(const struct stat& st, const std::string& path, uid_t owner,
                                  std::string& message) {
  if (!S_ISREG(st.st_mode)) {
    message = "secret file " + path + " is not a regular file";
    return errc::permission_denied;
  }
  if (st.st_uid != owner && st.st_uid != 0) {
    message = "secret file " + path + " is owned by uid " + std::to_string(st.st_uid) +
              ", not by uid " + std::to_string(owner) + " or root; chown it";
    return errc::permission_denied;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    message = "secret file " + path + " is accessible by group or others (mode " +
              octal(st.st_mode) + "); chmod 0600 it";
    return errc::permission_denied;
  }
  return {};
}

}  // namespace

std::error_code check_secret_file(const std::string& path, uid_t owner, std::string& message) {
  message.clear();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const std::error_code ec = last_os_error();
    message = "secret file " + path + ": " + ec.message();
    return ec;
  }
  return check_secret_stat(st, path, owner, message);
}

std::error_code check_secret_fd(int fd, const std::string& path, uid_t owner,
                                std::string& message) {
  message.clear();
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::error_code ec = last_os_error();
    message = "secret file " + path + ": " + ec.message();
    return ec;
  }
  return check_secret_stat(st, path, owner, message);
}

}  // namespace edgeid::platform
