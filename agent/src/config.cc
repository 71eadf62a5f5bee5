#include "agent/config.h"

#include <ifaddrs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <limits>
#include <net/if.h>
#include <set>
#include <span>
#include <sstream>
#include <sys/stat.h>
#include <variant>

#include <boost/json.hpp>

#include "cloud/oauth.h"
#include "cloud/url.h"
#include "platform/files.h"

namespace edgeid::agent {

namespace {

namespace json = boost::json;

// What a field holds. Each section's table below is the one place that gives, per keyword, its
// type, default, whether it is required, and its limits or allowed values.
template <class S>
using Member = std::variant<std::string S::*, std::int64_t S::*, std::vector<std::string> S::*>;

enum Flags : unsigned {
  kNone = 0,
  kRequired = 1U << 0,
  kPath = 1U << 1,        // resolved against the config file's directory
  kSecretFile = 1U << 2,  // a path whose file is checked like a secret
  kNonEmpty = 1U << 3,    // a string that may not be ""
};

template <class S>
struct Field {
  std::string_view key;
  Member<S> member;
  unsigned flags = kNone;
  std::string_view default_text = {};
  std::int64_t default_int = 0;
  std::int64_t min = 0;
  std::int64_t max = std::numeric_limits<std::int32_t>::max();
  std::span<const std::string_view> choices = {};
};

constexpr std::string_view kSources[] = {"graph", "file", "none"};
constexpr std::string_view kClouds[] = {"global", "usgov", "dod", "china", "custom"};
constexpr std::string_view kSinks[] = {"collector", "clickhouse", "none"};
constexpr std::string_view kDurability[] = {"synced", "periodic"};

// The sections. Defaults of a path-valued key that depends on the user (data_dir) or the host
// (sensor_id) are "" here and filled in by finish().
const Field<Config> kTop[] = {
    {"sensor_id", &Config::sensor_id},
    {"user", &Config::user, kNonEmpty, "edgeid"},
};
const Field<CaptureConfig> kCapture[] = {
    {"interfaces", &CaptureConfig::interfaces},
    {"pcap_files", &CaptureConfig::pcap_files, kPath},
    {"bpf", &CaptureConfig::bpf},
    {"snaplen", &CaptureConfig::snaplen, kNone, {}, 1600, 64, 262144},
    {"buffer_mib", &CaptureConfig::buffer_mib, kNone, {}, 8, 1, 1024},
    {"max_devices", &CaptureConfig::max_devices, kNone, {}, 200'000, 1, 100'000'000},
    {"oui_dir", &CaptureConfig::oui_dir, kPath, "/usr/share/ieee-data"},
};
const Field<StoreConfig> kStore[] = {
    {"data_dir", &StoreConfig::data_dir, kPath},
    {"flush_interval_s", &StoreConfig::flush_interval_s, kNone, {}, 5, 1, 3600},
    {"max_map_mib", &StoreConfig::max_map_mib, kNone, {}, 4096, 1, 1 << 20},
    {"durability", &StoreConfig::durability, kNone, "synced", 0, 0, 0, kDurability},
    {"sync_interval_s", &StoreConfig::sync_interval_s, kNone, {}, 30, 1, 3600},
    {"activity_interval_s", &StoreConfig::activity_interval_s, kNone, {}, 300, 1, 86400},
    {"retention_days", &StoreConfig::retention_days, kNone, {}, 30, 0, 3650},
    {"outbox_max_items", &StoreConfig::outbox_max_items, kNone, {}, 1'000'000, 100, 100'000'000},
};
const Field<IdentityConfig> kIdentity[] = {
    {"source", &IdentityConfig::source, kNone, "none", 0, 0, 0, kSources},
};
const Field<GraphConfig> kGraph[] = {
    {"cloud", &GraphConfig::cloud, kNone, "global", 0, 0, 0, kClouds},
    {"authority_url", &GraphConfig::authority_url},
    {"graph_url", &GraphConfig::graph_url},
    {"tenant_id", &GraphConfig::tenant_id, kRequired | kNonEmpty},
    {"client_id", &GraphConfig::client_id, kRequired | kNonEmpty},
    {"client_secret_file", &GraphConfig::client_secret_file, kPath | kSecretFile},
    {"certificate_file", &GraphConfig::certificate_file, kPath},
    {"certificate_key_file", &GraphConfig::certificate_key_file, kPath | kSecretFile},
    {"ca_file", &GraphConfig::ca_file, kPath},
    {"proxy", &GraphConfig::proxy},
    {"intune_interval_s",
     &GraphConfig::intune_interval_s,
     kNone,
     {},
     900,
     60,
     std::int64_t{86400} * 7},
    {"entra_interval_s",
     &GraphConfig::entra_interval_s,
     kNone,
     {},
     300,
     30,
     std::int64_t{86400} * 7},
};
const Field<IdentityFileConfig> kIdentityFile[] = {
    {"path", &IdentityFileConfig::path, kRequired | kNonEmpty | kPath},
};
const Field<UpstreamConfig> kUpstream[] = {
    {"sink", &UpstreamConfig::sink, kNone, "none", 0, 0, 0, kSinks},
    {"url", &UpstreamConfig::url},
    {"token_file", &UpstreamConfig::token_file, kPath | kSecretFile},
    {"ca_file", &UpstreamConfig::ca_file, kPath},
    {"certificate_file", &UpstreamConfig::certificate_file, kPath},
    {"certificate_key_file", &UpstreamConfig::certificate_key_file, kPath | kSecretFile},
    {"user", &UpstreamConfig::user, kNonEmpty, "default"},
    {"password_file", &UpstreamConfig::password_file, kPath | kSecretFile},
    {"database", &UpstreamConfig::database, kNonEmpty, "edgeid"},
    {"table", &UpstreamConfig::table, kNonEmpty, "devices"},
    {"events_table", &UpstreamConfig::events_table, kNonEmpty, "events"},
    {"max_batch_records", &UpstreamConfig::max_batch_records, kNone, {}, 500, 1, 100'000},
    {"max_batch_bytes", &UpstreamConfig::max_batch_bytes, kNone, {}, 1 << 20, 1024, 64 << 20},
    {"timeout_s", &UpstreamConfig::timeout_s, kNone, {}, 30, 1, 600},
    {"backoff_max_s", &UpstreamConfig::backoff_max_s, kNone, {}, 300, 1, 86'400},
};
const Field<ControlConfig> kControl[] = {
    {"socket", &ControlConfig::socket, kNonEmpty | kPath, "/run/edgeid/control.sock"},
    {"group", &ControlConfig::group, kNonEmpty, "edgeid"},
    {"admin_group", &ControlConfig::admin_group, kNonEmpty, "edgeid-admin"},
};

std::string join_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

[[noreturn]] void fail(std::string_view path, std::string_view what) {
  throw ConfigError(std::string(path) + ": " + std::string(what));
}

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "something else";
}

class Parser {
 public:
  explicit Parser(std::filesystem::path base) : base_(std::move(base)) {}

  template <class S, std::size_t N>
  void defaults(S& s, const Field<S> (&table)[N]) const {
    for (const auto& f : table) {
      std::visit(
          [&](auto m) {
            using T = std::remove_reference_t<decltype(s.*m)>;
            if constexpr (std::is_same_v<T, std::string>) {
              s.*m = std::string(f.default_text);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              s.*m = f.default_int;
            } else {
              (s.*m).clear();
            }
          },
          f.member);
    }
  }

  // Reads the keys of @p object that are fields of @p table; @p sections are the keys that name
  // sub-objects (read by the caller). Anything else is an unknown key.
  template <class S, std::size_t N>
  void read(const json::object& object, std::string_view path, S& s, const Field<S> (&table)[N],
            std::initializer_list<std::string_view> sections = {}) const {
    defaults(s, table);
    for (const auto& entry : object) {
      // Not a structured binding: clang 14 cannot capture one in a lambda (C++20 allows it).
      const std::string_view key = entry.key();
      const auto& value = entry.value();
      const auto it = std::find_if(std::begin(table), std::end(table),
                                   [&](const Field<S>& f) { return f.key == key; });
      if (it == std::end(table)) {
        if (std::find(sections.begin(), sections.end(), key) != sections.end()) continue;
        std::string known;
        for (const auto& f : table) known += (known.empty() ? "" : ", ") + std::string(f.key);
        for (const auto& k : sections) known += (known.empty() ? "" : ", ") + std::string(k);
        fail(join_path(path, key), "unknown key (expected one of: " + known + ")");
      }
      read_field(value, join_path(path, key), s, *it);
    }
    for (const auto& f : table) {
      if ((f.flags & kRequired) && !object.contains(f.key)) {
        fail(join_path(path, f.key), "required key is missing");
      }
    }
  }

  const json::object& section(const json::object& parent, std::string_view path,
                              std::string_view key) const {
    static const json::object kEmpty;
    const auto* v = parent.if_contains(key);
    if (v == nullptr) return kEmpty;
    if (!v->is_object()) fail(join_path(path, key), "expected an object, got " + kind_name(*v));
    return v->get_object();
  }

  std::string resolve(const std::string& p) const {
    if (p.empty() || std::filesystem::path(p).is_absolute() || base_.empty()) return p;
    return (base_ / p).lexically_normal().string();
  }

 private:
  template <class S>
  void read_field(const json::value& v, const std::string& path, S& s, const Field<S>& f) const {
    std::visit(
        [&](auto m) {
          using T = std::remove_reference_t<decltype(s.*m)>;
          if constexpr (std::is_same_v<T, std::string>) {
            s.*m = read_string(v, path, f);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            if (!v.is_int64() && !v.is_uint64()) {
              fail(path, "expected an integer, got " + kind_name(v));
            }
            if (v.is_uint64() || v.get_int64() < f.min || v.get_int64() > f.max) {
              fail(path, "expected an integer from " + std::to_string(f.min) + " to " +
                             std::to_string(f.max));
            }
            s.*m = v.get_int64();
          } else {
            if (!v.is_array()) fail(path, "expected an array of strings, got " + kind_name(v));
            (s.*m).clear();
            std::size_t i = 0;
            for (const auto& item : v.get_array()) {
              const auto item_path = path + "[" + std::to_string(i++) + "]";
              (s.*m).push_back(read_string(item, item_path, f));
            }
          }
        },
        f.member);
  }

  template <class S>
  std::string read_string(const json::value& v, const std::string& path, const Field<S>& f) const {
    if (!v.is_string()) fail(path, "expected a string, got " + kind_name(v));
    std::string s(v.get_string());
    if ((f.flags & kNonEmpty) && s.empty()) fail(path, "expected a non-empty string");
    if (s.find('\0') != std::string::npos) fail(path, "expected a string without NUL bytes");
    if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end()) {
      std::string list;
      for (const auto c : f.choices) list += (list.empty() ? "" : ", ") + std::string(c);
      fail(path, "expected one of " + list + ", got \"" + s + "\"");
    }
    if (f.flags & kPath) s = resolve(s);
    if ((f.flags & kSecretFile) && !s.empty()) check_secret_file(s, path);
    return s;
  }

  std::filesystem::path base_;
};

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "edgeid";
  return buf.data();
}

// Cross-field rules the tables cannot say.
void finish(Config& c, const json::object& root) {
  if (c.sensor_id.empty()) c.sensor_id = host_name();
  if (c.store.data_dir.empty()) {
    c.store.data_dir = geteuid() == 0 ? "/var/lib/edgeid" : "edgeid-data";
  }
  const auto* capture = root.if_contains("capture");
  c.capture.all_interfaces = capture == nullptr || !capture->as_object().contains("interfaces");
  if (c.capture.all_interfaces && capture != nullptr &&
      capture->as_object().contains("pcap_files")) {
    // A config that names capture files and no interfaces means "just these files".
    c.capture.all_interfaces = false;
  }
  for (std::size_t i = 0; i < c.capture.interfaces.size(); ++i) {
    const auto& name = c.capture.interfaces[i];
    if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos) {
      fail("capture.interfaces[" + std::to_string(i) + "]",
           "expected an interface name (1 to " + std::to_string(IFNAMSIZ - 1) + " characters)");
    }
  }

