// agent::Config: the section tables (types, defaults, required keys, unknown keys), errors that
// name the JSON path, and the secret-file owner/mode check.
#include "agent/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>

namespace {

using edgeid::agent::Config;
using edgeid::agent::ConfigError;
using edgeid::agent::parse_config;

// The message of the ConfigError parse_config throws for @p text ("" when it parses).
std::string error_of(const std::string& text, const std::filesystem::path& file = {}) {
  try {
    parse_config(text, file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeid-config-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content, mode_t mode) const {
    const auto p = path / name;
    std::ofstream(p) << content;
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p.string();
  }
};

}  // namespace

TEST_CASE("config: an empty object gives every table default") {
  const Config c = parse_config("{}", {});
  CHECK(c.capture.all_interfaces);
  CHECK(c.capture.interfaces.empty());
  CHECK(c.capture.snaplen == 1600);
  CHECK(c.capture.buffer_mib == 8);
  CHECK(c.capture.max_devices == 200000);
  CHECK(c.capture.oui_dir == "/usr/share/ieee-data");
  CHECK(c.store.flush_interval_s == 5);
  CHECK(c.store.data_dir == (geteuid() == 0 ? "/var/lib/edgeid" : "edgeid-data"));
  CHECK(c.identity.source == "none");
  CHECK(c.upstream.sink == "none");
  CHECK(c.control.socket == "/run/edgeid/control.sock");
  CHECK(c.control.group == "edgeid");
  CHECK(c.control.admin_group == "edgeid-admin");
  CHECK(c.user == "edgeid");
  CHECK_FALSE(c.sensor_id.empty());  // the host name
}

TEST_CASE("config: the embedded default captures on every interface and syncs nothing") {
  const Config c = edgeid::agent::default_config();
  CHECK(c.capture.all_interfaces);
  CHECK(c.capture.pcap_files.empty());
  CHECK(c.identity.source == "none");
  for (const auto& name : edgeid::agent::up_interfaces()) CHECK(name != "lo");
}

TEST_CASE("config: values of every type are read") {
  const Config c = parse_config(R"({"sensor_id": "fw1", "user": "svc",
      "capture": {"interfaces": ["eth1", "eth2"], "bpf": "not port 22", "snaplen": 256,
                  "buffer_mib": 64, "max_devices": 1000},
      "store": {"data_dir": "/srv/edgeid", "flush_interval_s": 10},
      "control": {"socket": "/tmp/c.sock", "group": "g", "admin_group": "a"}})",
                                {});
  CHECK(c.sensor_id == "fw1");
  CHECK(c.user == "svc");
  CHECK_FALSE(c.capture.all_interfaces);
  CHECK(c.capture.interfaces == std::vector<std::string>{"eth1", "eth2"});
  CHECK(c.capture.bpf == "not port 22");
  CHECK(c.capture.snaplen == 256);
  CHECK(c.capture.buffer_mib == 64);
  CHECK(c.capture.max_devices == 1000);
  CHECK(c.store.data_dir == "/srv/edgeid");
  CHECK(c.store.flush_interval_s == 10);
  CHECK(c.control.socket == "/tmp/c.sock");
}

