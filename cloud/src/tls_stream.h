#pragma once
// cloud::TlsStream<NextLayer>: TLS over any Asio byte stream, usable by Boost.Beast's HTTP
// algorithms (it models SyncReadStream, SyncWriteStream, AsyncReadStream and AsyncWriteStream).
//
// Private to cloud/ (it pulls in Asio): the rest of the agent talks to HttpClient. The mbedTLS
// work lives in the non-template TlsEngine; this template only pumps ciphertext between the
// engine's memory buffers and NextLayer, for the synchronous and the asynchronous operations
// alike. With NextLayer = boost::beast::tcp_stream, the tcp_stream's expiry bounds every TLS
// operation, which is how HttpClient enforces per-step timeouts.
//
// End of stream: the peer's close_notify reads as asio::error::eof; a TCP FIN without it is
// errc::stream_truncated (during the handshake: errc::connection_closed). shutdown() sends our
// close_notify and does not wait for the peer's (RFC 5246 7.2.1 allows the initiator to close).
//
// Thread safety: like every Asio stream: distinct objects safe, shared objects unsafe. Only one
// operation may be outstanding at a time (no simultaneous read and write): HTTP/1.1 request/
// response exchanges never need both.
// Movable while no operation is pending (the engine, whose address mbedTLS stores, is on the
// heap).

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include "cloud/error.h"
#include "cloud/tls_context.h"
#include "tls_engine.h"

namespace edgeid::cloud {

template <class NextLayer>
class TlsStream {
 public:
  // The lower-case names are the ones Asio and Beast look up.
  // NOLINTNEXTLINE(readability-identifier-naming)
  using next_layer_type = std::remove_reference_t<NextLayer>;
  // NOLINTNEXTLINE(readability-identifier-naming)
  using executor_type = typename next_layer_type::executor_type;
  using ErrorCode = boost::system::error_code;

  /// @p host is the name checked against the server certificate and sent as SNI: the origin's
  /// name, also when the TCP connection goes to a proxy or an overridden address.
  template <class... Args>
  TlsStream(std::shared_ptr<const TlsContext> context, const std::string& host, Args&&... args)
      : next_(std::forward<Args>(args)...),
        engine_(std::make_unique<detail::TlsEngine>(std::move(context), host)) {}

  TlsStream(TlsStream&&) noexcept = default;
  TlsStream& operator=(TlsStream&&) noexcept = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  // ---- synchronous ----
  void handshake(ErrorCode& ec) { run_sync(Op::handshake, nullptr, 0, ec); }
  void handshake() { throw_if(run_sync_void(Op::handshake)); }
  void shutdown(ErrorCode& ec) { run_sync(Op::shutdown, nullptr, 0, ec); }
  void shutdown() { throw_if(run_sync_void(Op::shutdown)); }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, ErrorCode& ec) {
    const boost::asio::mutable_buffer b = first_buffer(buffers);
    if (b.size() == 0) {
      ec = {};
      return 0;
    }
    return run_sync(Op::read, static_cast<unsigned char*>(b.data()), b.size(), ec);
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    ErrorCode ec;
    const std::size_t n = read_some(buffers, ec);
    throw_if(ec);
    return n;
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, ErrorCode& ec) {
    const std::size_t n = stage(buffers);
    if (n == 0) {
      ec = {};
      return 0;
    }
    return run_sync(Op::write, engine_->write_stage().data(), n, ec);
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    ErrorCode ec;
    const std::size_t n = write_some(buffers, ec);
    throw_if(ec);
    return n;
  }

