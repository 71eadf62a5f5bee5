// `edgeid identities`: one identity sync (Graph, or an offline file) printed as text or NDJSON
// (DESIGN.md §10 `identity` object plus entra_object_id and azure_ad_device_id).
// The source is the config file's identity section (--config), or given on the command line.

#include <string>
#include <vector>

#include "agent/config.h"
#include "args.h"
#include "cloud/identity_source.h"
#include "cloud/oauth.h"
#include "commands.h"
#include "device_json.h"
#include "graph_stack.h"
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
  std::string config_file, file, cloud_name;
  GraphConfig g;
  bool json = false;
  while (!r.done()) {
    const std::string_view arg = r.next();
    if (arg == "--json") {
      json = true;
    } else if (arg == "--config") {
      config_file = r.value_of(arg);
    } else if (arg == "--graph-url") {
      g.graph_url = r.value_of(arg);
    } else if (arg == "--authority-url") {
      g.authority_url = r.value_of(arg);
    } else if (arg == "--cloud") {
      cloud_name = r.value_of(arg);
    } else if (arg == "--tenant") {
      g.tenant_id = r.value_of(arg);
    } else if (arg == "--client-id") {
      g.client_id = r.value_of(arg);
    } else if (arg == "--client-secret-file") {
      g.client_secret_file = r.value_of(arg);
    } else if (arg == "--ca-file") {
      g.ca_file = r.value_of(arg);
    } else if (arg == "--file") {
      file = r.value_of(arg);
    } else {
      ArgReader::unknown(arg);
    }
  }
  try {
    if (!config_file.empty()) {
      const Config c = load_config(config_file);
      if (c.identity.source == "none") {
        throw ConfigError(config_file + ": identity.source is \"none\": nothing to sync");
      }
      if (c.identity.source == "file") {
        file = c.identity.file.path;
      } else {
        g = c.identity.graph;
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
        if (g.graph_url.empty()) g.graph_url = ep->graph_url;
        if (g.authority_url.empty()) g.authority_url = ep->authority_url;
      }
    }
    if (g.graph_url.empty() || g.authority_url.empty() || g.tenant_id.empty() ||
        g.client_id.empty() || (g.client_secret_file.empty() && g.certificate_file.empty())) {
      throw UsageError(
          "needs --config FILE, --file PATH, or --graph-url, --authority-url (or --cloud), "
          "--tenant, --client-id and --client-secret-file");
    }
    platform::StderrSink sink;
    platform::Logger log(sink, "cloud", platform::LogLevel::warning);
    std::vector<cloud::Identity> identities;
    const auto outcome = sync_once(g, log, identities);
    if (outcome.ec) {
      a.err << "edgeid identities: " << outcome.detail << '\n';
      return 1;
    }
    print(a, identities, json);
    if (outcome.report.intune_incomplete) {
      a.err << "edgeid identities: warning: Graph announced " << *outcome.report.expected_count
            << " Intune devices, " << outcome.report.intune_devices << " arrived\n";
    }
    return 0;
  } catch (const ConfigError& e) {
    a.err << "edgeid identities: " << e.what() << '\n';
    return 2;
  }
}

}  // namespace edgeid::agent
