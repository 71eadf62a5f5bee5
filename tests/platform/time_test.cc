#include "platform/time.h"

#include <doctest/doctest.h>

using edgeid::platform::ManualClock;
using edgeid::platform::Timestamp;
using namespace std::chrono_literals;

TEST_CASE("Timestamp formats RFC 3339 in UTC") {
  CHECK(Timestamp().to_rfc3339() == "1970-01-01T00:00:00Z");
  const auto t = Timestamp::from_unix_seconds(1795201200);  // 2026-11-20T19:00:00Z
  CHECK(t.to_rfc3339() == "2026-11-20T19:00:00Z");
  const auto frac = t + 123456789ns;
  CHECK(frac.to_rfc3339() == "2026-11-20T19:00:00Z");
  CHECK(frac.to_rfc3339(Timestamp::Precision::milliseconds) == "2026-11-20T19:00:00.123Z");
  CHECK(frac.to_rfc3339(Timestamp::Precision::microseconds) == "2026-11-20T19:00:00.123456Z");
  CHECK(frac.to_rfc3339(Timestamp::Precision::nanoseconds) == "2026-11-20T19:00:00.123456789Z");
  CHECK(Timestamp::from_unix_seconds(951782400).to_rfc3339() == "2000-02-29T00:00:00Z");
}

TEST_CASE("Timestamp parses RFC 3339, offsets and Graph's 7-digit fractions") {
  struct Row {
    const char* text;
    std::int64_t unix_s;
    std::int64_t frac_ns;
  };
  const Row rows[] = {
      {"2026-11-20T19:00:00Z", 1795201200, 0},
      {"2026-11-20t19:00:00z", 1795201200, 0},
      {"2026-11-20 19:00:00Z", 1795201200, 0},
      {"2026-11-20T20:00:00+01:00", 1795201200, 0},
      {"2026-11-20T17:30:00-01:30", 1795201200, 0},
      {"2026-11-20T19:00:00.5Z", 1795201200, 500'000'000},
      {"2016-12-31T23:59:59.9999999Z", 1483228799, 999'999'900},
      {"2026-11-20T19:00:00.1234567891234Z", 1795201200, 123'456'789},
      {"1970-01-01T00:00:00Z", 0, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    const auto t = Timestamp::parse_rfc3339(row.text);
    REQUIRE(t.has_value());
    CHECK(t->unix_seconds() == row.unix_s);
    CHECK((t->since_epoch() - std::chrono::seconds(row.unix_s)).count() == row.frac_ns);
  }
  const auto round = Timestamp::from_unix_seconds(1795201200) + 42ms;
  CHECK(Timestamp::parse_rfc3339(round.to_rfc3339(Timestamp::Precision::nanoseconds)) == round);
}

TEST_CASE("Timestamp rejects malformed RFC 3339") {
  const char* bad[] = {"",
                       "2026-11-20",
                       "2026-11-20T19:00:00",  // no offset
                       "2026-11-20T19:00Z",
                       "2026-13-20T19:00:00Z",
                       "2026-02-30T19:00:00Z",
                       "2026-11-20T24:00:00Z",
                       "2026-11-20T19:60:00Z",
                       "2026-11-20T19:00:61Z",
                       "2026-11-20T19:00:00.Z",
                       "2026-11-20T19:00:00+0100",
                       "2026-11-20T19:00:00+01:00x",
                       "2026-11-20X19:00:00Z",
                       "26-11-20T19:00:00Z",
                       "2026/11/20T19:00:00Z",
                       "0001-01-01T00:00:00Z",  // Graph's "never": outside the range
                       "9999-12-31T23:59:59Z"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(Timestamp::parse_rfc3339(text).has_value());
  }
}

TEST_CASE("ManualClock moves only when told, monotonic never backwards") {
  ManualClock clock(Timestamp::from_unix_seconds(1000));
  const auto m0 = clock.monotonic();
  CHECK(clock.now().unix_seconds() == 1000);
  clock.advance(5s);
  CHECK(clock.now().unix_seconds() == 1005);
  CHECK(clock.monotonic() - m0 == 5s);
  clock.set_now(Timestamp::from_unix_seconds(10));  // wall-clock step back
  CHECK(clock.now().unix_seconds() == 10);
  CHECK(clock.monotonic() - m0 == 5s);
  clock.advance(-3s);
  CHECK(clock.monotonic() - m0 == 5s);
}

TEST_CASE("SystemClock is close to the C library's time") {
  edgeid::platform::SystemClock clock;
  const auto now = clock.now().unix_seconds();
  const auto libc = static_cast<std::int64_t>(std::time(nullptr));
  CHECK(now >= libc - 2);
  CHECK(now <= libc + 2);
  const auto a = clock.monotonic();
  CHECK(clock.monotonic() >= a);
}