  // ---- asynchronous (handlers never run inside the initiating call) ----
  template <class Token>
  auto async_handshake(Token&& token) {
    return boost::asio::async_compose<Token, void(ErrorCode)>(
        PumpOp<false>{this, Op::handshake, nullptr, 0}, token, next_);
  }
  template <class Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_compose<Token, void(ErrorCode)>(
        PumpOp<false>{this, Op::shutdown, nullptr, 0}, token, next_);
  }
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    const boost::asio::mutable_buffer b = first_buffer(buffers);
    return boost::asio::async_compose<Token, void(ErrorCode, std::size_t)>(
        PumpOp<true>{this, Op::read, static_cast<unsigned char*>(b.data()), b.size()}, token,
        next_);
  }
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    const std::size_t n = stage(buffers);
    return boost::asio::async_compose<Token, void(ErrorCode, std::size_t)>(
        PumpOp<true>{this, Op::write, engine_->write_stage().data(), n}, token, next_);
  }

 private:
  using Op = detail::TlsEngine::Op;
  static constexpr int kWantRead = detail::TlsEngine::kWantRead;
  // One TLS record's worth of plaintext, and a bit more than one record of ciphertext per read.
  static constexpr std::size_t kMaxRecord = 16384;
  static constexpr std::size_t kReadChunk = std::size_t{17} * 1024;

  template <class MutableBufferSequence>
  static boost::asio::mutable_buffer first_buffer(const MutableBufferSequence& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  // Beast's serializer hands over many small buffers (status line, each header): gathering
  // them into one record avoids a TLS record per header line.
  template <class ConstBufferSequence>
  std::size_t stage(const ConstBufferSequence& buffers) {
    auto& stage = engine_->write_stage();
    const std::size_t n = std::min(boost::asio::buffer_size(buffers), kMaxRecord);
    stage.resize(n);
    return boost::asio::buffer_copy(boost::asio::buffer(stage.data(), n), buffers);
  }

  static void throw_if(const ErrorCode& ec) {
    if (ec) throw boost::system::system_error(ec);
  }
  ErrorCode run_sync_void(Op op) {
    ErrorCode ec;
    run_sync(op, nullptr, 0, ec);
    return ec;
  }

  std::size_t run_sync(Op op, unsigned char* data, std::size_t size, ErrorCode& ec) {
    for (;;) {
      const int ret = engine_->step(op, data, size);
      ErrorCode io_ec;
      // Flush before acting on ret: alerts, Finished and close_notify come out of calls that
      // also return a result.
      while (engine_->has_output() && !io_ec) {
        const auto out = engine_->output();
        engine_->consume_output(
            boost::asio::write(next_, boost::asio::buffer(out.data(), out.size()), io_ec));
      }
      if (ret == kWantRead && !io_ec) {
        const auto in = engine_->prepare_input(kReadChunk);
        const std::size_t n = next_.read_some(boost::asio::buffer(in.data(), in.size()), io_ec);
        engine_->commit_input(n);
        if (!io_ec) continue;  // mbedTLS wants the same call again with more ciphertext
      }
      return finish(op, ret, io_ec, ec);
    }
  }

  std::size_t finish(Op op, int ret, const ErrorCode& io_ec, ErrorCode& ec) {
    // A failed TLS call explains more than the transport error that may follow its alert.
    if (io_ec && (ret == kWantRead || ret >= 0)) {
      if (io_ec == boost::asio::error::eof) {
        ec = ErrorCode(std::error_code(op == Op::handshake ? errc::connection_closed
                                                           : errc::stream_truncated));
      } else {
        ec = io_ec;
      }
      return 0;
    }
    std::error_code tls_ec;
    bool eof = false;
    const std::size_t n = engine_->result(op, ret, tls_ec, eof);
    if (eof) {
      ec = boost::asio::error::eof;
    } else if (tls_ec) {
      ec = ErrorCode(tls_ec);
    } else {
      ec = {};
    }
    return n;
  }

  template <bool WithSize>
  struct PumpOp {
    TlsStream* stream;
    Op op;
    unsigned char* data;
    std::size_t size;
    int ret = 0;
    bool did_io = false;
    ErrorCode result_ec{};
    std::size_t result_n = 0;
    enum class State { start, flushed, received, posted } state = State::start;

    template <class Self>
    void operator()(Self& self, ErrorCode io_ec = {}, std::size_t n = 0) {
      detail::TlsEngine& engine = *stream->engine_;
      switch (state) {
        case State::start:
          if (op != Op::handshake && op != Op::shutdown && size == 0) return finish(self, {});
          break;
        case State::flushed:
          did_io = true;
          engine.consume_output(n);
          if (io_ec || ret != kWantRead) return finish(self, io_ec);
          return read_more(self);
        case State::received:
          did_io = true;
          engine.commit_input(n);
          if (io_ec) return finish(self, io_ec);
          break;  // call the same mbedTLS function again
        case State::posted: return complete(self);
      }
      ret = engine.step(op, data, size);
      if (engine.has_output()) {
        state = State::flushed;
        const auto out = engine.output();
        return boost::asio::async_write(stream->next_, boost::asio::buffer(out.data(), out.size()),
                                        std::move(self));
      }
      if (ret == kWantRead) return read_more(self);
      finish(self, {});
    }

    template <class Self>
    void read_more(Self& self) {
      state = State::received;
      const auto in = stream->engine_->prepare_input(kReadChunk);
      stream->next_.async_read_some(boost::asio::buffer(in.data(), in.size()), std::move(self));
    }

    template <class Self>
    void finish(Self& self, const ErrorCode& io_ec) {
      result_n = (size == 0 && (op == Op::read || op == Op::write))
                     ? 0
                     : stream->finish(op, ret, io_ec, result_ec);
      if (!did_io) {
        // Data already decrypted completes without I/O; Asio promises the handler never runs
        // inside the initiating function, and async_compose (1.81) would call it inline.
        state = State::posted;
        return boost::asio::post(std::move(self));
      }
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (WithSize) {
        self.complete(result_ec, result_n);
      } else {
        self.complete(result_ec);
      }
    }
  };

  NextLayer next_;
  std::unique_ptr<detail::TlsEngine> engine_;
};

}  // namespace edgeid::cloud
