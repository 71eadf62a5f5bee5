#pragma once
/// @file
/// User and group lookups through NSS (getpwnam_r, getgrnam_r, getgrouplist).
///
/// These calls may block on a network directory when nsswitch.conf points at one; on a firewall
/// they normally read /etc/passwd and /etc/group. Call them at start-up or rarely (the control
/// server asks only when a mutating command arrives).
/// Thread safety: reentrant (the _r variants); no shared state.
/// Errors: errc::not_found for an unknown name, errc::invalid_argument for an empty one, the
/// system category for lookup failures.

#include <string>
#include <string_view>
#include <sys/types.h>
#include <system_error>
#include <vector>

namespace edgeid::platform {

struct UserInfo {
  uid_t uid = 0;
  gid_t gid = 0;  ///< primary group
  std::string name;
};

/// Looks up a user by name (a purely numeric name is NOT taken as a uid).
std::error_code lookup_user(std::string_view name, UserInfo& out);
/// Looks up a user by uid.
std::error_code lookup_user(uid_t uid, UserInfo& out);
/// Looks up a group by name.
std::error_code lookup_group(std::string_view name, gid_t& out);

/// The groups of @p user: @p primary_gid plus its supplementary groups (getgrouplist).
std::error_code group_list(const std::string& user, gid_t primary_gid, std::vector<gid_t>& out);

/// True when @p gid == @p group_gid, or when the user with @p uid has @p group_gid among its
/// groups in the user database. Unknown uids are members of nothing but their own gid.
/// Note: SO_PEERCRED gives a peer's uid and effective gid only, not the supplementary groups of
/// the peer *process*; the user database is the authority here (like most daemons).
bool is_member(uid_t uid, gid_t gid, gid_t group_gid);

}  // namespace edgeid::platform
