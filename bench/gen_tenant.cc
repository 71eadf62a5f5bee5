// edgeid-gen-tenant: a deterministic Microsoft Graph tenant snapshot (Intune managedDevices and
// Entra devices, a JSON array of list pages as `identity.file` reads it) for the devices of a
// edgeid-gen-capture truth file, built so that every correlation rule of DESIGN.md §3 shows:
//
//   - Wi-Fi MAC matches: iOS, Android and macOS hosts (non-randomized);
//     the second iOS host is an iPad (os iPadOS); the Android host is noncompliant;
//   - the first Windows host with a DHCP name has TWO Intune records with its Wi-Fi MAC (a
//     re-enrolment): the newer one must win, the older one is a conflict;
//   - the second Windows host with a DHCP name is matched by its Ethernet MAC (its Wi-Fi MAC is
//     another, never seen);
//   - a randomized MAC with a DHCP name: its Intune record has the hardware Wi-Fi MAC and the
//     same deviceName, so only the host name can match it;
//   - a Linux host with a DHCP name is an Entra-only registered device (displayName = the name);
//   - three Intune devices never on the wire (identity_only), one without any MAC;
//   - everything else (Windows hosts without a name, printers, IoT, servers, infrastructure)
//     stays unmanaged.
//
// No clock, no randomness beyond a fixed seed, no host byte order: the same truth file gives the
// same bytes. Usage: edgeid-gen-tenant --truth FILE --out FILE
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr std::int64_t kDaySeconds = 86400;

