#include "platform/privileges.h"

#include <grp.h>
#include <unistd.h>

#include <ostream>  // doctest prints std::error_code with operator<<
#include <sys/prctl.h>
#include <sys/wait.h>

#include <doctest/doctest.h>

#include "platform/error.h"
#include "platform/users.h"

using namespace edgeid::platform;

TEST_CASE("drop_privileges refuses unknown users and root") {
  CHECK(drop_privileges("no-such-user-edgeid") == errc::not_found);
  CHECK(drop_privileges("root") == errc::invalid_argument);
}

TEST_CASE("drop_privileges switches to the user for good, in a forked child") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: drop_privileges needs root (run the tests as root, as CI does)");
    return;
  }
  UserInfo nobody;
  REQUIRE_FALSE(lookup_user("nobody", nobody));
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: each failed check exits with its own code, so the parent can say which one.
    if (drop_privileges("nobody")) ::_exit(10);
    if (::getuid() != nobody.uid || ::geteuid() != nobody.uid) ::_exit(11);
    if (::getgid() != nobody.gid || ::getegid() != nobody.gid) ::_exit(12);
    if (::setuid(0) == 0 || ::setresuid(0, 0, 0) == 0) ::_exit(13);
    if (!has_no_capabilities()) ::_exit(14);
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) ::_exit(15);
    if (::prctl(PR_CAPBSET_READ, 0 /* CAP_CHOWN */, 0, 0, 0) != 0) ::_exit(16);
    gid_t groups[64];
    const int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i) {
      if (groups[i] == 0) ::_exit(17);  // root's supplementary groups are gone
    }
    // Already the user: a second call only re-checks.
    if (drop_privileges("nobody")) ::_exit(18);
    // Not root and not the user: refused.
    if (drop_privileges("daemon") != std::errc::operation_not_permitted) ::_exit(19);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
