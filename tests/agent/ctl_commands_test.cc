// The CLI's control subcommands end to end: run_cli → socket → ControlServer → fake context.
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "agent/cli.h"
#include "control_commands.h"
#include "control_fixture.h"

using namespace edgeid;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run cli(std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  const int code = agent::run_cli(views, out, err);
  return {code, out.str(), err.str()};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

}  // namespace

TEST_CASE("edgeid CLI: no agent → one clear line and exit code 1") {
  test::TempDir dir;
  const Run r = cli({"status", "--socket", dir.file("absent.sock")});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "edgeid status: the agent is not running (cannot connect to " +
                     dir.file("absent.sock") + ": No such file or directory)\n");
  CHECK(cli({"devices", "--socket", dir.file("absent.sock")}).code == 1);
  CHECK(cli({"sync", "--socket", dir.file("absent.sock"), "--json"}).code == 1);
}

TEST_CASE("edgeid CLI: usage errors exit 2") {
  CHECK(cli({"status", "--bogus"}).code == 2);
  CHECK(cli({"device"}).code == 2);
  CHECK(cli({"device", "a", "b"}).code == 2);
  CHECK(cli({"devices", "--vlan", "x"}).code == 2);
  CHECK(cli({"devices", "--socket"}).code == 2);
  const Run help = cli({"help"});
  for (const char* c : {"status", "devices", "device KEY", "sync", "flush", "metrics", "config-get",
                        "list-commands"}) {
    CHECK_MESSAGE(help.out.find(std::string("  ") + c) != std::string::npos, c);
  }
}

TEST_CASE("edgeid CLI: status, device, config-get as aligned key/value lines; --json as JSON") {
  test::ControlFixture f;
  Run r = cli({"status", "--socket", f.path});
  REQUIRE(r.code == 0);
  const auto status = lines(r.out);
  REQUIRE(status.size() == 7);
  CHECK(status[0] == "version:               0.1.0");
  CHECK(r.out.find("devices.managed:       1\n") != std::string::npos);
  CHECK(r.out.find("interfaces[0].packets: 100\n") != std::string::npos);

  r = cli({"status", "--socket", f.path, "--json"});
  REQUIRE(r.code == 0);
  CHECK(boost::json::parse(r.out).at("uptime_s").as_int64() == 42);

  r = cli({"device", "host-00001", "--socket", f.path});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("vlans:                        101, 102\n") != std::string::npos);
  CHECK(r.out.find("identity.user_principal_name: alice@example.com\n") != std::string::npos);
  r = cli({"device", "--json", "host-00001", "--socket", f.path});
  CHECK(boost::json::parse(r.out).at("mac").as_string() == "3c:22:fb:00:00:01");
  r = cli({"device", "nothing", "--socket", f.path});
  CHECK(r.code == 1);
  CHECK(r.err == "edgeid device: no device matches 'nothing'\n");

  r = cli({"config-get", "--socket", f.path});
  CHECK(r.out.find("identity.graph.client_secret_file: ***\n") != std::string::npos);
}

TEST_CASE("edgeid CLI: devices as a table, NDJSON with --json, filters sent as arguments") {
  test::ControlFixture f;
  Run r = cli({"devices", "--socket", f.path});
  REQUIRE(r.code == 0);
  const auto table = lines(r.out);
  REQUIRE(table.size() == 3);
  CHECK(table[0].starts_with("MAC                STATE      VLANS    IPV4      HOSTNAME"));
  CHECK(table[0].find("OWNER/UPN") != std::string::npos);
  CHECK(table[0].find("COMPLIANCE") != std::string::npos);
  CHECK(table[0].find("LAST SEEN") != std::string::npos);
  // Columns line up: every row has its STATE cell where the header has STATE.
  const auto state_at = table[0].find("STATE");
  CHECK(table[1].substr(state_at, 7) == "managed");
  CHECK(table[2].substr(state_at, 9) == "unmanaged");
  CHECK(table[1].find("101,102") != std::string::npos);
  CHECK(table[1].find("alice@example.com") != std::string::npos);
  CHECK(table[1].find("2026-11-23T19:05:00Z") != std::string::npos);
  CHECK(table[2].find("printer\\x1b[31m") != std::string::npos);  // escape defused
  CHECK(r.out.find('\x1b') == std::string::npos);

  r = cli({"devices", "--json", "--socket", f.path});
  REQUIRE(r.code == 0);
  const auto ndjson = lines(r.out);
  REQUIRE(ndjson.size() == 2);
  CHECK(boost::json::parse(ndjson[0]).at("state").as_string() == "managed");
  CHECK(boost::json::parse(ndjson[1]).at("randomized").as_bool());

  r = cli({"devices", "--socket", f.path, "--state", "unmanaged", "--vlan", "7", "--seen-since",
           "2026-11-23T19:00:00Z", "--noncompliant", "--randomized", "--offset", "0", "--limit",
           "1"});
  REQUIRE(r.code == 0);
  CHECK(f.context.last_state == "unmanaged");
  CHECK(f.context.last_vlan == 7);
  CHECK(f.context.last_seen_since == 1795460400);
  CHECK(f.context.last_noncompliant);
  CHECK(f.context.last_randomized);
  CHECK(f.context.last_limit == 1);
  CHECK(r.out.find("(devices 1-1 of 2; use --offset and --limit for more)") != std::string::npos);

  r = cli({"devices", "--socket", f.path, "--offset", "5"});
  CHECK(r.code == 0);
  CHECK(r.out == "no devices match\n");
  r = cli({"devices", "--socket", f.path, "--vlan", "9999"});
  CHECK(r.code == 1);
  CHECK(r.err.find("argument 'vlan' must be between 0 and 4095") != std::string::npos);
}

TEST_CASE("edgeid CLI: sync, flush, metrics, list-commands") {
  test::ControlFixture f;
  Run r = cli({"sync", "--socket", f.path});
  if (::geteuid() == 0) {
    CHECK(r.code == 0);
    CHECK(r.out == "identity sync started\n");
    r = cli({"flush", "--socket", f.path, "--json"});
    CHECK(r.code == 0);
    CHECK(boost::json::parse(r.out).at("detail").as_string() == "flushed 3 changes");
    f.context.fail_actions = true;
    r = cli({"sync", "--socket", f.path});
    CHECK(r.code == 1);
    CHECK(r.err.starts_with("edgeid sync: sync failed: "));
  } else {
    CHECK(r.code == 1);
    CHECK(r.err.find("permission denied") != std::string::npos);
  }

  r = cli({"metrics", "--socket", f.path});
  CHECK(r.code == 0);
  CHECK(r.out == "# TYPE edgeid_packets_total counter\nedgeid_packets_total 100\n");

  r = cli({"list-commands", "--socket", f.path});
  CHECK(r.code == 0);
  const auto table = lines(r.out);
  REQUIRE(table.size() == agent::control_commands().size() + 1);
  CHECK(table[0].starts_with("COMMAND         ACCESS  HELP"));
  CHECK(r.out.find("sync            admin   start an identity sync") != std::string::npos);
  CHECK(r.out.find("upstream-retry  admin   re-send") != std::string::npos);
  CHECK(r.out.find("status          read    ") != std::string::npos);
}
