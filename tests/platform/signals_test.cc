#include "platform/signals.h"

#include <pthread.h>
#include <signal.h>

#include <ostream>  // doctest prints std::error_code with operator<<

#include <doctest/doctest.h>

using edgeid::platform::SignalSet;

namespace {
bool blocked(int signo) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, signo) == 1;
}
}  // namespace

TEST_CASE("SignalSet delivers blocked signals through its fd and restores the mask") {
  REQUIRE_FALSE(blocked(SIGUSR1));
  {
    SignalSet signals;
    REQUIRE_FALSE(signals.open({SIGUSR1, SIGUSR2}));
    CHECK(signals.fd() >= 0);
    CHECK(blocked(SIGUSR1));
    CHECK(signals.open({SIGHUP}) == std::errc::device_or_resource_busy);

    int signo = -1;
    REQUIRE_FALSE(signals.read(signo));
    CHECK(signo == 0);  // nothing pending: non-blocking

    ::kill(::getpid(), SIGUSR2);
    ::kill(::getpid(), SIGUSR1);
    int seen = 0;
    for (int i = 0; i < 2; ++i) {
      REQUIRE_FALSE(signals.read(signo));
      seen |= signo == SIGUSR1 ? 1 : signo == SIGUSR2 ? 2 : 4;
    }
    CHECK(seen == 3);
    REQUIRE_FALSE(signals.read(signo));
    CHECK(signo == 0);

    SignalSet moved = std::move(signals);
    CHECK_FALSE(signals.is_open());  // NOLINT(bugprone-use-after-move): moved-from is closed
    CHECK(moved.is_open());
  }
  CHECK_FALSE(blocked(SIGUSR1));
  CHECK_FALSE(blocked(SIGUSR2));
}