  auto& id = c.identity;
  const auto* identity = root.if_contains("identity");
  const auto has = [&](std::string_view key) {
    return identity != nullptr && identity->as_object().contains(key);
  };
  if (id.source == "graph") {
    if (!has("graph")) fail("identity.graph", "required when identity.source is \"graph\"");
    auto& g = id.graph;
    if (g.cloud == "custom") {
      if (g.authority_url.empty()) {
        fail("identity.graph.authority_url", "required for cloud custom");
      }
      if (g.graph_url.empty()) fail("identity.graph.graph_url", "required for cloud custom");
    } else if (const auto kind = cloud::parse_cloud(g.cloud)) {
      if (const auto ep = cloud::cloud_endpoints(*kind)) {
        if (g.authority_url.empty()) g.authority_url = ep->authority_url;
        if (g.graph_url.empty()) g.graph_url = ep->graph_url;
      }
    }
    for (const auto* key : {"authority_url", "graph_url"}) {
      const auto& url = std::string_view(key) == "graph_url" ? g.graph_url : g.authority_url;
      if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        fail(std::string("identity.graph.") + key, "expected an http(s) URL");
      }
    }
    const bool secret = !g.client_secret_file.empty();
    const bool cert = !g.certificate_file.empty() || !g.certificate_key_file.empty();
    if (secret == cert) {
      fail("identity.graph",
           "expected exactly one credential: client_secret_file, or certificate_file with "
           "certificate_key_file");
    }
    if (cert && (g.certificate_file.empty() || g.certificate_key_file.empty())) {
      fail(g.certificate_file.empty() ? "identity.graph.certificate_file"
                                      : "identity.graph.certificate_key_file",
           "required with the other certificate key");
    }
  } else if (id.source == "file") {
    if (!has("file")) fail("identity.file", "required when identity.source is \"file\"");
  }
  const auto& u = c.upstream;
  if (u.sink != "none") {
    if (u.url.empty()) fail("upstream.url", "required when upstream.sink is \"" + u.sink + "\"");
    const auto url = cloud::Url::parse(u.url);
    if (!url) fail("upstream.url", "expected an absolute http(s) URL without user or fragment");
    // A credential in plain text may only cross the loopback interface.
    const bool loopback =
        url->host == "localhost" || url->host == "::1" || url->host.rfind("127.", 0) == 0;
    if (!url->is_https() && !loopback && (!u.token_file.empty() || !u.password_file.empty())) {
      fail("upstream.url", "expected https: a token or password goes only over TLS (or loopback)");
    }
    if (u.certificate_file.empty() != u.certificate_key_file.empty()) {
      fail(u.certificate_file.empty() ? "upstream.certificate_file"
                                      : "upstream.certificate_key_file",
           "required with the other certificate key");
    }
    for (const auto& name : {u.database, u.table, u.events_table}) {
      const bool plain = std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
      });
      if (!plain) fail("upstream", "expected database and table names of letters, digits and _");
    }
  }
}

}  // namespace