TEST_CASE("config: every type error names the JSON path and what was expected") {
  CHECK(error_of(R"({"sensor_id": 5})") == "sensor_id: expected a string, got an integer");
  CHECK(error_of(R"({"capture": []})") == "capture: expected an object, got an array");
  CHECK(error_of(R"({"capture": {"interfaces": "eth0"}})") ==
        "capture.interfaces: expected an array of strings, got a string");
  CHECK(error_of(R"({"capture": {"interfaces": ["eth0", 7]}})") ==
        "capture.interfaces[1]: expected a string, got an integer");
  CHECK(error_of(R"({"capture": {"snaplen": "big"}})") ==
        "capture.snaplen: expected an integer, got a string");
  CHECK(error_of(R"({"capture": {"snaplen": 1.5}})") ==
        "capture.snaplen: expected an integer, got a number");
  CHECK(error_of(R"({"capture": {"snaplen": 10}})") ==
        "capture.snaplen: expected an integer from 64 to 262144");
  CHECK(error_of(R"({"capture": {"buffer_mib": 0}})") ==
        "capture.buffer_mib: expected an integer from 1 to 1024");
  CHECK(error_of(R"({"store": {"flush_interval_s": 0}})") ==
        "store.flush_interval_s: expected an integer from 1 to 3600");
  CHECK(error_of(R"({"identity": {"source": "ldap"}})") ==
        "identity.source: expected one of graph, file, none, got \"ldap\"");
  CHECK(error_of(R"({"identity": {"source": "graph", "graph": {"tenant_id": 1}}})") ==
        "identity.graph.tenant_id: expected a string, got an integer");
  CHECK(error_of(R"({"user": ""})") == "user: expected a non-empty string");
  CHECK(error_of(R"({"capture": {"interfaces": ["a/b"]}})") ==
        "capture.interfaces[0]: expected an interface name (1 to 15 characters)");
}

TEST_CASE("config: unknown keys are rejected with their path and the known keys") {
  CHECK(error_of(R"({"sensorid": "x"})").starts_with("sensorid: unknown key (expected one of: "));
  const auto e = error_of(R"({"store": {"data_dir": "/x", "flush": 5}})");
  CHECK(e ==
        "store.flush: unknown key (expected one of: data_dir, flush_interval_s, max_map_mib, "
        "durability, sync_interval_s, activity_interval_s, retention_days, outbox_max_items)");
  CHECK(error_of(R"({"identity": {"graph": {"tenant_id": "t", "client_id": "c", "secret": "s"}}})")
            .starts_with("identity.graph.secret: unknown key"));
  CHECK(error_of(R"({"identity": {"file": {"path": "x", "format": "csv"}}})")
            .starts_with("identity.file.format: unknown key"));
}

TEST_CASE("config: required keys and cross-field rules name the path") {
  CHECK(error_of(R"({"identity": {"source": "file"}})") ==
        "identity.file.path: required key is missing");
  CHECK(error_of(R"({"identity": {"source": "file", "file": {}}})") ==
        "identity.file.path: required key is missing");
  CHECK(error_of(R"({"identity": {"source": "graph", "graph": {"client_id": "c"}}})") ==
        "identity.graph.tenant_id: required key is missing");
  CHECK(error_of(R"({"identity": {"source": "graph", "graph": {"tenant_id": "t",
        "client_id": "c"}}})")
            .starts_with("identity.graph: expected exactly one credential"));
  CHECK(error_of(R"({"upstream": {"sink": "collector"}})") ==
        "upstream.url: required when upstream.sink is \"collector\"");
  CHECK(error_of(R"({"identity": {"source": "graph", "graph": {"cloud": "custom",
        "tenant_id": "t", "client_id": "c"}}})") ==
        "identity.graph.authority_url: required for cloud custom");
}

TEST_CASE("config: malformed JSON and a non-object top level name the file") {
  CHECK(error_of("{", "/etc/edgeid/edgeid.json")
            .starts_with("/etc/edgeid/edgeid.json: not valid JSON"));
  CHECK(error_of("[]", "/x.json") == "/x.json: expected a JSON object at the top level");
  CHECK(error_of("// a comment\n{\"sensor_id\": \"a\" /* inline */}") == "");
}

TEST_CASE("config: relative paths are read from the config file's directory") {
  const Config c = parse_config(
      R"({"capture": {"pcap_files": ["a.pcap", "/abs/b.pcap"]},
          "identity": {"source": "file", "file": {"path": "../t.json"}}})",
      "/etc/edgeid/edgeid.json");
  CHECK(c.capture.pcap_files == std::vector<std::string>{"/etc/edgeid/a.pcap", "/abs/b.pcap"});
  CHECK_FALSE(c.capture.all_interfaces);  // files and no interfaces: just the files
  CHECK(c.identity.file.path == "/etc/t.json");
}

