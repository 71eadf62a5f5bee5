#include "platform/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cstring>

#include "platform/time.h"

namespace edgeid::platform {

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "unknown";
}

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warning" || text == "warn") return LogLevel::warning;
  if (text == "error") return LogLevel::error;
  if (text == "off") return LogLevel::off;
  return std::nullopt;
}

Secret::~Secret() {
  // Best effort: the optimiser may not elide a volatile store loop.
  volatile char* p = value_.data();
  for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
}

namespace detail {

void append_value(std::string& out, std::string_view text) {
  bool needs_quotes = text.empty();
  for (char c : text) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out.append("\\x");
          out.push_back(kHex[(c >> 4) & 0x0f]);
          out.push_back(kHex[c & 0x0f]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace detail

void StderrSink::write(LogLevel level, std::string_view line) {
  std::string out = SystemClock().now().to_rfc3339(Timestamp::Precision::milliseconds);
  out.push_back(' ');
  out.append(to_string(level));
  out.push_back(' ');
  out.append(line);
  out.push_back('\n');
  // One write(2) keeps lines from different threads whole.
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

SyslogSink::SyslogSink(const char* ident) {
  ::openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}
SyslogSink::~SyslogSink() {
  ::closelog();
}

void SyslogSink::write(LogLevel level, std::string_view line) {
  int prio = LOG_INFO;
  switch (level) {
    case LogLevel::debug: prio = LOG_DEBUG; break;
    case LogLevel::info: prio = LOG_INFO; break;
    case LogLevel::warning: prio = LOG_WARNING; break;
    case LogLevel::error:
    case LogLevel::off: prio = LOG_ERR; break;
  }
  ::syslog(prio, "%.*s", static_cast<int>(line.size()), line.data());
}

void MemorySink::write(LogLevel level, std::string_view line) {
  std::string s(to_string(level));
  s.push_back(' ');
  s.append(line);
  std::lock_guard lock(mutex_);
  lines_.push_back(std::move(s));
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string MemorySink::joined() const {
  std::string all;
  for (const auto& l : lines()) {
    all.append(l);
    all.push_back('\n');
  }
  return all;
}

Logger::Logger(LogSink& sink, std::string_view module, LogLevel threshold)
    : sink_(&sink), module_(module), threshold_(threshold) {}

}  // namespace edgeid::platform
