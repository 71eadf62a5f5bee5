#include "tls_engine.h"

#include <algorithm>
#include <cstring>

#include "cloud/error.h"
#include "tls_context_impl.h"

namespace edgeid::cloud::detail {

TlsEngine::TlsEngine(std::shared_ptr<const TlsContext> context, const std::string& host)
    : context_(std::move(context)) {
  mbedtls_ssl_init(&ssl_);
  int ret = mbedtls_ssl_setup(&ssl_, &context_->impl().config);
  // Without set_hostname, 2.28 verifies the chain but not the name: never skip it.
  if (ret == 0) ret = mbedtls_ssl_set_hostname(&ssl_, host.c_str());
  if (ret != 0) setup_error_ = make_tls_error(ret);
  mbedtls_ssl_set_bio(&ssl_, this, &TlsEngine::bio_send, &TlsEngine::bio_recv, nullptr);
}

TlsEngine::~TlsEngine() {
  mbedtls_ssl_free(&ssl_);
}

int TlsEngine::bio_send(void* self, const unsigned char* data, std::size_t size) {
  auto& engine = *static_cast<TlsEngine*>(self);
  engine.out_.insert(engine.out_.end(), data, data + size);
  return static_cast<int>(size);
}

int TlsEngine::bio_recv(void* self, unsigned char* data, std::size_t size) {
  auto& engine = *static_cast<TlsEngine*>(self);
  const std::size_t available = engine.in_used_ - engine.in_pos_;
  if (available == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  const std::size_t n = std::min(available, size);
  std::memcpy(data, engine.in_.data() + engine.in_pos_, n);
  engine.in_pos_ += n;
  if (engine.in_pos_ == engine.in_used_) engine.in_pos_ = engine.in_used_ = 0;
  return static_cast<int>(n);
}

void TlsEngine::consume_output(std::size_t n) noexcept {
  out_pos_ += std::min(n, out_.size() - out_pos_);
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

std::span<unsigned char> TlsEngine::prepare_input(std::size_t max) {
  // Reads rarely end on a record boundary: move the partial record to the front, or the buffer
  // would grow with every read of a long body.
  if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_used_ - in_pos_);
    in_used_ -= in_pos_;
    in_pos_ = 0;
  }
  if (in_.size() < in_used_ + max) in_.resize(in_used_ + max);
  return {in_.data() + in_used_, max};
}

void TlsEngine::commit_input(std::size_t n) noexcept {
  in_used_ += n;
}

int TlsEngine::step(Op op, unsigned char* data, std::size_t size) {
  if (setup_error_) return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
  switch (op) {
    case Op::handshake: return mbedtls_ssl_handshake(&ssl_);
    case Op::read: {
      if (peer_closed_) return MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
      const int ret = mbedtls_ssl_read(&ssl_, data, size);
      if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) peer_closed_ = true;
      return ret;
    }
    case Op::write: return mbedtls_ssl_write(&ssl_, data, size);
    case Op::shutdown: return mbedtls_ssl_close_notify(&ssl_);
  }
  return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
}

std::size_t TlsEngine::result(Op op, int ret, std::error_code& ec, bool& eof) const {
  ec.clear();
  eof = false;
  if (setup_error_) {
    ec = setup_error_;
    return 0;
  }
  if (op == Op::read && (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0)) {
    // Our BIO never reports a closed transport (TlsStream handles FIN itself), so 0 can only
    // follow close_notify as well.
    eof = true;
    return 0;
  }
  if (ret >= 0) return static_cast<std::size_t>(ret);
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    const std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
    ec = make_verify_error(flags);
    return 0;
  }
  ec = make_tls_error(ret);
  return 0;
}

}  // namespace edgeid::cloud::detail
