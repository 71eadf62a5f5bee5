#pragma once
/// @file
/// A listening UNIX stream socket at a file-system path, and the credentials of a connected peer.
///
/// UnixListener::open():
/// - refuses a path longer than sun_path (107 bytes) with errc::invalid_argument;
/// - when the path exists: removes it only if it is a socket that nobody accepts on (a stale file
///   left by a crashed agent: connect() is refused); a live socket fails with EADDRINUSE and any
///   other kind of file with EEXIST, both untouched;
/// - binds, sets the mode (default 0660) and the group (by name; empty = keep the creator's), and
///   only then listen()s: no client can connect before the permissions are final;
/// - the fd is non-blocking and close-on-exec.
/// The destructor (and close()) closes the fd and unlinks the path if it is still the socket this
/// object created (same device and inode) and nobody accepts on it, so it never removes a
/// successor's socket.
///
/// Ownership: owns the fd until release() hands it over (e.g. to an Asio acceptor); after
/// release() the object still removes the path on close(), provided the new owner has closed
/// the fd first (a socket still accepting counts as someone else's).
/// Thread safety: none; one owner.
/// Errors: std::error_code (system category for OS calls, platform errc otherwise).

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <system_error>

namespace edgeid::platform {

struct UnixListenerOptions {
  std::string path;    ///< absolute path of the socket file
  mode_t mode = 0660;  ///< permissions of the socket file (connect needs write)
  std::string group;   ///< owner group by name; empty keeps the process's group
  int backlog = 64;    ///< listen(2) backlog
};

class UnixListener {
 public:
  UnixListener() noexcept = default;
  ~UnixListener();
  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) noexcept;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  /// Creates the socket as described in the file comment. Fails with EBUSY if already open.
  std::error_code open(const UnixListenerOptions& options);

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }

  /// Accepts one connection: a non-blocking, close-on-exec fd in @p client_fd. EAGAIN when none
  /// is waiting.
  std::error_code accept(int& client_fd) noexcept;

  /// Hands the listening fd to the caller (who closes it); the path is still unlinked by close().
  int release() noexcept;
  /// Closes the fd (if still owned) and removes the socket file this object created.
  void close() noexcept;

 private:
  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

/// The credentials of the process at the other end of a connected UNIX socket, as the kernel
/// recorded them at connect() time (SO_PEERCRED): not forgeable by the peer.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

std::error_code peer_credentials(int fd, PeerCredentials& out) noexcept;

/// Connects a blocking, close-on-exec UNIX stream socket to @p path; the fd goes to @p fd.
std::error_code connect_unix(const std::string& path, int& fd) noexcept;

}  // namespace edgeid::platform
