#pragma once
// The mbedTLS half of cloud::TlsStream, free of Boost so that it compiles once.
//
// mbedTLS talks to memory, not to a socket: its BIO callbacks take ciphertext from an input
// buffer (WANT_READ when empty) and append ciphertext to an output buffer (so WANT_WRITE never
// happens). TlsStream's pump moves bytes between these buffers and the next layer and calls
// step() again until it returns something other than WANT_READ.
//
// Not movable: mbedtls_ssl_set_bio stores `this`. TlsStream holds it by unique_ptr.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <mbedtls/ssl.h>

#include "cloud/tls_context.h"

namespace edgeid::cloud::detail {

class TlsEngine {
 public:
  enum class Op { handshake, read, write, shutdown };
  static constexpr int kWantRead = MBEDTLS_ERR_SSL_WANT_READ;

  /// @p host is verified against the certificate and sent as SNI.
  TlsEngine(std::shared_ptr<const TlsContext> context, const std::string& host);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  /// Runs @p op once. For read, @p data/@p size is the destination; for write, the source (must
  /// stay identical across WANT_READ retries, as mbedTLS requires). Returns mbedTLS's result.
  int step(Op op, unsigned char* data, std::size_t size);

  /// Turns step()'s final result into a byte count and error. @p eof is set instead of @p ec
  /// when a read met the peer's close_notify: the one trustworthy end of stream.
  std::size_t result(Op op, int ret, std::error_code& ec, bool& eof) const;

  // Ciphertext plumbing between the pump and the next layer.
  bool has_output() const noexcept { return out_pos_ < out_.size(); }
  std::span<const unsigned char> output() const noexcept {
    return {out_.data() + out_pos_, out_.size() - out_pos_};
  }
  void consume_output(std::size_t n) noexcept;
  std::span<unsigned char> prepare_input(std::size_t max);
  void commit_input(std::size_t n) noexcept;

  /// Staging buffer for write(): gathers a buffer sequence into one TLS record.
  std::vector<unsigned char>& write_stage() noexcept { return stage_; }

  /// Error of construction (mbedtls_ssl_setup / set_hostname), reported by the first step.
  std::error_code setup_error() const noexcept { return setup_error_; }
  bool peer_closed() const noexcept { return peer_closed_; }

 private:
  static int bio_send(void* self, const unsigned char* data, std::size_t size);
  static int bio_recv(void* self, unsigned char* data, std::size_t size);

  std::shared_ptr<const TlsContext> context_;
  mbedtls_ssl_context ssl_;
  std::error_code setup_error_;
  std::vector<unsigned char> in_;  // ciphertext received, not yet consumed by mbedTLS
  std::size_t in_pos_ = 0;
  std::size_t in_used_ = 0;
  std::vector<unsigned char> out_;  // ciphertext produced, not yet written
  std::size_t out_pos_ = 0;
  std::vector<unsigned char> stage_;
  bool peer_closed_ = false;
};

}  // namespace edgeid::cloud::detail
