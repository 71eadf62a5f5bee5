#include "platform/unix_socket.h"

#include <grp.h>
#include <unistd.h>

#include <fstream>
#include <ostream>  // doctest prints std::error_code with operator<<
#include <sys/socket.h>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include "platform/error.h"
#include "platform/users.h"
#include "temp_dir.h"

using namespace edgeid::platform;

TEST_CASE("UnixListener creates the socket with its mode, accepts, and removes it on close") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("ctl.sock");
  {
    UnixListener listener;
    REQUIRE_FALSE(listener.open({.path = path, .mode = 0660, .group = "", .backlog = 8}));
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);

    int fd = -1;
    CHECK(listener.accept(fd) == std::errc::resource_unavailable_try_again);
    int client = -1;
    REQUIRE_FALSE(connect_unix(path, client));
    REQUIRE_FALSE(listener.accept(fd));
    PeerCredentials cred;
    REQUIRE_FALSE(peer_credentials(fd, cred));
    CHECK(cred.pid == ::getpid());
    CHECK(cred.uid == ::geteuid());
    CHECK(cred.gid == ::getegid());
    ::close(fd);
    ::close(client);

    // A second listener on a live socket must not steal it.
    UnixListener second;
    CHECK(second.open({.path = path}) == std::errc::address_in_use);
  }
  struct stat st {};
  CHECK(::lstat(path.c_str(), &st) != 0);
  int client = -1;
  CHECK(connect_unix(path, client) == std::errc::no_such_file_or_directory);
}

TEST_CASE("UnixListener replaces a stale socket but never another kind of file") {
  edgeid::test::TempDir dir;
  const std::string path = dir.file("ctl.sock");
  {
    // A socket file that nobody listens on any more (a crashed agent's).
    UnixListener dead;
    REQUIRE_FALSE(dead.open({.path = path}));
    ::close(dead.release());
    UnixListener fresh;
    REQUIRE_FALSE(fresh.open({.path = path}));
    dead = UnixListener();  // its close() must not unlink the new socket (different inode)
    struct stat st {};
    CHECK(::lstat(path.c_str(), &st) == 0);
  }
  const std::string regular = dir.file("file");
  std::ofstream(regular) << "keep me";
  UnixListener listener;
  CHECK(listener.open({.path = regular}) == std::errc::file_exists);
  struct stat st {};
  REQUIRE(::lstat(regular.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));

  CHECK(listener.open({.path = std::string(200, 'x')}) == errc::invalid_argument);
  CHECK(listener.open({.path = dir.file("s"), .group = "no-such-group-edgeid"}) == errc::not_found);
}

TEST_CASE("UnixListener sets the socket's group by name") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: chgrp to an arbitrary group needs root");
    return;
  }
  edgeid::test::TempDir dir;
  gid_t gid = 0;
  REQUIRE_FALSE(lookup_group("nogroup", gid));
  UnixListener listener;
  REQUIRE_FALSE(listener.open({.path = dir.file("g.sock"), .mode = 0600, .group = "nogroup"}));
  struct stat st {};
  REQUIRE(::lstat(dir.file("g.sock").c_str(), &st) == 0);
  CHECK(st.st_gid == gid);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("user and group lookups and is_member") {
  UserInfo root;
  REQUIRE_FALSE(lookup_user("root", root));
  CHECK(root.uid == 0);
  UserInfo by_uid;
  REQUIRE_FALSE(lookup_user(uid_t{0}, by_uid));
  CHECK(by_uid.name == "root");
  CHECK(lookup_user("no-such-user-edgeid", root) == errc::not_found);
  CHECK(lookup_user("", root) == errc::invalid_argument);
  gid_t gid = 1;
  REQUIRE_FALSE(lookup_group("root", gid));
  CHECK(gid == 0);

  CHECK(is_member(0, 0, 0));
  CHECK(is_member(12345, 777, 777));  // the peer's own gid counts even for an unknown uid
  CHECK_FALSE(is_member(999999, 999999, 0));
  UserInfo nobody;
  if (!lookup_user("nobody", nobody)) {
    CHECK(is_member(nobody.uid, 0, nobody.gid));  // primary group from the user database
    CHECK_FALSE(is_member(nobody.uid, nobody.gid, 0));
  }
}
