#include "cloud/url.h"

#include <doctest/doctest.h>

using edgeid::cloud::Url;

TEST_CASE("Url parses absolute http(s) URLs and fills in defaults") {
  auto u =
      Url::parse("https://graph.microsoft.com/v1.0/devices/delta?$select=id&$deltatoken=a%20b");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->host == "graph.microsoft.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/v1.0/devices/delta?$select=id&$deltatoken=a%20b");
  CHECK(u->authority() == "graph.microsoft.com");

  u = Url::parse("HTTP://LocalHost:8123");
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->host == "localhost");
  CHECK(u->port == 8123);
  CHECK(u->target == "/");
  CHECK(u->to_string() == "http://localhost:8123/");

  u = Url::parse("https://[::1]:8443?x=1");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->target == "/?x=1");
  CHECK(u->authority() == "[::1]:8443");
}

TEST_CASE("Url refuses what would make the origin ambiguous") {
  const char* bad[] = {"",
                       "graph.microsoft.com/v1.0",
                       "ftp://graph.microsoft.com/",
                       "https://user:pw@graph.microsoft.com/",
                       "https://graph.microsoft.com@evil.example/",
                       "https://graph.microsoft.com:0/",
                       "https://graph.microsoft.com:65536/",
                       "https://graph.microsoft.com:/",
                       "https://graph.microsoft.com:44x/",
                       "https:///v1.0",
                       "https://graph.micro soft.com/",
                       "https://graph.microsoft.com/v1.0#frag",
                       "https://graph.microsoft.com/v1 .0",
                       "https://[::1/",
                       "https://[zz::1]/"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(Url::parse(text).has_value());
  }
}

TEST_CASE("same_origin compares scheme, host and port") {
  const auto a = *Url::parse("https://graph.microsoft.com/v1.0/a");
  CHECK(a.same_origin(*Url::parse("https://GRAPH.microsoft.com:443/v1.0/b?x")));
  CHECK_FALSE(a.same_origin(*Url::parse("http://graph.microsoft.com/v1.0/a")));
  CHECK_FALSE(a.same_origin(*Url::parse("https://graph.microsoft.com:8443/v1.0/a")));
  CHECK_FALSE(a.same_origin(*Url::parse("https://graph.microsoft.us/v1.0/a")));
  CHECK_FALSE(a.same_origin(*Url::parse("https://graph.microsoft.com.evil.example/v1.0/a")));
}
