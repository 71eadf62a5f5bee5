// Offline identity sources: Graph-format JSON exports and the Intune admin center CSV export.

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "cloud/graph_error.h"
#include "cloud/identity_source.h"

namespace edgeid::cloud {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The kind of a page: its @odata.context names the entity set; bare exports are told apart by
// properties only managedDevices have.
PageKind detect_kind(std::string_view page) {
  const auto ctx = page.find("\"@odata.context\"");
  if (ctx != std::string_view::npos) {
    const std::string_view rest = page.substr(ctx, 300);
    if (rest.find("managedDevices") != std::string_view::npos) return PageKind::intune;
    if (rest.find("#devices") != std::string_view::npos) return PageKind::entra;
  }
  if (page.find("\"azureADDeviceId\"") != std::string_view::npos ||
      page.find("\"deviceName\"") != std::string_view::npos ||
      page.find("\"wiFiMacAddress\"") != std::string_view::npos) {
    return PageKind::intune;
  }
  return PageKind::entra;
}

// Splits a top-level JSON array into its element texts without parsing them (strings and
// escapes are tracked so brackets inside strings do not count). False if unbalanced.
bool split_array(std::string_view text, std::vector<std::string_view>& elements) {
  std::size_t i = text.find('[');
  if (i == std::string_view::npos) return false;
  int depth = 0;
  bool in_string = false;
  bool escape = false;
  std::size_t start = std::string_view::npos;
  for (++i; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth == 0) start = i;
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {  // the closing bracket of the outer array
        return c == ']' && trim(text.substr(i + 1)).empty();
      }
      if (--depth == 0) elements.push_back(text.substr(start, i - start + 1));
    } else if (depth == 0 && c != ',' && !std::isspace(static_cast<unsigned char>(c))) {
      return false;  // a scalar element: not a page
    }
  }
  return false;
}

}  // namespace

std::error_code load_identity_file(const std::string& path, SourceResult& out,
                                   std::string& detail) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    detail = path + ": cannot open";
    return graph_errc::unreadable_file;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    detail = path + ": read error";
    return graph_errc::unreadable_file;
  }
  const std::string text = buf.str();
  auto ec = load_identity_text(text, out, detail);
  if (ec) detail = path + ": " + detail;
  return ec;
}

std::error_code load_identity_text(std::string_view text, SourceResult& out, std::string& detail) {
  out = SourceResult{};
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::string_view body = trim(text);
  if (body.empty()) {
    detail = "empty file";
    return graph_errc::bad_source_file;
  }
  if (body.front() != '{' && body.front() != '[') return load_intune_csv(text, out, detail);

  std::vector<std::string_view> pages;
  if (body.front() == '{') {
    pages.push_back(body);
  } else if (!split_array(body, pages)) {
    detail = "not a JSON array of pages";
    return graph_errc::invalid_json;
  }
  std::vector<Identity> intune;
  std::vector<Identity> entra;
  IdentityTextPool pool;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    Page page;
    const PageKind kind = detect_kind(pages[i]);
    if (auto ec = parse_page(pages[i], kind, page, &pool)) {
      detail = "page " + std::to_string(i + 1) + ": " + ec.message();
      return ec;
    }
    ++out.pages;
    out.stats += page.stats;
    auto& dest = kind == PageKind::intune ? intune : entra;
    for (Identity& id : page.items) dest.push_back(std::move(id));
  }
  // The same device twice in an export (pages overlapping): keep the first.
  auto dedup = [](std::vector<Identity>& v, auto key) {
    std::stable_sort(v.begin(), v.end(),
                     [&](const Identity& a, const Identity& b) { return key(a) < key(b); });
    v.erase(std::unique(v.begin(), v.end(),
                        [&](const Identity& a, const Identity& b) { return key(a) == key(b); }),
            v.end());
  };
  dedup(intune, [](const Identity& i) { return i.intune_id; });
  dedup(entra, [](const Identity& i) { return i.entra_object_id; });
  out.identities = join_identities(std::move(intune), entra);
  return {};
}

bool parse_csv(std::string_view text, std::vector<std::vector<std::string>>& rows,
               std::size_t& bad_line) {
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  std::size_t line = 1;
  std::size_t quote_line = 0;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
    } else if (c == '\r') {
      // CRLF: the LF ends the row; a lone CR is dropped.
    } else if (c == '\n') {
      ++line;
      end_row();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    bad_line = quote_line;
    return false;
  }
  if (field_started || !row.empty()) end_row();
  return true;
}