TEST_CASE("config: secret files must be private to the service user") {
  TempDir dir;
  const auto good = dir.write("secret", "s3cret\n", 0600);
  const auto group = dir.write("group-readable", "s3cret\n", 0640);
  const auto world = dir.write("world-readable", "s3cret\n", 0604);
  const auto graph = [](const std::string& file) {
    return R"({"identity": {"source": "graph", "graph": {"tenant_id": "t", "client_id": "c",
              "client_secret_file": ")" +
           file + R"("}}})";
  };
  const Config c = parse_config(graph(good), {});
  CHECK(c.identity.graph.client_secret_file == good);
  CHECK(c.identity.graph.graph_url == "https://graph.microsoft.com");
  CHECK(c.identity.graph.authority_url == "https://login.microsoftonline.com");
  CHECK(error_of(graph(group)) == "identity.graph.client_secret_file: secret file " + group +
                                      " is accessible by group or others (mode 0640); chmod "
                                      "0600 it");
  CHECK(error_of(graph(world)).find("(mode 0604)") != std::string::npos);
  CHECK(error_of(graph(dir.path.string() + "/missing")) ==
        "identity.graph.client_secret_file: secret file " + dir.path.string() +
            "/missing: No such file or directory");
  CHECK(error_of(graph(dir.path.string())).find("is not a regular file") != std::string::npos);
  const auto token = dir.write("token", "t\n", 0644);
  CHECK(error_of(R"({"upstream": {"sink": "collector", "url": "https://c/x", "token_file": ")" +
                 token + R"("}})")
            .starts_with("upstream.token_file: secret file"));
}

TEST_CASE("config: upstream keys, their defaults and their rules") {
  const auto c =
      parse_config(R"({"upstream": {"sink": "clickhouse", "url": "http://127.0.0.1:8123/"}})", {});
  CHECK(c.upstream.database == "edgeid");
  CHECK(c.upstream.table == "devices");
  CHECK(c.upstream.events_table == "events");
  CHECK(c.upstream.user == "default");
  CHECK(c.upstream.max_batch_records == 500);
  CHECK(c.upstream.max_batch_bytes == 1 << 20);
  CHECK(c.upstream.timeout_s == 30);
  CHECK(c.upstream.backoff_max_s == 300);
  CHECK(error_of(R"({"upstream": {"sink": "collector", "url": "collector.example"}})") ==
        "upstream.url: expected an absolute http(s) URL without user or fragment");
  CHECK(
      error_of(
          R"({"upstream": {"sink": "collector", "url": "https://c/", "certificate_file": "/c.pem"}})") ==
      "upstream.certificate_key_file: required with the other certificate key");
  CHECK(
      error_of(
          R"({"upstream": {"sink": "clickhouse", "url": "http://127.0.0.1/", "table": "x; DROP"}})") ==
      "upstream: expected database and table names of letters, digits and _");
  CHECK(error_of(R"({"upstream": {"max_batch_records": 0}})") ==
        "upstream.max_batch_records: expected an integer from 1 to 100000");
}

TEST_CASE("config: an upstream credential goes only over TLS or loopback") {
  TempDir dir;
  const auto pw = dir.write("pw", "secret\n", 0600);
  auto with = [&](const std::string& url) {
    return R"({"upstream": {"sink": "clickhouse", "url": ")" + url + R"(", "password_file": ")" +
           pw + R"("}})";
  };
  CHECK(error_of(with("http://ch.example:8123/")) ==
        "upstream.url: expected https: a token or password goes only over TLS (or loopback)");
  CHECK_NOTHROW(parse_config(with("https://ch.example:8443/"), {}));
  CHECK_NOTHROW(parse_config(with("http://127.0.0.1:8123/"), {}));
  CHECK_NOTHROW(parse_config(with("http://localhost:8123/"), {}));
}

TEST_CASE("config: load_config reports an unreadable file in one line") {
  try {
    edgeid::agent::load_config("/nonexistent/edgeid.json");
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).starts_with("/nonexistent/edgeid.json: cannot be read"));
  }
}
