#include "control_client.h"

#include <unistd.h>

#include <cerrno>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "platform/error.h"
#include "platform/unix_socket.h"

namespace edgeid::agent {

namespace json = boost::json;

namespace {

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

void set_timeout(int fd, int option, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

}  // namespace

std::error_code control_exchange(const ControlClientOptions& options, std::string_view request_line,
                                 std::string& response_line) {
  response_line.clear();
  int raw = -1;
  if (auto ec = platform::connect_unix(options.socket_path, raw)) return ec;
  Fd fd(raw);
  set_timeout(fd.get(), SO_SNDTIMEO, options.timeout);
  set_timeout(fd.get(), SO_RCVTIMEO, options.timeout);

  std::string request(request_line);
  request.push_back('\n');
  std::string_view pending(request);
  while (!pending.empty()) {
    const ssize_t n = ::send(fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The server may answer (e.g. "request too large") and close before reading everything:
      // stop sending and read what it said.
      if (errno == EPIPE || errno == ECONNRESET) break;
      return platform::last_os_error();
    }
    pending.remove_prefix(static_cast<std::size_t>(n));
  }

  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET && !response_line.empty()) break;
      return platform::last_os_error();
    }
    if (n == 0) break;
    response_line.append(buffer, static_cast<std::size_t>(n));
    if (const auto nl = response_line.find('\n'); nl != std::string::npos) {
      response_line.resize(nl);
      return {};
    }
    if (response_line.size() > options.max_response_bytes) {
      return std::make_error_code(std::errc::message_size);
    }
  }
  if (response_line.empty()) return std::make_error_code(std::errc::bad_message);
  return {};  // the server closed without a final newline: take what it sent
}

std::error_code control_request(const ControlClientOptions& options, std::string_view command,
                                const json::object& arguments, ControlReply& reply) {
  json::object envelope;
  envelope["command"] = command;
  envelope["arguments"] = arguments;
  std::string line;
  if (auto ec = control_exchange(options, json::serialize(envelope), line)) return ec;

  std::error_code ec;
  json::value parsed = json::parse(line, ec);
  if (ec || !parsed.is_object()) return std::make_error_code(std::errc::bad_message);
  json::object& o = parsed.get_object();
  const json::value* result = o.if_contains("result");
  if (result == nullptr || !result->is_int64()) return std::make_error_code(std::errc::bad_message);
  reply.result = static_cast<int>(result->get_int64());
  reply.text.clear();
  if (const auto* text = o.if_contains("text"); text && text->is_string()) {
    reply.text = std::string(text->get_string());
  }
  reply.arguments.clear();
  if (auto* args = o.if_contains("arguments"); args && args->is_object()) {
    reply.arguments = std::move(args->get_object());
  }
  return {};
}

bool is_agent_not_running(std::error_code ec) noexcept {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused;
}

}  // namespace edgeid::agent
