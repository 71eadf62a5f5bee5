#pragma once
/// @file
/// Timestamp (wall-clock instant), the injectable Clock, and RFC 3339 text.
///
/// Wall time (Timestamp) is for records and for comparing with cloud data; monotonic time is for
/// every timeout, interval and backoff, so a clock step never fires or starves a schedule.
/// Thread safety: Timestamp is a value type; every Clock implementation is safe to call from any
/// thread.

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgeid::platform {

/// An instant in UTC, nanoseconds since the Unix epoch (range roughly 1678-2262).
class Timestamp {
 public:
  constexpr Timestamp() noexcept = default;
  constexpr explicit Timestamp(std::chrono::nanoseconds since_epoch) noexcept
      : since_epoch_(since_epoch) {}
  static constexpr Timestamp from_unix_seconds(std::int64_t s) noexcept {
    return Timestamp(std::chrono::seconds(s));
  }
  static constexpr Timestamp from_timeval(std::int64_t sec, std::int64_t usec) noexcept {
    return Timestamp(std::chrono::seconds(sec) + std::chrono::microseconds(usec));
  }

  constexpr std::chrono::nanoseconds since_epoch() const noexcept { return since_epoch_; }
  constexpr std::int64_t unix_seconds() const noexcept {
    return std::chrono::floor<std::chrono::seconds>(since_epoch_).count();
  }
  constexpr bool is_epoch() const noexcept { return since_epoch_.count() == 0; }

  enum class Precision { seconds, milliseconds, microseconds, nanoseconds };

  /// RFC 3339 in UTC with a 'Z' suffix, e.g. "2026-11-23T19:00:00Z" (fraction digits as asked;
  /// sub-unit time is truncated, not rounded).
  std::string to_rfc3339(Precision precision = Precision::seconds) const;

  /// Parses RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". Accepts 't'/'z'
  /// in lower case and a space for 'T' (RFC 3339 §5.6 note). A fraction longer than 9 digits is
  /// truncated to nanoseconds (Graph sends 7 digits). Leap second 60 is read as 59. Returns
  /// std::nullopt for anything else, including invalid dates such as Feb 30 and years outside
  /// 1678-2261 (Graph's "0001-01-01T00:00:00Z" placeholder for "never" is such a year: callers
  /// treat it as absent); never throws.
  static std::optional<Timestamp> parse_rfc3339(std::string_view text) noexcept;

  friend constexpr auto operator<=>(const Timestamp&, const Timestamp&) noexcept = default;
  friend constexpr bool operator==(const Timestamp&, const Timestamp&) noexcept = default;
  friend constexpr Timestamp operator+(Timestamp t, std::chrono::nanoseconds d) noexcept {
    return Timestamp(t.since_epoch_ + d);
  }
  friend constexpr Timestamp operator-(Timestamp t, std::chrono::nanoseconds d) noexcept {
    return Timestamp(t.since_epoch_ - d);
  }
  friend constexpr std::chrono::nanoseconds operator-(Timestamp a, Timestamp b) noexcept {
    return a.since_epoch_ - b.since_epoch_;
  }

 private:
  std::chrono::nanoseconds since_epoch_{0};
};

/// Source of wall and monotonic time. Inject it wherever time decides behaviour (timeouts,
/// backoff, token expiry, retention) so tests can drive time without sleeping.
class Clock {
 public:
  using MonotonicTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual Timestamp now() const noexcept = 0;
  virtual MonotonicTime monotonic() const noexcept = 0;
};

/// The real clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
class SystemClock final : public Clock {
 public:
  Timestamp now() const noexcept override;
  MonotonicTime monotonic() const noexcept override;
};

/// A clock that moves only when told to. Both times start at the given instant and advance
/// together; set_now() moves wall time alone (a clock step), never monotonic time backwards.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = Timestamp::from_unix_seconds(1'700'000'000)) noexcept;
  Timestamp now() const noexcept override;
  MonotonicTime monotonic() const noexcept override;
  void advance(std::chrono::nanoseconds d) noexcept;
  void set_now(Timestamp t) noexcept;

 private:
  std::atomic<std::int64_t> wall_ns_;
  std::atomic<std::int64_t> mono_ns_{0};
};

}  // namespace edgeid::platform