struct Host {
  std::string mac, randomized, role, profile, hostname, hostname_source;
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// A version-4 style GUID derived from a tag.
std::string guid(const std::string& tag) {
  const std::uint64_t a = splitmix(fnv(tag));
  const std::uint64_t b = splitmix(a ^ 0x5eedULL);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string rfc3339(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Graph writes MACs as 12 hex digits without separators.
std::string graph_mac(const std::string& mac) {
  std::string out;
  for (char c : mac) {
    if (c != ':') out += c;
  }
  return out;
}

// "aa:bb:cc:dd:ee:ff" with the first three octets replaced by @p oui.
std::string with_oui(const std::string& mac, const std::string& oui) {
  return oui + mac.substr(8);
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct Object {
  std::vector<std::pair<std::string, std::string>> fields;  // key, JSON value
  Object& s(const std::string& k, const std::string& v) {
    fields.emplace_back(k, quote(v));
    return *this;
  }
  Object& raw(const std::string& k, const std::string& v) {
    fields.emplace_back(k, v);
    return *this;
  }
  std::string json(const std::string& indent) const {
    std::string out = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      out += (i ? ",\n" : "\n") + indent + "  " + quote(fields[i].first) + ": " + fields[i].second;
    }
    return out + "\n" + indent + "}";
  }
};

struct Tenant {
  std::int64_t start = 0;
  int users = 0;
  std::vector<Object> intune, entra;

  std::string upn() {
    char buf[48];
    std::snprintf(buf, sizeof buf, "user%02d@contoso.example", ++users);
    return buf;
  }

  // One Intune managed device (and, when @p entra_trust is set, its Entra device).
  void managed(const std::string& tag, const std::string& name, const std::string& os,
               const std::string& os_version, const std::string& wifi, const std::string& ethernet,
               const std::string& compliance, std::int64_t age_s, const std::string& entra_trust,
               const std::string& model, const std::string& manufacturer) {
    const std::string id = guid("intune/" + tag);
    const std::string device_id =
        entra_trust.empty() ? "00000000-0000-0000-0000-000000000000" : guid("entra-device/" + tag);
    const std::string user = upn();
    const std::string enrollment = os == "Windows"   ? "windowsAzureADJoin"
                                   : os == "Android" ? "androidEnterpriseWorkProfile"
                                                     : "appleUserEnrollment";
    Object o;
    o.s("id", id).s("deviceName", name).s("operatingSystem", os).s("osVersion", os_version);
    o.s("deviceEnrollmentType", enrollment).s("userPrincipalName", user).s("emailAddress", user);
    o.s("model", model).s("manufacturer", manufacturer);
    o.s("serialNumber", "SN" + guid("serial/" + tag).substr(0, 8));
    o.s("complianceState", compliance).s("managementAgent", "mdm");
    o.s("managedDeviceOwnerType", "company");
    o.raw("wiFiMacAddress", wifi.empty() ? "null" : quote(graph_mac(wifi)));
    o.raw("ethernetMacAddress", ethernet.empty() ? "null" : quote(graph_mac(ethernet)));
    o.s("azureADDeviceId", device_id).s("lastSyncDateTime", rfc3339(start - age_s));
    intune.push_back(o);
    if (!entra_trust.empty()) {
      Object e;
      e.s("id", guid("entra-object/" + tag)).s("deviceId", device_id).s("displayName", name);
      e.s("operatingSystem", os).s("operatingSystemVersion", os_version);
      e.s("trustType", entra_trust).raw("accountEnabled", "true");
      e.raw("isCompliant", compliance == "compliant" ? "true" : "false").raw("isManaged", "true");
      e.s("approximateLastSignInDateTime", rfc3339(start - age_s - 600));
      entra.push_back(e);
    }
  }
};

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, sep)) out.push_back(cell);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string truth_path, out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--truth" || a == "--out") && i + 1 < argc) {
      (a == "--truth" ? truth_path : out_path) = argv[++i];
    } else {
      std::cerr << "usage: edgeid-gen-tenant --truth FILE --out FILE\n";
      return 2;
    }
  }
  if (truth_path.empty() || out_path.empty()) {
    std::cerr << "usage: edgeid-gen-tenant --truth FILE --out FILE\n";
    return 2;
  }
  std::ifstream in(truth_path);
  if (!in) {
    std::cerr << "edgeid-gen-tenant: cannot read " << truth_path << '\n';
    return 1;
  }
  Tenant t;
  t.start = 1795460400;  // the generator's default capture start, unless the header says
  std::vector<std::string> columns;
  std::vector<Host> hosts;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('#', 0) == 0) {
      const auto p = line.find(" start=");
      if (p != std::string::npos) t.start = std::stoll(line.substr(p + 7));
      continue;
    }
    auto cells = split(line, '\t');
    if (columns.empty()) {
      columns = cells;
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < columns.size() && i < cells.size(); ++i) row[columns[i]] = cells[i];
    hosts.push_back({row["mac"], row["randomized"], row["role"], row["profile"], row["hostname"],
                     row["hostname_source"]});
  }
  if (hosts.empty()) {
    std::cerr << "edgeid-gen-tenant: no devices in " << truth_path << '\n';
    return 1;
  }

  int windows_named = 0, ios = 0;
  for (const auto& h : hosts) {
    if (h.role != "host") continue;
    const bool dhcp_named = h.hostname != "-" && h.hostname_source == "dhcp";
    const bool randomized = h.randomized == "1";
    if (h.profile == "windows" && dhcp_named) {
      ++windows_named;
      if (windows_named == 1) {
        // Re-enrolment: the same laptop twice, the newer record must win.
        t.managed(h.mac + "/old", h.hostname, "Windows", "10.0.19045.3570", h.mac, "", "compliant",
                  45 * kDaySeconds, "AzureAd", "ZenBook 14", "ASUSTeK COMPUTER INC.");
        t.managed(h.mac, h.hostname, "Windows", "10.0.22631.4317", h.mac, "", "compliant", 3600,
                  "AzureAd", "ZenBook 14", "ASUSTeK COMPUTER INC.");
      } else if (windows_named == 2) {
        t.managed(h.mac, h.hostname, "Windows", "10.0.22631.4317", with_oui(h.mac, "a4:b1:c1"),
                  h.mac, "compliant", 7200, "AzureAd", "Latitude 7440", "Dell Inc.");
      }
    } else if (h.profile == "ios" && !randomized) {
      ++ios;
      if (ios == 2) {
        t.managed(h.mac, "iPad-" + h.mac.substr(12, 2) + h.mac.substr(15, 2), "iPadOS", "17.6.1",
                  h.mac, "", "compliant", 5400, "Workplace", "iPad Air", "Apple Inc.");
      } else {
        t.managed(h.mac, h.hostname != "-" ? h.hostname : "iPhone-" + h.mac.substr(15, 2), "iOS",
                  "17.6.1", h.mac, "", "compliant", 1800, "Workplace", "iPhone 15", "Apple Inc.");
      }
    } else if (h.profile == "android" && !randomized) {
      t.managed(h.mac, "Android-" + h.mac.substr(15, 2), "Android", "14", h.mac, "", "noncompliant",
                9000, "Workplace", "CPH2581", "OnePlus");
    } else if (h.profile == "macos" && randomized && dhcp_named) {
      // Private Wi-Fi address on the wire; Intune knows the hardware one.
      t.managed(h.mac, h.hostname, "macOS", "14.6.1", with_oui(h.mac, "f0:18:98"), "", "compliant",
                2400, "AzureAd", "MacBook Air", "Apple Inc.");
    } else if (h.profile == "macos") {
      t.managed(h.mac, h.hostname != "-" ? h.hostname : "Mac-" + h.mac.substr(15, 2), "macOS",
                "14.6.1", h.mac, "", "compliant", 2400, "AzureAd", "MacBook Pro", "Apple Inc.");
    } else if (h.profile == "linux" && dhcp_named) {
      Object e;
      const std::string tag = h.mac + "/entra-only";
      e.s("id", guid("entra-object/" + tag)).s("deviceId", guid("entra-device/" + tag));
      e.s("displayName", h.hostname).s("operatingSystem", "Linux");
      e.s("operatingSystemVersion", "Ubuntu 24.04").s("trustType", "Workplace");
      e.raw("accountEnabled", "true").raw("isCompliant", "false").raw("isManaged", "false");
      e.s("approximateLastSignInDateTime", rfc3339(t.start - kDaySeconds));
      t.entra.push_back(e);
    }
  }
  // Never on the wire: identity_only records.
  t.managed("away/laptop", "LAPTOP-HOME7Q2", "Windows", "10.0.22631.4317", "a4:b1:c1:00:00:07", "",
            "compliant", 3 * kDaySeconds, "AzureAd", "Latitude 5450", "Dell Inc.");
  t.managed("away/ipad", "Kims-iPad", "iPadOS", "17.5", "", "", "compliant", 6 * kDaySeconds,
            "Workplace", "iPad mini", "Apple Inc.");
  t.managed("away/pixel", "Android-Pixel8", "Android", "15", "f4:f5:e8:00:00:08", "",
            "inGracePeriod", kDaySeconds, "", "Pixel 8", "Google");

  std::ostringstream out;
  out << "[\n  {\n    \"@odata.context\": "
         "\"https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices\",\n"
      << "    \"@odata.count\": " << t.intune.size() << ",\n    \"value\": [";
  for (std::size_t i = 0; i < t.intune.size(); ++i) {
    out << (i ? ",\n      " : "\n      ") << t.intune[i].json("      ");
  }
  out << "\n    ]\n  },\n  {\n    \"@odata.context\": "
         "\"https://graph.microsoft.com/v1.0/$metadata#devices\",\n    \"value\": [";
  for (std::size_t i = 0; i < t.entra.size(); ++i) {
    out << (i ? ",\n      " : "\n      ") << t.entra[i].json("      ");
  }
  out << "\n    ]\n  }\n]\n";
  std::ofstream file(out_path, std::ios::binary);
  file << out.str();
  if (!file.flush()) {
    std::cerr << "edgeid-gen-tenant: cannot write " << out_path << '\n';
    return 1;
  }
  std::cerr << "edgeid-gen-tenant: " << t.intune.size() << " Intune and " << t.entra.size()
            << " Entra devices\n";
  return 0;
}
