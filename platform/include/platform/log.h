#pragma once
/// @file
/// Leveled, structured logging and the Secret type.
///
/// A line is an event key followed by key=value fields (logfmt), e.g.
///   `warning capture.reopen interface=eth1 attempt=3 error="No such device"`.
/// The level is checked before anything is formatted, so a disabled debug line costs one compare.
/// Log events, never per-packet outcomes: those are counters (DESIGN.md §8).
///
/// Secrets: credentials are held in `Secret`, which has no implicit conversion to text and is
/// printed as `***` by the logger and by operator<<. Reading the value takes an explicit
/// `reveal()`, which is the one call a review has to look at.
///
/// Thread safety: Logger::log may be called from any thread; sinks serialise their writes.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace edgeid::platform {

enum class LogLevel : std::uint8_t { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

std::string_view to_string(LogLevel level) noexcept;
/// "debug", "info", "warning" (or "warn"), "error", "off"; std::nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;

/// A credential (client secret, bearer token, password). Movable, not copyable by accident
/// (copy is explicit through clone()); the buffer is wiped on destruction.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) noexcept : value_(std::move(value)) {}
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  Secret clone() const { return Secret(value_); }
  /// The plaintext. Only for the code that puts it on the wire.
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

 private:
  std::string value_;
};

/// Where formatted lines go.
class LogSink {
 public:
  virtual ~LogSink() = default;
  /// @p line is one complete line without a trailing newline.
  virtual void write(LogLevel level, std::string_view line) = 0;
};

/// Writes "<RFC 3339 time> <level> <line>\n" to stderr, one write(2) per line.
class StderrSink final : public LogSink {
 public:
  void write(LogLevel level, std::string_view line) override;
};

/// Sends lines to syslog(3) with the matching priority. openlog() is process-wide by nature: the
/// sink opens it in its constructor and closes it in its destructor; create at most one.
class SyslogSink final : public LogSink {
 public:
  explicit SyslogSink(const char* ident);  ///< @p ident must outlive the sink (a literal)
  ~SyslogSink() override;
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;
  void write(LogLevel level, std::string_view line) override;
};

/// Keeps lines in memory: for tests that assert on (or grep) what was logged.
class MemorySink final : public LogSink {
 public:
  void write(LogLevel level, std::string_view line) override;
  std::vector<std::string> lines() const;
  std::string joined() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// One key=value field of a log line. Values are formatted with operator<<; strings that need it
/// are quoted and escaped. A Secret value prints as ***.
template <class T>
struct Field {
  std::string_view key;
  const T& value;
};
template <class T>
Field<T> kv(std::string_view key, const T& value) {
  return Field<T>{key, value};
}

namespace detail {
void append_value(std::string& out, std::string_view text);
template <class T>
void append_field(std::string& out, const Field<T>& f) {
  out.push_back(' ');
  out.append(f.key);
  out.push_back('=');
  if constexpr (std::is_same_v<std::remove_cv_t<T>, Secret>) {
    out.append("***");
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_value(out, std::string_view(f.value));
  } else if constexpr (std::is_same_v<std::remove_cv_t<T>, bool>) {
    out.append(f.value ? "true" : "false");
  } else {
    std::ostringstream os;
    os << f.value;
    append_value(out, os.str());
  }
}
}  // namespace detail

/// A named logger: "<module>.<event>" keys. Cheap to copy (a sink reference, a name and a shared
/// threshold are all it holds).
class Logger {
 public:
  /// @p sink must outlive the logger.
  Logger(LogSink& sink, std::string_view module, LogLevel threshold = LogLevel::info);

  bool enabled(LogLevel level) const noexcept {
    return level >= threshold_.load(std::memory_order_relaxed) && level != LogLevel::off;
  }
  void set_threshold(LogLevel level) noexcept { threshold_.store(level); }
  LogLevel threshold() const noexcept { return threshold_.load(); }
  /// A logger for another module that shares this one's sink and current threshold.
  Logger child(std::string_view module) const { return Logger(*sink_, module, threshold()); }

  template <class... T>
  void log(LogLevel level, std::string_view event, const Field<T>&... fields) const {
    if (!enabled(level)) return;
    std::string line(module_);
    line.push_back('.');
    line.append(event);
    (detail::append_field(line, fields), ...);
    sink_->write(level, line);
  }
  template <class... T>
  void debug(std::string_view event, const Field<T>&... f) const {
    log(LogLevel::debug, event, f...);
  }
  template <class... T>
  void info(std::string_view event, const Field<T>&... f) const {
    log(LogLevel::info, event, f...);
  }
  template <class... T>
  void warning(std::string_view event, const Field<T>&... f) const {
    log(LogLevel::warning, event, f...);
  }
  template <class... T>
  void error(std::string_view event, const Field<T>&... f) const {
    log(LogLevel::error, event, f...);
  }

  Logger(const Logger& other)
      : sink_(other.sink_), module_(other.module_), threshold_(other.threshold()) {}
  Logger& operator=(const Logger&) = delete;

 private:
  LogSink* sink_;
  std::string module_;
  std::atomic<LogLevel> threshold_;
};

}  // namespace edgeid::platform
