#include "platform/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <sys/signalfd.h>
#include <utility>

#include "platform/error.h"

namespace edgeid::platform {

SignalSet::~SignalSet() {
  close();
}

SignalSet::SignalSet(SignalSet&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), previous_mask_(other.previous_mask_) {}

SignalSet& SignalSet::operator=(SignalSet&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    previous_mask_ = other.previous_mask_;
  }
  return *this;
}

std::error_code SignalSet::open(std::initializer_list<int> signals) {
  if (fd_ >= 0) return std::make_error_code(std::errc::device_or_resource_busy);
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) {
    if (sigaddset(&set, s) != 0) return last_os_error();
  }
  sigset_t previous;
  // pthread_sigmask returns the error number instead of setting errno.
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, &previous); rc != 0) {
    return {rc, std::system_category()};
  }
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    const std::error_code ec = last_os_error();
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return ec;
  }
  fd_ = fd;
  previous_mask_ = previous;
  return {};
}

std::error_code SignalSet::read(int& signo) noexcept {
  signo = 0;
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  signalfd_siginfo info{};
  for (;;) {
    const ssize_t n = ::read(fd_, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) {
      signo = static_cast<int>(info.ssi_signo);
      return {};
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {};
    if (n < 0) return last_os_error();
    return std::make_error_code(std::errc::io_error);  // a short read is impossible per signalfd(2)
  }
}

void SignalSet::close() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

}  // namespace edgeid::platform
