#include "platform/log.h"

#include <string>

#include <doctest/doctest.h>

using namespace edgeid::platform;

namespace {
struct Expensive {
  int* formatted;
  friend std::ostream& operator<<(std::ostream& os, const Expensive& e) {
    ++*e.formatted;
    return os << "x";
  }
};
}  // namespace

TEST_CASE("Logger writes event keys and logfmt fields, quoting where needed") {
  MemorySink sink;
  Logger log(sink, "capture");
  log.info("reopen", kv("interface", "eth1"), kv("attempt", 3), kv("ok", false),
           kv("error", std::string("No such device")), kv("q", "a\"b\nc"));
  const auto lines = sink.lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "info capture.reopen interface=eth1 attempt=3 ok=false error=\"No such device\" "
        "q=\"a\\\"b\\nc\"");
}

TEST_CASE("Logger checks the level before formatting anything") {
  MemorySink sink;
  Logger log(sink, "cloud", LogLevel::warning);
  int formatted = 0;
  log.debug("page", kv("v", Expensive{&formatted}));
  log.info("page", kv("v", Expensive{&formatted}));
  CHECK(formatted == 0);
  CHECK(sink.lines().empty());
  log.warning("page", kv("v", Expensive{&formatted}));
  CHECK(formatted == 1);
  log.set_threshold(LogLevel::off);
  log.error("page");
  CHECK(sink.lines().size() == 1);
  Logger child = log.child("store");
  CHECK(child.threshold() == LogLevel::off);
}

TEST_CASE("A Secret never reaches a log line or a stream") {
  MemorySink sink;
  Logger log(sink, "cloud", LogLevel::debug);
  Secret secret(std::string("s3cr3t-client-value"));
  log.info("token", kv("client_secret", secret));
  std::ostringstream os;
  os << secret;
  CHECK(os.str() == "***");
  CHECK(sink.joined().find("s3cr3t") == std::string::npos);
  CHECK(sink.joined().find("client_secret=***") != std::string::npos);
  CHECK(secret.reveal() == "s3cr3t-client-value");
  Secret moved = std::move(secret);
  CHECK(moved.reveal() == "s3cr3t-client-value");
  CHECK(moved.clone().reveal() == "s3cr3t-client-value");
}

TEST_CASE("Log levels parse and print") {
  CHECK(parse_log_level("warn") == LogLevel::warning);
  CHECK(parse_log_level("debug") == LogLevel::debug);
  CHECK_FALSE(parse_log_level("verbose").has_value());
  CHECK(to_string(LogLevel::error) == "error");
}
