// The one translation unit of the control channel that includes Asio (compile cost). Structure:
// Impl owns the acceptor and knows every open ControlConnection; each ControlConnection reads one
// line, asks handle_request(), writes the answer and closes, with one timer bounding each step.

#include "control_server.h"

#include <unistd.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "control_commands.h"
#include "platform/unix_socket.h"
#include "platform/users.h"

namespace edgeid::agent {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;
using BoostError = boost::system::error_code;

class ControlConnection;

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  Impl(asio::io_context& io_context, ControlContext& ctx, ControlServerOptions opts,
       const platform::Logger& logger)
      : io(io_context),
        context(ctx),
        options(std::move(opts)),
        log(logger),
        acceptor(io_context),
        retry_timer(io_context) {}

  void accept();
  void on_accept(const BoostError& ec, Local::socket socket);
  bool may_mutate(const platform::PeerCredentials& peer) const;

  asio::io_context& io;
  ControlContext& context;
  const ControlServerOptions options;
  platform::Logger log;
  platform::UnixListener listener;  // owns the socket file; the fd is the acceptor's
  Local::acceptor acceptor;
  asio::steady_timer retry_timer;
  std::optional<gid_t> admin_gid;
  std::unordered_set<ControlConnection*>
      connections;  // not owning: each removes itself when destroyed
  bool stopped = false;
};

namespace {

std::error_code to_std(const BoostError& ec) {
  return {ec.value(), std::system_category()};
}

}  // namespace

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  ControlConnection(std::shared_ptr<ControlServer::Impl> server, Local::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), timer_(server_->io) {
    server_->connections.insert(this);
  }
  ~ControlConnection() { server_->connections.erase(this); }
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  void start() {
    if (auto ec = platform::peer_credentials(socket_.native_handle(), peer_)) {
      server_->log.warning("peer_credentials_failed", platform::kv("error", ec.message()));
    }
    if (server_->connections.size() > server_->options.max_connections) {
      respond({kResultError, "busy: too many control connections, try again", {}});
      return;
    }
    arm(server_->options.receive_timeout, "receive");
    buffer_.reserve(256);
    asio::async_read_until(
        socket_, asio::dynamic_buffer(buffer_, server_->options.max_request_bytes), '\n',
        [self = shared_from_this()](const BoostError& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void close() {
    timer_.cancel();
    BoostError ignored;
    socket_.shutdown(Local::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // One timer bounds the current step; re-arming cancels the previous wait.
  void arm(std::chrono::milliseconds timeout, const char* step) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), step](const BoostError& ec) {
      if (ec) return;  // cancelled: the step finished in time
      self->server_->log.info("timeout", platform::kv("step", step),
                              platform::kv("uid", self->peer_.uid),
                              platform::kv("pid", self->peer_.pid));
      self->close();
    });
  }

  void on_read(const BoostError& ec, std::size_t n) {
    if (server_->stopped || ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (ec == asio::error::not_found) {
      respond({kResultError,
               "request too large: more than " +
                   std::to_string(server_->options.max_request_bytes) + " bytes without a newline",
               {}});
      return;
    }
    std::string_view request(buffer_);
    if (!ec) {
      request = request.substr(0, n - 1);  // up to the first '\n'; anything after is ignored
    } else if (ec != asio::error::eof) {
      server_->log.debug("read_failed", platform::kv("error", ec.message()));
      close();
      return;
    }
    // EOF: the request is whatever came before it (a cut-short request fails to parse).
    const platform::PeerCredentials peer = peer_;
    const ControlServer::Impl& server = *server_;
    Answer answer = handle_request(request, server_->context,
                                   [&server, peer] { return server.may_mutate(peer); });
    server_->log.info("command", platform::kv("uid", peer_.uid), platform::kv("pid", peer_.pid),
                      platform::kv("command", command_name(request)),
                      platform::kv("result", answer.result));
    respond(answer);
  }

  // For the log only: the command name if the request parses that far, cheaply.
  static std::string command_name(std::string_view request) {
    const auto at = request.find("\"command\"");
    if (at == std::string_view::npos) return "?";
    const auto open = request.find('"', request.find(':', at));
    const auto end = open == std::string_view::npos ? open : request.find('"', open + 1);
    if (end == std::string_view::npos || end - open > 64) return "?";
    return std::string(request.substr(open + 1, end - open - 1));
  }

  void respond(const Answer& answer) {
    response_ = serialize_answer(answer);
    response_.push_back('\n');
    arm(server_->options.send_timeout, "send");
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const BoostError& ec, std::size_t) {
                        if (ec) {
                          if (ec != asio::error::operation_aborted) {
                            self->server_->log.debug("write_failed",
                                                     platform::kv("error", ec.message()));
                          }
                          self->close();
                          return;
                        }
                        self->linger();
                      });
  }

  // A lingering close: closing with unread request bytes (an oversize request) would reset
  // the connection and the client could lose the answer it has not read yet. So: end our
  // side, discard what the client still sends until it closes, bounded in time and bytes.
  void linger() {
    BoostError ignored;
    socket_.shutdown(Local::socket::shutdown_send, ignored);
    arm(kLingerTimeout, "linger");
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](const BoostError& ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) {
                                self->close();
                                return;
                              }
                              self->drain();
                            });
  }

  static constexpr std::chrono::milliseconds kLingerTimeout{1000};
  static constexpr std::size_t kLingerBytes = std::size_t{1} << 20;

  std::shared_ptr<ControlServer::Impl> server_;
  Local::socket socket_;
  asio::steady_timer timer_;
  platform::PeerCredentials peer_;
  std::string buffer_;
  std::string response_;
  std::array<char, 4096> scratch_{};
  std::size_t drained_ = 0;
};

void ControlServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](const BoostError& ec, Local::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void ControlServer::Impl::on_accept(const BoostError& ec, Local::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (ec) {
    // EMFILE and friends: retrying at once would spin; wait a little.
    log.warning("accept_failed", platform::kv("error", ec.message()));
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([self = shared_from_this()](const BoostError& wait_ec) {
      if (!wait_ec && !self->stopped) self->accept();
    });
    return;
  }
  std::make_shared<ControlConnection>(shared_from_this(), std::move(socket))->start();
  accept();
}

bool ControlServer::Impl::may_mutate(const platform::PeerCredentials& peer) const {
  // Not the agent's own uid: that may be a shared one such as nobody.
  if (peer.uid == 0) return true;
  return admin_gid && platform::is_member(peer.uid, peer.gid, *admin_gid);
}

ControlServer::ControlServer(asio::io_context& io, ControlContext& context,
                             ControlServerOptions options, const platform::Logger& log)
    : impl_(std::make_shared<Impl>(io, context, std::move(options), log)) {}

ControlServer::~ControlServer() {
  stop();
}

std::error_code ControlServer::start() {
  Impl& s = *impl_;
  if (s.acceptor.is_open()) return std::make_error_code(std::errc::device_or_resource_busy);
  if (!s.options.admin_group.empty()) {
    gid_t gid = 0;
    if (auto ec = platform::lookup_group(s.options.admin_group, gid)) return ec;
    s.admin_gid = gid;
  }
  if (auto ec = s.listener.open({.path = s.options.socket_path,
                                 .mode = s.options.mode,
                                 .group = s.options.group,
                                 .backlog = s.options.backlog})) {
    return ec;
  }
  BoostError ec;
  s.acceptor.assign(Local(), s.listener.release(), ec);
  if (ec) {
    s.listener.close();
    return to_std(ec);
  }
  s.stopped = false;
  s.accept();
  s.log.info("listening", platform::kv("socket", s.options.socket_path));
  return {};
}

void ControlServer::stop() noexcept {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  BoostError ignored;
  s.acceptor.close(ignored);
  // timer cancel() reports failures by throwing; none is possible for a valid timer, and stop()
  // must not throw (it runs in the destructor).
  try {
    s.retry_timer.cancel();
    const std::vector<ControlConnection*> open(s.connections.begin(), s.connections.end());
    for (ControlConnection* c : open) c->close();  // each is destroyed later, by its handlers
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing better to do while stopping
  }
  s.listener.close();  // after the acceptor: the file is removed only once nobody listens on it
}

std::size_t ControlServer::connection_count() const noexcept {
  return impl_->connections.size();
}

const std::string& ControlServer::socket_path() const noexcept {
  return impl_->options.socket_path;
}

}  // namespace edgeid::agent