void check_secret_file(const std::string& path, std::string_view json_path) {
  std::string message;
  if (platform::check_secret_file(path, ::geteuid(), message)) fail(json_path, message);
}

Config parse_config(std::string_view text, const std::filesystem::path& file) {
  json::parse_options options;
  options.allow_comments = true;
  std::error_code ec;
  json::value root = json::parse(text, ec, {}, options);
  const std::string where = file.empty() ? "config" : file.string();
  if (ec) throw ConfigError(where + ": not valid JSON: " + ec.message());
  if (!root.is_object()) throw ConfigError(where + ": expected a JSON object at the top level");
  const auto& top = root.get_object();

  Config c;
  c.file = file;
  const Parser p(file.empty() ? std::filesystem::path() : file.parent_path());
  p.read(top, "", c, kTop, {"capture", "store", "identity", "upstream", "control"});
  p.read(p.section(top, "", "capture"), "capture", c.capture, kCapture);
  p.read(p.section(top, "", "store"), "store", c.store, kStore);
  const auto& identity = p.section(top, "", "identity");
  p.read(identity, "identity", c.identity, kIdentity, {"graph", "file"});
  // A sub-section is only checked for required keys when it is in use.
  if (c.identity.source == "graph" || identity.contains("graph")) {
    p.read(p.section(identity, "identity", "graph"), "identity.graph", c.identity.graph, kGraph);
  } else {
    p.defaults(c.identity.graph, kGraph);
  }
  if (c.identity.source == "file" || identity.contains("file")) {
    p.read(p.section(identity, "identity", "file"), "identity.file", c.identity.file,
           kIdentityFile);
  }
  p.read(p.section(top, "", "upstream"), "upstream", c.upstream, kUpstream);
  p.read(p.section(top, "", "control"), "control", c.control, kControl);
  finish(c, top);
  return c;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot be read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": read failed");
  return parse_config(text.str(), std::filesystem::absolute(file));
}

