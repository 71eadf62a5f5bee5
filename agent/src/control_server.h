#pragma once
// The control socket server (DESIGN.md §6): a UNIX stream socket on the agent's io_context that
// answers one JSON request per connection with the command table of control_commands.h.
//
// Per connection: the peer's credentials are taken with SO_PEERCRED at accept; the request is
// read up to its first '\n' (or EOF) within receive_timeout and max_request_bytes; the answer is
// written within send_timeout; then the connection is closed. A request that is too big, cut
// short, not JSON, or empty gets a result-1 answer; a client that stays silent is disconnected
// when receive_timeout expires. Beyond max_connections, a new client gets a result-1 "busy"
// answer at once. Nothing blocks the io_context except the command handlers themselves (which
// run on it, as ControlContext requires) and the user-database lookup for a mutating command.
//
// Authority: anyone who can open the socket (its mode and group decide that) may run read-only
// commands; mutating ones (sync, flush, upstream-retry) need uid 0 or membership in admin_group
// (not the agent's own uid: that may be a shared one such as nobody).
//
// Wiring (the daemon):
//   ControlServer server(io, context, {.socket_path = cfg.socket, .group = cfg.group,
//                                      .admin_group = cfg.admin_group}, log.child("control"));
//   if (auto ec = server.start()) throw ...;   // before dropping privileges: chgrp needs them
//   ... io.run() ...;   server.stop();          // or let the destructor stop it
//
// Lifetime: io and context must outlive the server. stop() (also run by the destructor) closes
// the listener and every connection and removes the socket file; handlers still queued on the
// io_context then complete with "aborted" and never touch the context.
// Thread safety: construct, start(), stop() and destroy on the io_context's thread (or before it
// runs); the io_context must be run by one thread. Not copyable.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <sys/types.h>
#include <system_error>

#include "control_context.h"
#include "platform/log.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace edgeid::agent {

struct ControlServerOptions {
  std::string socket_path = "/run/edgeid/control.sock";
  std::string group;        ///< owner group of the socket file; empty keeps the process's group
  std::string admin_group;  ///< may run mutating commands besides root; empty: root only
  mode_t mode = 0660;       ///< socket file permissions (connect needs write permission)
  std::size_t max_request_bytes = std::size_t{64} * 1024;  ///< including the '\n'
  std::chrono::milliseconds receive_timeout{10'000};       ///< from accept to the whole request
  std::chrono::milliseconds send_timeout{10'000};          ///< to write the whole answer
  std::size_t max_connections = 64;                        ///< open at once; more get "busy"
  int backlog = 64;                                        ///< listen(2) backlog
};

class ControlServer {
 public:
  /// @p log is copied (a Logger is a sink reference and a name).
  ControlServer(boost::asio::io_context& io, ControlContext& context, ControlServerOptions options,
                const platform::Logger& log);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Resolves the groups, creates the socket file (replacing a stale one; see
  /// platform/unix_socket.h) and starts accepting. Errors: platform errc::not_found for an
  /// unknown group, EADDRINUSE when another agent is listening, other system errors.
  std::error_code start();
  /// Stops accepting, closes every connection, removes the socket file. Idempotent.
  void stop() noexcept;

  /// Connections currently open (for tests and `status`).
  std::size_t connection_count() const noexcept;
  const std::string& socket_path() const noexcept;

 private:
  struct Impl;
  friend class ControlConnection;  // control_server.cc: one accepted client
  std::shared_ptr<Impl> impl_;
};

}  // namespace edgeid::agent
