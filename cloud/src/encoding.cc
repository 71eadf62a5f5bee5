#include "encoding.h"

#include "jwt_util.h"

namespace edgeid::cloud {

namespace {

// RFC 4648 §4 (padded, '+' '/') and §5 (base64url: '-' '_', unpadded for JWTs) differ only in
// the last two letters and the padding.
std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  auto byte = [&](std::size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(in[k]));
  };
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += alphabet[(v >> 18U) & 63U];
    out += alphabet[(v >> 12U) & 63U];
    out += alphabet[(v >> 6U) & 63U];
    out += alphabet[v & 63U];
  }
  if (i < in.size()) {
    const bool two = i + 1 < in.size();
    const unsigned v = (byte(i) << 16U) | (two ? byte(i + 1) << 8U : 0U);
    out += alphabet[(v >> 18U) & 63U];
    out += alphabet[(v >> 12U) & 63U];
    if (two) out += alphabet[(v >> 6U) & 63U];
    if (pad) out.append(two ? 1 : 2, '=');
  }
  return out;
}

}  // namespace

std::string detail::base64(std::string_view in) {
  return encode(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

std::string base64url(std::string_view in) {
  return encode(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

std::string detail::basic_credentials(std::string_view user, std::string_view password) {
  std::string pair(user);
  pair += ':';
  pair += password;
  return "Basic " + base64(pair);
}

}  // namespace edgeid::cloud
