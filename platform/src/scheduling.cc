#include "platform/scheduling.h"

#include <unistd.h>

#include <cerrno>
#include <sys/resource.h>
#include <sys/syscall.h>

namespace edgeid::platform {

namespace {

// PRIO_PROCESS with a thread id addresses that one thread on Linux (not the whole process).
id_t this_thread() noexcept {
  return static_cast<id_t>(::syscall(SYS_gettid));
}

}  // namespace

int thread_nice() noexcept {
  errno = 0;
  return ::getpriority(PRIO_PROCESS, this_thread());
}

std::error_code lower_thread_priority(int increment) noexcept {
  if (increment <= 0) return std::make_error_code(std::errc::invalid_argument);
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, this_thread());
  if (now == -1 && errno != 0) return {errno, std::system_category()};
  if (::setpriority(PRIO_PROCESS, this_thread(), now + increment) != 0) {
    return {errno, std::system_category()};
  }
  return {};
}

}  // namespace edgeid::platform