Config default_config() {
  Config c = parse_config("{}", {});
  c.capture.all_interfaces = true;
  return c;
}

std::vector<std::string> up_interfaces() {
  std::set<std::string> names;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_name == nullptr) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    names.insert(i->ifa_name);
  }
  freeifaddrs(list);
  return {names.begin(), names.end()};
}

std::string config_to_json(const Config& c) {
  json::object o;
  o["sensor_id"] = c.sensor_id;
  o["user"] = c.user;
  const auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  o["capture"] = {
      {"interfaces", c.capture.all_interfaces ? json::value("all up, non-loopback")
                                              : json::value(strings(c.capture.interfaces))},
      {"pcap_files", strings(c.capture.pcap_files)},
      {"bpf", c.capture.bpf},
      {"snaplen", c.capture.snaplen},
      {"buffer_mib", c.capture.buffer_mib},
      {"max_devices", c.capture.max_devices},
      {"oui_dir", c.capture.oui_dir}};
  o["store"] = {{"data_dir", c.store.data_dir},
                {"flush_interval_s", c.store.flush_interval_s},
                {"max_map_mib", c.store.max_map_mib},
                {"durability", c.store.durability},
                {"sync_interval_s", c.store.sync_interval_s},
                {"activity_interval_s", c.store.activity_interval_s},
                {"retention_days", c.store.retention_days},
                {"outbox_max_items", c.store.outbox_max_items}};
  json::object identity{{"source", c.identity.source}};
  if (c.identity.source == "graph") {
    const auto& g = c.identity.graph;
    identity["graph"] = {{"cloud", g.cloud},
                         {"authority_url", g.authority_url},
                         {"graph_url", g.graph_url},
                         {"tenant_id", g.tenant_id},
                         {"client_id", g.client_id},
                         {"client_secret_file", g.client_secret_file},
                         {"certificate_file", g.certificate_file},
                         {"certificate_key_file", g.certificate_key_file},
                         {"ca_file", g.ca_file},
                         {"proxy", g.proxy},
                         {"intune_interval_s", g.intune_interval_s},
                         {"entra_interval_s", g.entra_interval_s}};
  } else if (c.identity.source == "file") {
    identity["file"] = {{"path", c.identity.file.path}};
  }
  o["identity"] = std::move(identity);
  const auto& u = c.upstream;
  o["upstream"] = {{"sink", u.sink},
                   {"url", u.url},
                   {"token_file", u.token_file},
                   {"ca_file", u.ca_file},
                   {"certificate_file", u.certificate_file},
                   {"certificate_key_file", u.certificate_key_file},
                   {"user", u.user},
                   {"password_file", u.password_file},
                   {"database", u.database},
                   {"table", u.table},
                   {"events_table", u.events_table},
                   {"max_batch_records", u.max_batch_records},
                   {"max_batch_bytes", u.max_batch_bytes},
                   {"timeout_s", u.timeout_s},
                   {"backoff_max_s", u.backoff_max_s}};
  o["control"] = {{"socket", c.control.socket},
                  {"group", c.control.group},
                  {"admin_group", c.control.admin_group}};
  return json::serialize(o);
}

}  // namespace edgeid::agent
