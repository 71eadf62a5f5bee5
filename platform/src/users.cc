#include "platform/users.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "platform/error.h"

namespace edgeid::platform {

namespace {

// The _r lookups report "no such entry" as rc 0 with a null result, and a too-small buffer as
// ERANGE: grow and retry.
// The entry's strings point into @p buffer, which the caller keeps until it has copied them.
template <class Lookup>
std::error_code with_buffer(std::vector<char>& buffer, Lookup&& lookup) {
  buffer.resize(1024);
  for (;;) {
    const int rc = lookup(buffer);
    if (rc == 0) return {};
    if (rc != ERANGE) return {rc, std::system_category()};
    if (buffer.size() >= std::size_t{1024} * 1024) return {ERANGE, std::system_category()};
    buffer.resize(buffer.size() * 4);
  }
}

std::error_code from_passwd(std::error_code ec, const passwd* result, UserInfo& out) {
  if (ec) return ec;
  if (result == nullptr) return errc::not_found;
  out.uid = result->pw_uid;
  out.gid = result->pw_gid;
  out.name = result->pw_name;
  return {};
}

}  // namespace

std::error_code lookup_user(std::string_view name, UserInfo& out) {
  if (name.empty()) return errc::invalid_argument;
  const std::string key(name);
  passwd entry{};
  passwd* result = nullptr;
  std::vector<char> buffer;
  const std::error_code ec = with_buffer(buffer, [&](std::vector<char>& buf) {
    return getpwnam_r(key.c_str(), &entry, buf.data(), buf.size(), &result);
  });
  return from_passwd(ec, result, out);
}

std::error_code lookup_user(uid_t uid, UserInfo& out) {
  passwd entry{};
  passwd* result = nullptr;
  std::vector<char> buffer;
  const std::error_code ec = with_buffer(buffer, [&](std::vector<char>& buf) {
    return getpwuid_r(uid, &entry, buf.data(), buf.size(), &result);
  });
  return from_passwd(ec, result, out);
}

std::error_code lookup_group(std::string_view name, gid_t& out) {
  if (name.empty()) return errc::invalid_argument;
  const std::string key(name);
  group entry{};
  group* result = nullptr;
  std::vector<char> buffer;
  const std::error_code ec = with_buffer(buffer, [&](std::vector<char>& buf) {
    return getgrnam_r(key.c_str(), &entry, buf.data(), buf.size(), &result);
  });
  if (ec) return ec;
  if (result == nullptr) return errc::not_found;
  out = result->gr_gid;
  return {};
}

std::error_code group_list(const std::string& user, gid_t primary_gid, std::vector<gid_t>& out) {
  int count = 32;
  for (int attempt = 0; attempt < 8; ++attempt) {
    out.assign(static_cast<std::size_t>(count), 0);
    int n = count;
    // getgrouplist returns -1 and sets n to the needed size when the array is too small.
    if (getgrouplist(user.c_str(), primary_gid, out.data(), &n) >= 0) {
      out.resize(static_cast<std::size_t>(n));
      return {};
    }
    count = std::max(n, count * 2);
  }
  return {ERANGE, std::system_category()};
}

bool is_member(uid_t uid, gid_t gid, gid_t group_gid) {
  if (gid == group_gid) return true;
  UserInfo user;
  if (lookup_user(uid, user)) return false;
  if (user.gid == group_gid) return true;
  std::vector<gid_t> groups;
  if (group_list(user.name, user.gid, groups)) return false;
  return std::find(groups.begin(), groups.end(), group_gid) != groups.end();
}

}  // namespace edgeid::platform
