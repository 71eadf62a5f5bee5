#pragma once
/// @file
/// File helpers with a safety contract: atomic replacement and the secret-file check.
///
/// Thread safety: stateless. Errors: std::error_code (system category for OS calls).

#include <string>
#include <string_view>
#include <sys/types.h>
#include <system_error>

namespace edgeid::platform {

/// Replaces @p path with @p contents so that a reader (or a crash) sees either the old file or
/// the complete new one, never a mix: writes a temporary file in the same directory, fsyncs it,
/// renames it over @p path, then fsyncs the directory so the rename itself is durable. The new
/// file gets @p mode (not subject to the umask). On failure the temporary file is removed and
/// @p path is untouched.
std::error_code write_file_atomically(const std::string& path, std::string_view contents,
                                      mode_t mode = 0644);

/// Checks that a file holding a secret (client secret, private key, token) is safe to trust:
/// a regular file (symbolic links are followed), owned by @p owner or by root, with no group or
/// world permission bits (0600 or 0400). On failure returns errc::permission_denied (or the
/// stat error, e.g. ENOENT) and sets @p message to one line naming the file and the fix, e.g.
/// "secret file /etc/edgeid/secret is readable by group or others (mode 0644); chmod 0600 it".
std::error_code check_secret_file(const std::string& path, uid_t owner, std::string& message);

/// The same check on a descriptor already open for reading (fstat), so that what is checked is
/// what is read; @p path only names the file in @p message.
std::error_code check_secret_fd(int fd, const std::string& path, uid_t owner, std::string& message);

}  // namespace edgeid::platform
