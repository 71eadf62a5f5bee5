// `edgeid identities`: one identity sync (Graph, or an offline file) printed as text or NDJSON
// (DESIGN.md §10 `identity` object plus entra_object_id and azure_ad_device_id).
// Until the config file lands (agent issue), the source is given on the command line.

#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "args.h"
#include "cloud/graph_client.h"
#include "cloud/graph_error.h"
#include "cloud/identity_source.h"
#include "cloud/oauth.h"
#include "commands.h"
#include "device_json.h"
#include "platform/log.h"
#include "platform/time.h"

namespace edgeid::agent {

namespace {

void field(std::string& out, bool& first, std::string_view key, std::string_view value) {
  if (value.empty()) return;  // absent facts are omitted
  out += first ? "" : ",";
  first = false;
  append_json_string(out, key);
  out += ':';
  append_json_string(out, value);
}

std::string identity_json(const cloud::Identity& id) {
  using T = cloud::IdentityText;
  std::string out = "{";
  bool first = true;
  field(out, first, "intune_id", id.intune_id.is_nil() ? "" : id.intune_id.to_string());
  field(out, first, "entra_device_id",
        id.azure_ad_device_id.is_nil() ? "" : id.azure_ad_device_id.to_string());
  field(out, first, "device_name", id.text(T::device_name));
  field(out, first, "os", id.text(T::os));
  field(out, first, "os_group", id.os_group());
  field(out, first, "os_version", id.text(T::os_version));
  field(out, first, "enrollment_type", id.text(T::enrollment_type));
  field(out, first, "user_principal_name", id.text(T::user_principal_name));
  field(out, first, "email", id.text(T::email));
  field(out, first, "model", id.text(T::model));
  field(out, first, "manufacturer", id.text(T::manufacturer));
  field(out, first, "serial_number", id.text(T::serial_number));
  field(out, first, "compliance_state", id.text(T::compliance_state));
  field(out, first, "management_agent", id.text(T::management_agent));
  field(out, first, "ownership", id.text(T::ownership));
  field(out, first, "trust_type", id.text(T::trust_type));
  field(out, first, "last_sync", id.last_sync ? id.last_sync->to_rfc3339() : "");
  field(out, first, "wifi_mac", id.wifi_mac ? id.wifi_mac->to_string() : "");
  field(out, first, "ethernet_mac", id.ethernet_mac ? id.ethernet_mac->to_string() : "");
  field(out, first, "entra_object_id",
        id.entra_object_id.is_nil() ? "" : id.entra_object_id.to_string());
  field(out, first, "azure_ad_device_id",
        id.azure_ad_device_id.is_nil() ? "" : id.azure_ad_device_id.to_string());
  out += '}';
  return out;
}

void print(const CommandArgs& a, const std::vector<cloud::Identity>& ids, bool json) {
  for (const auto& id : ids) {
    if (json) {
      a.out << identity_json(id) << '\n';
    } else {
      a.out << (id.intune_id.is_nil() ? id.entra_object_id.to_string() : id.intune_id.to_string())
            << "  " << id.text(cloud::IdentityText::device_name) << "  "
            << (id.wifi_mac ? id.wifi_mac->to_string() : "-") << "  "
            << (id.ethernet_mac ? id.ethernet_mac->to_string() : "-") << "  "
            << id.text(cloud::IdentityText::os) << '\n';
    }
  }
}

}  // namespace

int run_identities(const CommandArgs& a) {
  ArgReader r(a.args);
  std::string graph_url, authority_url, tenant, client_id, secret_file, ca_file, file, cloud_name;
  bool json = false;
  while (!r.done()) {
    const std::string_view arg = r.next();
    if (arg == "--json") {
      json = true;
    } else if (arg == "--graph-url") {
      graph_url = r.value_of(arg);
    } else if (arg == "--authority-url") {
      authority_url = r.value_of(arg);
    } else if (arg == "--cloud") {
      cloud_name = r.value_of(arg);
    } else if (arg == "--tenant") {
      tenant = r.value_of(arg);
    } else if (arg == "--client-id") {
      client_id = r.value_of(arg);
    } else if (arg == "--client-secret-file") {
      secret_file = r.value_of(arg);
    } else if (arg == "--ca-file") {
      ca_file = r.value_of(arg);
    } else if (arg == "--file") {
      file = r.value_of(arg);
    } else {
      ArgReader::unknown(arg);
    }
  }
  if (!file.empty()) {
    cloud::SourceResult result;
    std::string detail;
    if (auto ec = cloud::load_identity_file(file, result, detail)) {
      a.err << "edgeid identities: " << detail << '\n';
      return 1;
    }
    print(a, result.identities, json);
    return 0;
  }
  if (!cloud_name.empty()) {
    auto kind = cloud::parse_cloud(cloud_name);
    if (!kind) throw UsageError("--cloud must be global, usgov, dod, china or custom");
    if (auto ep = cloud::cloud_endpoints(*kind)) {
      if (graph_url.empty()) graph_url = ep->graph_url;
      if (authority_url.empty()) authority_url = ep->authority_url;
    }
  }
  if (graph_url.empty() || authority_url.empty() || tenant.empty() || client_id.empty() ||
      secret_file.empty()) {
    throw UsageError(
        "needs --file PATH, or --graph-url, --authority-url (or --cloud), --tenant, --client-id "
        "and --client-secret-file");
  }
  platform::Secret secret;
  std::string detail;
  if (auto ec = cloud::read_secret_file(secret_file, secret, detail)) {
    a.err << "edgeid identities: " << detail << '\n';
    return 2;
  }
  boost::asio::io_context io;
  cloud::TlsOptions tls_options;
  if (!ca_file.empty()) tls_options.ca_file = ca_file;
  std::error_code ec;
  auto tls = cloud::TlsContext::create(tls_options, ec);
  if (!tls) {
    a.err << "edgeid identities: CA file: " << ec.message() << '\n';
    return 2;
  }
  platform::StderrSink sink;
  platform::Logger log(sink, "cloud", platform::LogLevel::warning);
  platform::SystemClock clock;
  cloud::HttpClient http(io, tls, cloud::HttpClientOptions{});
  cloud::OAuthOptions oauth;
  oauth.authority_url = authority_url;
  oauth.graph_url = graph_url;
  oauth.tenant = tenant;
  oauth.client_id = client_id;
  oauth.client_secret = std::move(secret);
  cloud::TokenProvider tokens(http, clock, log.child("oauth"), std::move(oauth));
  cloud::AsioScheduler scheduler(io);
  cloud::MemorySyncStateStore state;
  cloud::GraphOptions options;
  options.graph_url = graph_url;
  cloud::GraphClient graph(http, tokens, scheduler, clock, state, log.child("graph"), options);
  std::optional<cloud::SyncOutcome> outcome;
  graph.async_sync_all([&](cloud::SyncOutcome o) { outcome = std::move(o); });
  while (!outcome && io.run_one() > 0) {
  }
  http.close();
  io.run();
  if (!outcome || outcome->ec) {
    a.err << "edgeid identities: " << (outcome ? outcome->detail : "sync did not finish") << '\n';
    return 1;
  }
  print(a, graph.identities(), json);
  if (outcome->report.intune_incomplete) {
    a.err << "edgeid identities: warning: Graph announced " << *outcome->report.expected_count
          << " Intune devices, " << outcome->report.intune_devices << " arrived\n";
  }
  return 0;
}

}  // namespace edgeid::agent
