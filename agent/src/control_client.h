#pragma once
// The client side of the control socket: one request, one answer, blocking (the CLI has nothing
// else to do meanwhile). No Asio: plain POSIX calls with SO_SNDTIMEO/SO_RCVTIMEO deadlines.
//
// Errors (std::error_code): the connect() error as is (ENOENT or ECONNREFUSED: the agent is not
// running; EACCES: the socket's mode/group keep the caller out), EAGAIN when a deadline passed,
// EMSGSIZE for an answer above max_response_bytes, EBADMSG for an answer that is not the
// envelope. Thread safety: stateless.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/json/object.hpp>

namespace edgeid::agent {

inline constexpr std::string_view kDefaultControlSocket = "/run/edgeid/control.sock";

struct ControlClientOptions {
  std::string socket_path{kDefaultControlSocket};
  std::chrono::milliseconds timeout{60'000};  ///< for sending, and again for the whole answer
  std::size_t max_response_bytes = std::size_t{512} * 1024 * 1024;
};

/// A parsed response envelope.
struct ControlReply {
  int result = 1;
  std::string text;
  boost::json::object arguments;
};

/// Sends @p request_line (a '\n' is appended) and returns the answer line without its '\n'.
std::error_code control_exchange(const ControlClientOptions& options, std::string_view request_line,
                                 std::string& response_line);

/// Sends {"command": @p command, "arguments": @p arguments} and parses the envelope.
std::error_code control_request(const ControlClientOptions& options, std::string_view command,
                                const boost::json::object& arguments, ControlReply& reply);

/// True for the connect() errors that mean "no agent is listening there".
bool is_agent_not_running(std::error_code ec) noexcept;

}  // namespace edgeid::agent
