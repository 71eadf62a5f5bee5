#include "control_server.h"

#include <grp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <vector>

#include <doctest/doctest.h>

#include "control_commands.h"
#include "control_fixture.h"
#include "platform/error.h"
#include "platform/unix_socket.h"
#include "platform/users.h"

using namespace edgeid;
using agent::kResultEmpty;
using agent::kResultError;
using agent::kResultOk;
using agent::kResultUnsupported;

namespace {

int connect_to(const std::string& path) {
  int fd = -1;
  const std::error_code ec = platform::connect_unix(path, fd);
  REQUIRE_MESSAGE(!ec, ec.message());
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (oversize): the answer is what matters
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Everything the server sends until it closes (or 10 s pass).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

boost::json::object parse_answer(const std::string& line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  REQUIRE_MESSAGE(!ec, line);
  REQUIRE(v.is_object());
  return v.get_object();
}

}  // namespace

TEST_CASE("control server: every command over the socket") {
  test::ControlFixture f;
  struct stat st {};
  REQUIRE(::lstat(f.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0660);

  auto r = f.request("status");
  CHECK(r.result == kResultOk);
  CHECK(r.arguments.at("version").as_string() == "0.1.0");
  r = f.request("devices", {{"state", "unmanaged"}, {"limit", 10}});
  CHECK(r.result == kResultOk);
  CHECK(r.arguments.at("devices").as_array().size() == 1);
  CHECK(f.context.last_state == "unmanaged");
  r = f.request("device", {{"key", "3c:22:fb:00:00:01"}});
  CHECK(r.result == kResultOk);
  CHECK(r.arguments.at("hostname").as_string() == "host-00001");
  r = f.request("device", {{"key", "unknown"}});
  CHECK(r.result == kResultEmpty);
  r = f.request("sync");  // the tests run as root, or as a user: see the next test case
  if (::geteuid() == 0) {
    CHECK(r.result == kResultOk);
    CHECK(f.context.syncs == 1);
    CHECK(f.request("flush").result == kResultOk);
    CHECK(f.context.flushes == 1);
  } else {
    CHECK(r.result == kResultError);
  }
  CHECK(f.request("metrics").arguments.at("metrics").as_string().size() > 10);
  CHECK(f.request("config-get").arguments.at("sensor_id").as_string() == "fw1");
  CHECK(f.request("list-commands").arguments.at("commands").as_array().size() ==
        agent::control_commands().size());
  CHECK(f.request("version").result == kResultOk);
  CHECK(f.request("no-such-command").result == kResultUnsupported);
  CHECK(f.log.joined().find("control.command") != std::string::npos);
}

TEST_CASE("control server: bad requests get error answers and the next client is served") {
  agent::ControlServerOptions options;
  options.max_request_bytes = 1024;
  test::ControlFixture f(options);

  SUBCASE("oversize") {
    const int fd = connect_to(f.path);
    send_all(fd, std::string(std::size_t{100} * 1024, 'x'));
    const auto a = parse_answer(read_all(fd));
    ::close(fd);
    CHECK(a.at("result").as_int64() == kResultError);
    CHECK(a.at("text").as_string().starts_with("request too large"));
  }
  SUBCASE("oversize via the client, then a request of exactly the limit") {
    std::string response;
    REQUIRE_FALSE(agent::control_exchange(f.client(), std::string(5000, ' '), response));
    CHECK(parse_answer(response).at("result").as_int64() == kResultError);
    std::string padded = R"({"command":"version"})";
    padded.resize(1023, ' ');  // plus '\n' = 1024
    REQUIRE_FALSE(agent::control_exchange(f.client(), padded, response));
    CHECK(parse_answer(response).at("result").as_int64() == kResultOk);
  }
  SUBCASE("truncated: the client stops mid-line and half-closes") {
    const int fd = connect_to(f.path);
    send_all(fd, R"({"command":"sta)");
    ::shutdown(fd, SHUT_WR);
    const auto a = parse_answer(read_all(fd));
    ::close(fd);
    CHECK(a.at("result").as_int64() == kResultError);
    CHECK(a.at("text").as_string().starts_with("malformed request"));
  }
  SUBCASE("truncated: the client vanishes mid-line") {
    const int fd = connect_to(f.path);
    send_all(fd, R"({"command":"sta)");
    ::close(fd);
  }
  SUBCASE("a complete request ended by EOF instead of a newline is accepted") {
    const int fd = connect_to(f.path);
    send_all(fd, R"({"command":"version"})");
    ::shutdown(fd, SHUT_WR);
    CHECK(parse_answer(read_all(fd)).at("result").as_int64() == kResultOk);
    ::close(fd);
  }
  SUBCASE("garbage and empty") {
    CHECK(parse_answer(f.exchange("\x01\x02garbage")).at("result").as_int64() == kResultError);
    CHECK(parse_answer(f.exchange("")).at("text").as_string().starts_with("empty request"));
    const int fd = connect_to(f.path);
    ::shutdown(fd, SHUT_WR);  // connect and say nothing at all
    CHECK(parse_answer(read_all(fd)).at("text").as_string().starts_with("empty request"));
    ::close(fd);
  }
  SUBCASE("bytes after the first newline are ignored") {
    const int fd = connect_to(f.path);
    send_all(fd, "{\"command\":\"version\"}\n{\"command\":\"sync\"}\n");
    const std::string answer = read_all(fd);
    ::close(fd);
    CHECK(std::count(answer.begin(), answer.end(), '\n') == 1);
    CHECK(parse_answer(answer).at("result").as_int64() == kResultOk);
    CHECK(f.context.syncs == 0);
  }
  CHECK(f.request("status").result == kResultOk);
}

TEST_CASE("control server: a silent client is disconnected after the receive timeout") {
  agent::ControlServerOptions options;
  options.receive_timeout = std::chrono::milliseconds(200);
  test::ControlFixture f(options);
  const int fd = connect_to(f.path);
  const auto start = std::chrono::steady_clock::now();
  CHECK(read_all(fd).empty());  // closed without an answer
  const auto waited = std::chrono::steady_clock::now() - start;
  ::close(fd);
  CHECK(waited >= std::chrono::milliseconds(150));
  CHECK(waited < std::chrono::seconds(5));
  CHECK(f.log.joined().find("control.timeout step=receive") != std::string::npos);
  CHECK(f.request("status").result == kResultOk);
}

TEST_CASE("control server: 50 clients connected at once are all served") {
  test::ControlFixture f;
  std::vector<int> fds;
  fds.reserve(50);
  for (int i = 0; i < 50; ++i) fds.push_back(connect_to(f.path));
  // All 50 are open before any sends: the server must hold them concurrently.
  for (std::size_t i = 0; i < fds.size(); ++i) {
    send_all(fds[i], i % 2 ? "{\"command\":\"status\"}\n" : "{\"command\":\"version\"}\n");
  }
  int ok = 0;
  for (int fd : fds) {
    ok += parse_answer(read_all(fd)).at("result").as_int64() == kResultOk ? 1 : 0;
    ::close(fd);
  }
  CHECK(ok == 50);
  CHECK(f.context.status_calls == 25);
  // Every connection is gone once its answer was written.
  for (int i = 0; i < 100 && f.connections() != 0; ++i) ::usleep(10'000);
  CHECK(f.connections() == 0);
}

TEST_CASE("control server: beyond max_connections a client gets a busy answer") {
  agent::ControlServerOptions options;
  options.max_connections = 2;
  test::ControlFixture f(options);
  const int a = connect_to(f.path);
  const int b = connect_to(f.path);
  for (int i = 0; i < 100 && f.connections() != 2; ++i) ::usleep(10'000);
  const auto third = parse_answer(f.exchange(R"({"command":"status"})"));
  CHECK(third.at("text").as_string().starts_with("busy"));
  ::close(a);
  ::close(b);
  for (int i = 0; i < 100 && f.connections() != 0; ++i) ::usleep(10'000);
  CHECK(f.request("status").result == kResultOk);
}

TEST_CASE("control server: start errors, a live socket is not stolen, stop removes the file") {
  test::ControlFixture f;
  boost::asio::io_context io2;
  test::FakeControlContext ctx2;
  platform::MemorySink sink;
  agent::ControlServerOptions options;
  options.socket_path = f.path;
  agent::ControlServer second(io2, ctx2, options, platform::Logger(sink, "control"));
  CHECK(second.start() == std::errc::address_in_use);
  second.stop();
  CHECK(f.request("status").result == kResultOk);  // the second server's stop() left it alone

  options.socket_path = f.dir.file("other.sock");
  options.admin_group = "no-such-group-edgeid";
  agent::ControlServer third(io2, ctx2, options, platform::Logger(sink, "control"));
  CHECK(third.start() == platform::errc::not_found);

  options.admin_group.clear();
  {
    agent::ControlServer fourth(io2, ctx2, options, platform::Logger(sink, "control"));
    REQUIRE_FALSE(fourth.start());
    struct stat st {};
    CHECK(::lstat(options.socket_path.c_str(), &st) == 0);
  }
  struct stat st {};
  CHECK(::lstat(options.socket_path.c_str(), &st) != 0);
  io2.run();  // the stopped servers' aborted handlers drain without touching ctx2
}

namespace {

// In a forked child (no allocation: the parent has other threads): become nobody, send one
// request, and exit 0 if the answer contains @p expect, 1 if not, 2+ on setup failure.
int request_as_nobody(const std::string& path, uid_t uid, gid_t gid, const char* request,
                      const char* expect) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(2);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(3);
    if (::send(fd, request, std::strlen(request), MSG_NOSIGNAL) < 0) ::_exit(4);
    char buf[4096];
    std::size_t len = 0;
    for (;;) {
      const ssize_t n = ::recv(fd, buf + len, sizeof buf - 1 - len, 0);
      if (n <= 0) break;
      len += static_cast<std::size_t>(n);
    }
    buf[len] = '\0';
    ::_exit(std::strstr(buf, expect) != nullptr ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("control server: an unprivileged peer may read but not mutate, unless in admin_group") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root to run a client as another user (CI runs as root)");
    return;
  }
  platform::UserInfo nobody;
  REQUIRE_FALSE(platform::lookup_user("nobody", nobody));
  char name[64] = {};
  group* g = ::getgrgid(nobody.gid);
  REQUIRE(g != nullptr);
  std::strncpy(name, g->gr_name, sizeof name - 1);

  for (const bool in_admin_group : {false, true}) {
    CAPTURE(in_admin_group);
    agent::ControlServerOptions options;
    options.mode = 0666;  // nobody is not in the socket's group in this test
    if (in_admin_group) options.admin_group = name;  // nobody's primary group
    test::ControlFixture f(options);
    REQUIRE(::chmod(f.dir.path().c_str(), 0755) == 0);

    CHECK(request_as_nobody(f.path, nobody.uid, nobody.gid, "{\"command\":\"status\"}\n",
                            "\"result\":0") == 0);
    if (in_admin_group) {
      CHECK(request_as_nobody(f.path, nobody.uid, nobody.gid, "{\"command\":\"sync\"}\n",
                              "\"result\":0") == 0);
      CHECK(f.context.syncs == 1);
    } else {
      CHECK(request_as_nobody(f.path, nobody.uid, nobody.gid, "{\"command\":\"sync\"}\n",
                              "\"result\":1,\"text\":\"permission denied") == 0);
      CHECK(request_as_nobody(f.path, nobody.uid, nobody.gid, "{\"command\":\"flush\"}\n",
                              "permission denied") == 0);
      CHECK(f.context.syncs == 0);
      CHECK(f.context.flushes == 0);
    }
  }
}
