#include "platform/privileges.h"

#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <vector>

#include "platform/error.h"
#include "platform/users.h"

namespace edgeid::platform {

namespace {

// Version 3 capability sets are two 32-bit words each (64 capabilities).
constexpr int kCapWords = _LINUX_CAPABILITY_U32S_3;

int capget_raw(__user_cap_data_struct (&data)[kCapWords]) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capget, &header, data));
}

int capset_raw(const __user_cap_data_struct (&data)[kCapWords]) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

// Empties the bounding set (needs CAP_SETPCAP, i.e. before setuid). PR_CAPBSET_DROP fails with
// EINVAL past the kernel's last capability, which ends the loop.
std::error_code drop_bounding_set() noexcept {
  for (unsigned long cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;
      return last_os_error();
    }
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return last_os_error();
  }
  return {};
}

}  // namespace

bool has_no_capabilities() noexcept {
  __user_cap_data_struct data[kCapWords] = {};
  if (capget_raw(data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

std::error_code drop_capabilities() noexcept {
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return last_os_error();
  const __user_cap_data_struct empty[kCapWords] = {};
  if (capset_raw(empty) != 0) return last_os_error();
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return last_os_error();
  if (!has_no_capabilities()) return std::make_error_code(std::errc::operation_not_permitted);
  return {};
}

std::error_code drop_privileges(std::string_view user) {
  UserInfo info;
  if (auto ec = lookup_user(user, info)) return ec;
  if (info.uid == 0) return errc::invalid_argument;  // "dropping" to root drops nothing

  if (::geteuid() != 0) {
    if (::getuid() != info.uid || ::geteuid() != info.uid) {
      return std::make_error_code(std::errc::operation_not_permitted);
    }
  } else {
    std::vector<gid_t> groups;
    if (auto ec = group_list(info.name, info.gid, groups)) return ec;
    // Ambient capabilities would survive the uid change into an execve'd child: clear them too.
    // EINVAL means a kernel without ambient capabilities (< 4.3), where there is nothing to clear.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
      return last_os_error();
    }
    if (auto ec = drop_bounding_set()) return ec;
    if (::setgroups(groups.size(), groups.data()) != 0) return last_os_error();
    if (::setresgid(info.gid, info.gid, info.gid) != 0) return last_os_error();
    if (::setresuid(info.uid, info.uid, info.uid) != 0) return last_os_error();
  }
  if (auto ec = drop_capabilities()) return ec;

  // Trust, but verify: none of these may succeed any more.
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0 || ::setegid(0) == 0) {
    return std::make_error_code(std::errc::operation_not_permitted);
  }
  if (::getuid() != info.uid || ::geteuid() != info.uid || ::getgid() != info.gid ||
      ::getegid() != info.gid) {
    return std::make_error_code(std::errc::operation_not_permitted);
  }
  return {};
}

}  // namespace edgeid::platform