std::error_code load_intune_csv(std::string_view text, SourceResult& out, std::string& detail) {
  out = SourceResult{};
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::vector<std::string>> rows;
  std::size_t bad_line = 0;
  if (!parse_csv(text, rows, bad_line)) {
    detail = "CSV: unterminated quote starting on line " + std::to_string(bad_line);
    return graph_errc::bad_source_file;
  }
  if (rows.empty()) {
    detail = "CSV: no header row";
    return graph_errc::bad_source_file;
  }
  enum Col {
    kId,
    kName,
    kAad,
    kOs,
    kOsVersion,
    kSerial,
    kManufacturer,
    kModel,
    kWifi,
    kEthernet,
    kUpn,
    kEmail,
    kCompliance,
    kOwnership,
    kManagedBy,
    kEnrollment,
    kLastSync,
    kColCount
  };
  static const std::vector<std::vector<std::string_view>> kNames = {
      {"device id"},
      {"device name"},
      {"azure ad device id", "microsoft entra device id", "entra device id"},
      {"os"},
      {"os version"},
      {"serial number"},
      {"manufacturer"},
      {"model"},
      {"wi-fi mac", "wifi mac", "wi-fi mac address"},
      {"ethernet mac", "ethernetmac", "ethernet mac address"},
      {"primary user upn", "user principal name"},
      {"primary user email address", "email"},
      {"compliance"},
      {"ownership"},
      {"managed by"},
      {"enrollment type"},
      {"last check-in"},
  };
  std::array<int, kColCount> col;
  col.fill(-1);
  const auto& header = rows.front();
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string name = lower(trim(header[c]));
    for (std::size_t k = 0; k < kNames.size(); ++k) {
      if (col[k] < 0 && std::find(kNames[k].begin(), kNames[k].end(), name) != kNames[k].end()) {
        col[k] = static_cast<int>(c);
      }
    }
  }
  if (col[kId] < 0) {
    detail = "CSV: no \"Device ID\" column in the header row";
    return graph_errc::bad_source_file;
  }
  std::vector<Identity> intune;
  IdentityTextPool pool;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    auto cell = [&](Col k) -> std::string_view {
      const int c = col[k];
      if (c < 0 || static_cast<std::size_t>(c) >= row.size()) return {};
      return trim(row[static_cast<std::size_t>(c)]);
    };
    ++out.rows;
    ++out.stats.items;
    Identity id;
    auto g = platform::Guid::parse(cell(kId));
    if (!g || g->is_nil()) {
      ++out.stats.bad_ids;
      continue;
    }
    id.intune_id = *g;
    id.sources = kFromIntune;
    id.azure_ad_device_id = parse_guid_or_nil(cell(kAad));
    for (auto [k, mac] : {std::pair{kWifi, &id.wifi_mac}, std::pair{kEthernet, &id.ethernet_mac}}) {
      const std::string_view v = cell(k);
      if (v.empty()) continue;
      *mac = normalize_mac(v);
      if (!*mac) ++out.stats.bad_macs;
    }
    if (const std::string_view t = cell(kLastSync); !t.empty() && !t.starts_with("0001-01-01")) {
      id.last_sync = platform::Timestamp::parse_rfc3339(t);
      if (!id.last_sync) id.last_sync = platform::Timestamp::parse_rfc3339(std::string(t) + "Z");
      if (!id.last_sync) ++out.stats.bad_times;
    }
    // The export shows display text ("Compliant", "Noncompliant"): lower-case the first letter
    // to meet Graph's enum spelling for the common one-word values.
    std::string compliance(cell(kCompliance));
    if (!compliance.empty() && compliance.find(' ') == std::string::npos) {
      compliance = lower(compliance);
    }
    std::array<std::string_view, kIdentityTextCount> views{};
    views[static_cast<std::size_t>(IdentityText::device_name)] = cell(kName);
    views[static_cast<std::size_t>(IdentityText::os)] = cell(kOs);
    views[static_cast<std::size_t>(IdentityText::os_version)] = cell(kOsVersion);
    views[static_cast<std::size_t>(IdentityText::enrollment_type)] = cell(kEnrollment);
    views[static_cast<std::size_t>(IdentityText::user_principal_name)] = cell(kUpn);
    views[static_cast<std::size_t>(IdentityText::email)] = cell(kEmail);
    views[static_cast<std::size_t>(IdentityText::model)] = cell(kModel);
    views[static_cast<std::size_t>(IdentityText::manufacturer)] = cell(kManufacturer);
    views[static_cast<std::size_t>(IdentityText::serial_number)] = cell(kSerial);
    views[static_cast<std::size_t>(IdentityText::compliance_state)] = compliance;
    views[static_cast<std::size_t>(IdentityText::management_agent)] = cell(kManagedBy);
    views[static_cast<std::size_t>(IdentityText::ownership)] =
        lower(cell(kOwnership)) == "corporate" ? std::string_view("company") : cell(kOwnership);
    id.assign_texts(views, &pool);
    intune.push_back(std::move(id));
  }
  out.identities = join_identities(std::move(intune), {});
  return {};
}

}  // namespace edgeid::cloud
