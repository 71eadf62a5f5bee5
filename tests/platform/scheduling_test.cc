#include "platform/scheduling.h"

#include <thread>

#include <doctest/doctest.h>

using edgeid::platform::lower_thread_priority;
using edgeid::platform::thread_nice;

TEST_CASE("lower_thread_priority lowers the calling thread only") {
  const int main_before = thread_nice();
  int inside_before = 0;
  int inside_after = 0;
  int started_after = 0;
  std::error_code ec;
  std::thread worker([&] {
    inside_before = thread_nice();
    ec = lower_thread_priority(3);
    inside_after = thread_nice();
    // A thread started by the lowered one inherits the lower priority.
    std::thread child([&] { started_after = thread_nice(); });
    child.join();
  });
  worker.join();
  REQUIRE_FALSE(ec);
  CHECK(inside_before == main_before);
  CHECK(inside_after == (main_before + 3 > 19 ? 19 : main_before + 3));
  CHECK(started_after == inside_after);
  CHECK(thread_nice() == main_before);  // the process's other threads keep theirs
}

TEST_CASE("lower_thread_priority refuses a non-positive increment") {
  CHECK(lower_thread_priority(0) == std::errc::invalid_argument);
  CHECK(lower_thread_priority(-5) == std::errc::invalid_argument);
}
