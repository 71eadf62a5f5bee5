#include "platform/error.h"

#include <ostream>

#include <doctest/doctest.h>

using namespace edgeid::platform;

TEST_CASE("platform errc converts to error_code with readable messages") {
  const std::error_code ec = errc::permission_denied;
  CHECK(ec.category().name() == std::string("edgeid.platform"));
  CHECK(ec.message() == "permission denied");
  CHECK(ec == errc::permission_denied);
  CHECK(ec != errc::not_found);
  CHECK(std::error_code(errc::ok).message() == "success");
  CHECK(platform_category().message(99) == "edgeid.platform error 99");
}

TEST_CASE("last_os_error captures errno") {
  errno = ENOENT;
  const auto ec = last_os_error();
  CHECK(ec.value() == ENOENT);
  CHECK(ec.category() == std::system_category());
}
