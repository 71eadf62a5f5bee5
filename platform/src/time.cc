#include "platform/time.h"

#include <array>
#include <cstdio>

namespace edgeid::platform {

namespace {

using namespace std::chrono;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string Timestamp::to_rfc3339(Precision precision) const {
  const auto day_point = floor<days>(sys_time<nanoseconds>(since_epoch_));
  const year_month_day ymd(day_point);
  const hh_mm_ss<nanoseconds> tod(since_epoch_ - day_point.time_since_epoch());
  std::array<char, 48> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                        static_cast<int>(tod.minutes().count()),
                        static_cast<int>(tod.seconds().count()));
  const auto frac = tod.subseconds().count();
  switch (precision) {
    case Precision::seconds: break;
    case Precision::milliseconds:
      n += std::snprintf(buf.data() + n, buf.size() - static_cast<std::size_t>(n), ".%03lld",
                         static_cast<long long>(frac / 1'000'000));
      break;
    case Precision::microseconds:
      n += std::snprintf(buf.data() + n, buf.size() - static_cast<std::size_t>(n), ".%06lld",
                         static_cast<long long>(frac / 1'000));
      break;
    case Precision::nanoseconds:
      n += std::snprintf(buf.data() + n, buf.size() - static_cast<std::size_t>(n), ".%09lld",
                         static_cast<long long>(frac));
      break;
  }
  std::string out(buf.data(), static_cast<std::size_t>(n));
  out.push_back('Z');
  return out;
}

std::optional<Timestamp> Timestamp::parse_rfc3339(std::string_view text) noexcept {
  const std::string_view s = text;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  if (sec == 60) sec = 59;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  // Nanoseconds in 64 bits cover 1677-09-21..2262-04-11; stay well inside.
  if (y < 1678 || y > 2261) return std::nullopt;

  std::size_t pos = 19;
  std::int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        frac_ns += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  std::int64_t offset_s = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = static_cast<std::int64_t>(sign) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  const auto day_count = sys_days(ymd).time_since_epoch();
  const nanoseconds t = duration_cast<nanoseconds>(day_count) + hours(h) + minutes(mi) +
                        seconds(sec) - seconds(offset_s) + nanoseconds(frac_ns);
  return Timestamp(t);
}

Timestamp SystemClock::now() const noexcept {
  return Timestamp(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()));
}

Clock::MonotonicTime SystemClock::monotonic() const noexcept {
  return steady_clock::now();
}

ManualClock::ManualClock(Timestamp start) noexcept : wall_ns_(start.since_epoch().count()) {}

Timestamp ManualClock::now() const noexcept {
  return Timestamp(nanoseconds(wall_ns_.load()));
}

Clock::MonotonicTime ManualClock::monotonic() const noexcept {
  return MonotonicTime(duration_cast<steady_clock::duration>(nanoseconds(mono_ns_.load())));
}

void ManualClock::advance(nanoseconds d) noexcept {
  if (d.count() < 0) return;  // monotonic time never goes back
  wall_ns_ += d.count();
  mono_ns_ += d.count();
}

void ManualClock::set_now(Timestamp t) noexcept {
  wall_ns_ = t.since_epoch().count();
}

}  // namespace edgeid::platform
