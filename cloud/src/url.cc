#include "cloud/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace edgeid::cloud {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool valid_reg_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_target_char(unsigned char c) {
  // RFC 3986 pchar / query characters plus '%' escapes; no spaces, controls or fragments.
  return c > 0x20 && c < 0x7f && c != '#' && c != '"' && c != '<' && c != '>' && c != '\\' &&
         c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

}  // namespace

std::optional<Url> Url::parse(std::string_view text) {
  const auto colon = text.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  Url url;
  url.scheme = lower(text.substr(0, colon));
  if (url.scheme == "https") {
    url.port = 443;
  } else if (url.scheme == "http") {
    url.port = 80;
  } else {
    return std::nullopt;
  }
  std::string_view rest = text.substr(colon + 3);
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  const std::string_view target =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    if (host.empty() ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return std::nullopt;
    }
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    const auto c = authority.rfind(':');
    host = authority.substr(0, c);
    if (c != std::string_view::npos) port = authority.substr(c + 1);
    if (!valid_reg_name(host)) return std::nullopt;
  }
  if (!port.empty() || authority.ends_with(':')) {
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  url.host = lower(host);
  if (!std::all_of(target.begin(), target.end(),
                   [](unsigned char c) { return valid_target_char(c); })) {
    return std::nullopt;
  }
  url.target = target.empty() ? "/" : std::string(target);
  if (url.target.front() == '?') url.target.insert(0, "/");
  return url;
}

std::string Url::authority() const {
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on "[" + host + "]".
  std::string out;
  const bool literal = host.find(':') != std::string::npos;
  if (literal) out.push_back('[');
  out.append(host);
  if (literal) out.push_back(']');
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  if (!default_port) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

std::string Url::to_string() const {
  return scheme + "://" + authority() + target;
}

}  // namespace edgeid::cloud
