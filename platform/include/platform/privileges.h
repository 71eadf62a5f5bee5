#pragma once
/// @file
/// Dropping root for good: the agent starts as root (to open capture devices and create its
/// socket) and then runs as an unprivileged user.
///
/// drop_privileges(user), in this order:
///  1. looks the user up (errc::not_found if unknown; errc::invalid_argument if it is uid 0);
///  2. while still privileged, empties the capability bounding set and the ambient set;
///  3. setgroups() to the user's supplementary groups, setresgid(), setresuid() (real, effective
///     and saved ids, so nothing can be regained through the saved set-user-id);
///  4. PR_SET_KEEPCAPS off, then capset() to empty effective/permitted/inheritable sets (the raw
///     syscall with linux/capability.h: no libcap);
///  5. PR_SET_NO_NEW_PRIVS, so no later execve (of a setuid helper, say) can gain anything;
///  6. verifies: setuid(0) and setgid(0) must fail, and capget() must show no capability left.
/// Any failure returns an error; the process is then in an undefined half-dropped state and must
/// exit (start-up error, DESIGN.md §8). Calling it when not root fails with EPERM unless the
/// process already runs as @p user (then only steps 4-6 run).
///
/// Thread safety: setresuid() and friends apply to all threads (glibc broadcasts them), but call
/// this before starting other threads so that no thread observes a partial change.
/// Errors: std::error_code (system category for OS calls).

#include <string_view>
#include <system_error>

namespace edgeid::platform {

std::error_code drop_privileges(std::string_view user);

/// Steps 4-6 only: for a process that is already unprivileged (or a test).
std::error_code drop_capabilities() noexcept;

/// True when the effective and permitted capability sets are empty (capget).
bool has_no_capabilities() noexcept;

}  // namespace edgeid::platform
