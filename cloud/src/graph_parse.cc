// Graph response bodies → Identity values, error bodies, token responses.
//
// Pages go through a SAX handler (boost::json::basic_parser): the handler keeps only the
// current element's scalar fields (in reused scratch strings) and appends one compact Identity
// per element, so parsing a 1000-device page allocates about one buffer per device and never
// builds a DOM. Error and token bodies are a few hundred bytes: a DOM parse is simpler there.

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "cloud/graph_error.h"
#include "cloud/identity.h"
#include "identity_order.h"
#include "platform/error.h"

namespace edgeid::cloud {

namespace json = boost::json;
using platform::Guid;
using platform::MacAddress;
using platform::Timestamp;

// ---------------------------------------------------------------------------------------------
// Errors

namespace {

constexpr const char* kGraphMessages[] = {
    "success",
    "response body is not valid JSON",
    "response body does not have the documented shape",
    "response body is a Graph error",
    "Graph returned an error status",
    "retries exhausted (throttling, server or transport errors)",
    "token endpoint refused the request",
    "Graph refused the access token",
    "refused to follow a link to another origin",
    "delta token no longer valid: full resync required",
    "nextLink repeats the current URL",
    "credential file is readable by group/others or not owned by this user or root",
    "file cannot be read",
    "certificate or private key unusable",
    "identity source file is malformed",
    "cancelled",
    "token endpoint temporarily unavailable",
};

}  // namespace

const std::error_category& graph_category() noexcept {
  static const platform::TableCategory category("edgeid.graph", kGraphMessages,
                                                static_cast<int>(std::size(kGraphMessages)));
  return category;
}

// ---------------------------------------------------------------------------------------------
// Identity

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

}  // namespace

std::string_view Identity::os_group() const noexcept {
  const std::string_view os = text(IdentityText::os);
  if (istarts_with(os, "windows")) return "Windows";
  if (istarts_with(os, "macos") || istarts_with(os, "mac os") || iequals(os, "macmdm")) {
    return "macOS";
  }
  if (iequals(os, "ios") || iequals(os, "ipados")) return "iOS";
  if (istarts_with(os, "android")) return "Android";
  if (istarts_with(os, "linux")) return "Linux";
  if (istarts_with(os, "chrome")) return "ChromeOS";
  return "";
}

std::optional<MacAddress> normalize_mac(std::string_view text) noexcept {
  std::uint64_t value = 0;
  int digits = 0;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (++digits > 12) return std::nullopt;
    value = (value << 4) | static_cast<std::uint64_t>(v);
  }
  if (digits != 12) return std::nullopt;
  const MacAddress mac = MacAddress::from_u64(value);
  if (!mac.is_unicast_station()) return std::nullopt;
  return mac;
}

Guid parse_guid_or_nil(std::string_view text) noexcept {
  return Guid::parse(text).value_or(Guid{});
}

// ---------------------------------------------------------------------------------------------
// Page parser

namespace {

// Which element property feeds which Identity member.
enum class Slot : std::uint8_t {
  none,
  text,  // + IdentityText
  intune_id,
  entra_object_id,
  azure_ad_device_id,
  wifi_mac,
  ethernet_mac,
  last_sync,
  account_enabled,
  is_compliant,
  is_managed,
};

struct Target {
  Slot slot = Slot::none;
  IdentityText text = IdentityText::device_name;
};

// $select'ed properties (and a few the doc examples spell differently) per page kind.
Target lookup(PageKind kind, std::string_view key) noexcept {
  using T = IdentityText;
  struct Row {
    std::string_view key;
    Target target;
  };
  static constexpr Row kIntune[] = {
      {"id", {Slot::intune_id}},
      {"deviceName", {Slot::text, T::device_name}},
      {"operatingSystem", {Slot::text, T::os}},
      {"osVersion", {Slot::text, T::os_version}},
      {"deviceEnrollmentType", {Slot::text, T::enrollment_type}},
      {"userPrincipalName", {Slot::text, T::user_principal_name}},
      {"emailAddress", {Slot::text, T::email}},
      {"model", {Slot::text, T::model}},
      {"manufacturer", {Slot::text, T::manufacturer}},
      {"serialNumber", {Slot::text, T::serial_number}},
      {"complianceState", {Slot::text, T::compliance_state}},
      {"managementAgent", {Slot::text, T::management_agent}},
      {"managedDeviceOwnerType", {Slot::text, T::ownership}},
      {"wiFiMacAddress", {Slot::wifi_mac}},
      {"ethernetMacAddress", {Slot::ethernet_mac}},
      {"azureADDeviceId", {Slot::azure_ad_device_id}},
      {"lastSyncDateTime", {Slot::last_sync}},
  };
  static constexpr Row kEntra[] = {
      {"id", {Slot::entra_object_id}},
      {"deviceId", {Slot::azure_ad_device_id}},
      {"displayName", {Slot::text, T::device_name}},
      {"operatingSystem", {Slot::text, T::os}},
      {"operatingSystemVersion", {Slot::text, T::os_version}},
      {"model", {Slot::text, T::model}},
      {"Model", {Slot::text, T::model}},  // the device-list doc example capitalises these
      {"manufacturer", {Slot::text, T::manufacturer}},
      {"Manufacturer", {Slot::text, T::manufacturer}},
      {"trustType", {Slot::text, T::trust_type}},
      {"deviceOwnership", {Slot::text, T::ownership}},
      {"enrollmentType", {Slot::text, T::enrollment_type}},
      {"accountEnabled", {Slot::account_enabled}},
      {"isCompliant", {Slot::is_compliant}},
      {"isManaged", {Slot::is_managed}},
      {"approximateLastSignInDateTime", {Slot::last_sync}},
  };
  if (kind == PageKind::intune) {
    for (const Row& r : kIntune) {
      if (r.key == key) return r.target;
    }
  } else {
    for (const Row& r : kEntra) {
      if (r.key == key) return r.target;
    }
  }
  return {};
}

// The SAX handler. Depth 1 is the top-level object; elements of "value" live at depth 3
// (object → array → object), the doc GET quirk {"value":{…}} at depth 2, and a real GET's
// entity at depth 1.
class PageHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  PageHandler(PageKind kind, Page& out, IdentityTextPool& pool)
      : kind_(kind), out_(out), pool_(pool) {}

  bool error_body() const noexcept { return error_body_ && !saw_value_; }
  bool top_is_object() const noexcept { return top_is_object_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_object_begin(json::error_code&) {
    ++depth_;
    if (depth_ == 1) {
      top_is_object_ = true;
      begin_item(1);  // a real single-entity GET: the entity is the top-level object
    } else if (depth_ == 2 && top_key_ == "value") {
      saw_value_ = true;
      begin_item(2);
    } else if (depth_ == 3 && value_array_ && array_depth_ == 2) {
      begin_item(3);
    } else if (depth_ == 2 && top_key_ == "error") {
      error_body_ = true;
    } else if (depth_ == item_depth_ + 1 && item_key_ == "@removed") {
      removed_ = true;
    }
    return true;
  }

  bool on_object_end(std::size_t, json::error_code&) {
    if (depth_ == item_depth_) {
      end_item();
      item_depth_ = 0;
    }
    --depth_;
    return true;
  }

  bool on_array_begin(json::error_code&) {
    ++depth_;
    if (depth_ == 2 && top_key_ == "value") {
      value_array_ = true;
      saw_value_ = true;
      array_depth_ = 2;
    }
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    if (depth_ == 2) value_array_ = false;
    --depth_;
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    if (depth_ == 1) top_key_ = key_;
    if (depth_ == item_depth_) item_key_ = key_;
    key_.clear();
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    string_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    string_.append(s.data(), s.size());
    if (depth_ == 1) {
      if (top_key_ == "@odata.nextLink") out_.next_link = string_;
      if (top_key_ == "@odata.deltaLink") out_.delta_link = string_;
      if (top_key_ == "error") error_body_ = true;
    }
    if (depth_ == item_depth_) item_string(string_);
    string_.clear();
    return true;
  }

  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t v, json::string_view, json::error_code&) {
    if (depth_ == 1 && top_key_ == "@odata.count" && v >= 0) {
      out_.count = static_cast<std::uint64_t>(v);
    }
    return true;
  }
  bool on_uint64(std::uint64_t v, json::string_view, json::error_code&) {
    if (depth_ == 1 && top_key_ == "@odata.count") out_.count = v;
    return true;
  }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool b, json::error_code&) {
    if (depth_ == item_depth_) {
      const Target t = lookup(kind_, item_key_);
      if (t.slot == Slot::account_enabled) item_.account_enabled = b;
      if (t.slot == Slot::is_compliant) item_.is_compliant = b;
      if (t.slot == Slot::is_managed) item_.is_managed = b;
    }
    return true;
  }
  bool on_null(json::error_code&) { return true; }  // null == absent, the default
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  void begin_item(int depth) {
    item_depth_ = depth;
    item_key_.clear();
    item_ = Identity{};
    for (auto& s : texts_) s.clear();
    has_id_ = false;
    bad_id_ = false;
    removed_ = false;
  }

  void item_string(const std::string& value) {
    const Target t = lookup(kind_, item_key_);
    switch (t.slot) {
      case Slot::none: break;
      case Slot::text: texts_[static_cast<std::size_t>(t.text)] = value; break;
      case Slot::intune_id:
      case Slot::entra_object_id: {
        auto g = Guid::parse(value);
        if (g && !g->is_nil()) {
          (t.slot == Slot::intune_id ? item_.intune_id : item_.entra_object_id) = *g;
          has_id_ = true;
        } else {
          bad_id_ = true;
        }
        break;
      }
      case Slot::azure_ad_device_id: item_.azure_ad_device_id = parse_guid_or_nil(value); break;
      case Slot::wifi_mac:
      case Slot::ethernet_mac: {
        if (value.empty()) break;
        auto mac = normalize_mac(value);
        if (!mac) {
          ++stats_.bad_macs;
          break;
        }
        (t.slot == Slot::wifi_mac ? item_.wifi_mac : item_.ethernet_mac) = mac;
        break;
      }
      case Slot::last_sync: {
        if (value.empty() || value.starts_with("0001-01-01")) break;  // Graph's "never"
        if (auto ts = Timestamp::parse_rfc3339(value)) {
          item_.last_sync = ts;
        } else {
          ++stats_.bad_times;
        }
        break;
      }
      case Slot::account_enabled:
      case Slot::is_compliant:
      case Slot::is_managed: break;
    }
  }

  void end_item() {
    if (item_depth_ == 1) {
      // The top-level object is an entity only for a real single GET (no "value", an id).
      if (saw_value_ || error_body_ || (!has_id_ && !bad_id_)) return;
    }
    ++stats_.items;
    if (!has_id_) {
      ++stats_.bad_ids;
      return;
    }
    if (removed_) {
      out_.removed.push_back(kind_ == PageKind::intune ? item_.intune_id : item_.entra_object_id);
      return;
    }
    std::array<std::string_view, kIdentityTextCount> views;
    for (std::size_t i = 0; i < kIdentityTextCount; ++i) views[i] = texts_[i];
    item_.assign_texts(views, &pool_);
    item_.sources = kind_ == PageKind::intune ? kFromIntune : kFromEntra;
    out_.items.push_back(std::move(item_));
    item_ = Identity{};
  }

 public:
  PageStats stats_;

 private:
  PageKind kind_;
  Page& out_;
  IdentityTextPool& pool_;
  int depth_ = 0;
  int item_depth_ = 0;
  int array_depth_ = 0;
  bool value_array_ = false;
  bool saw_value_ = false;
  bool error_body_ = false;
  bool top_is_object_ = false;
  std::string key_;
  std::string string_;
  std::string top_key_;
  std::string item_key_;
  Identity item_;
  std::array<std::string, kIdentityTextCount> texts_;
  bool has_id_ = false;
  bool bad_id_ = false;
  bool removed_ = false;
};

}  // namespace

std::error_code parse_page(std::string_view body, PageKind kind, Page& out,
                           IdentityTextPool* pool) {
  out = Page{};
  IdentityTextPool local;
  json::basic_parser<PageHandler> parser(json::parse_options{}, kind, out,
                                         pool != nullptr ? *pool : local);
  json::error_code ec;
  const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
  if (ec || used != body.size()) return graph_errc::invalid_json;
  if (!parser.handler().top_is_object()) return graph_errc::unexpected_shape;
  out.stats = parser.handler().stats_;
  if (parser.handler().error_body()) return graph_errc::error_body;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Join

std::vector<Identity> join_identities(std::vector<Identity> intune,
                                      const std::vector<Identity>& entra) {
  // Entra positions sorted by deviceId (24 B per device, one allocation) rather than a hash
  // map of them (a node each); among equal deviceIds the first Entra device joins.
  std::vector<SortKey> by_device_id;
  by_device_id.reserve(entra.size());
  for (std::size_t i = 0; i < entra.size(); ++i) {
    if (!entra[i].azure_ad_device_id.is_nil()) {
      by_device_id.push_back(sort_key(entra[i].azure_ad_device_id, i));
    }
  }
  std::sort(by_device_id.begin(), by_device_id.end());
  std::vector<bool> used(entra.size(), false);
  IdentityTextPool pool;
  std::string scratch;  // the joined texts; views into `id` would change under assign_texts
  std::array<std::size_t, kIdentityTextCount> ends{};
  for (Identity& id : intune) {
    if (id.azure_ad_device_id.is_nil()) continue;
    const SortKey key = sort_key(id.azure_ad_device_id, 0);
    const auto it =
        std::lower_bound(by_device_id.begin(), by_device_id.end(), key,
                         [](const SortKey& k, const SortKey& want) { return k.guid_less(want); });
    if (it == by_device_id.end() || !it->same_guid(key)) continue;
    const Identity& e = entra[it->index];
    used[it->index] = true;
    id.entra_object_id = e.entra_object_id;
    id.account_enabled = e.account_enabled;
    id.is_compliant = e.is_compliant;
    id.is_managed = e.is_managed;
    id.sources |= kFromEntra;
    // Intune's values win; Entra fills what Intune left empty (trust type always).
    scratch.clear();
    for (std::size_t i = 0; i < kIdentityTextCount; ++i) {
      const auto f = static_cast<IdentityText>(i);
      scratch.append(id.text(f).empty() ? e.text(f) : id.text(f));
      ends[i] = scratch.size();
    }
    std::array<std::string_view, kIdentityTextCount> views;
    for (std::size_t i = 0; i < kIdentityTextCount; ++i) {
      const std::size_t begin = i == 0 ? 0 : ends[i - 1];
      views[i] = std::string_view(scratch).substr(begin, ends[i] - begin);
    }
    id.assign_texts(views, &pool);
  }
  const auto by_intune_id = [](const Identity& a, const Identity& b) {
    return a.intune_id < b.intune_id;
  };
  // GraphClient keeps its list in intune_id order: then this is one pass, not a sort of
  // 152-byte devices.
  if (!std::is_sorted(intune.begin(), intune.end(), by_intune_id)) {
    std::sort(intune.begin(), intune.end(), by_intune_id);
  }
  const std::size_t first_entra_only = intune.size();
  // Room for the Entra-only devices first: growing by doubling would copy the whole list.
  intune.reserve(intune.size() +
                 static_cast<std::size_t>(std::count(used.begin(), used.end(), false)));
  for (std::size_t i = 0; i < entra.size(); ++i) {
    if (!used[i]) intune.push_back(entra[i]);
  }
  std::sort(
      intune.begin() + static_cast<std::ptrdiff_t>(first_entra_only), intune.end(),
      [](const Identity& a, const Identity& b) { return a.entra_object_id < b.entra_object_id; });
  return intune;
}

// ---------------------------------------------------------------------------------------------
// Error and token bodies

namespace {

const json::value* find_ci(const json::object& o, std::string_view key) {
  for (const auto& kv : o) {
    if (iequals(std::string_view(kv.key().data(), kv.key().size()), key)) return &kv.value();
  }
  return nullptr;
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = find_ci(o, key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string().data(), v->as_string().size());
}

std::string first_line(std::string_view text) {
  const auto cut = text.find_first_of("\r\n");
  return std::string(text.substr(0, cut));
}

}  // namespace

std::string GraphErrorBody::summary() const {
  std::string s = code.empty() ? "(no code)" : code;
  if (!inner_code.empty() && inner_code != code) s += "/" + inner_code;
  if (!message.empty()) s += ": " + message;
  if (!request_id.empty()) s += " (request-id " + request_id + ")";
  return s;
}

std::optional<GraphErrorBody> parse_graph_error(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* err = find_ci(v.as_object(), "error");
  if (err == nullptr || !err->is_object()) return std::nullopt;
  const json::object& e = err->as_object();
  GraphErrorBody out;
  out.code = string_at(e, "code");
  out.message = string_at(e, "message");
  // Intune's backend sometimes puts a JSON document in "message"; its "Message" is the text.
  if (!out.message.empty() && out.message.front() == '{') {
    json::error_code inner_ec;
    json::value inner = json::parse(out.message, inner_ec);
    if (!inner_ec && inner.is_object()) {
      std::string m = string_at(inner.as_object(), "Message");
      if (!m.empty()) out.message = std::move(m);
    }
  }
  // innerError (real responses) or innererror (errors.md); request-id or requestId.
  if (const json::value* inner = find_ci(e, "innererror"); inner && inner->is_object()) {
    const json::object& i = inner->as_object();
    out.inner_code = string_at(i, "code");
    out.request_id = string_at(i, "request-id");
    if (out.request_id.empty()) out.request_id = string_at(i, "requestId");
    out.date = string_at(i, "date");
  }
  if (out.code.empty() && out.message.empty()) return std::nullopt;
  return out;
}

std::string TokenErrorBody::summary() const {
  std::string s = error.empty() ? "(no error code)" : error;
  if (!description.empty()) s += ": " + description;
  return s;
}

std::optional<TokenErrorBody> parse_token_error(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  const json::value* err = o.if_contains("error");
  if (err == nullptr || !err->is_string()) return std::nullopt;
  TokenErrorBody out;
  out.error = std::string(err->as_string().data(), err->as_string().size());
  out.description = first_line(string_at(o, "error_description"));
  if (const json::value* codes = o.if_contains("error_codes"); codes && codes->is_array()) {
    for (const json::value& c : codes->as_array()) {
      if (c.is_int64()) out.codes.push_back(c.as_int64());
      if (c.is_uint64()) out.codes.push_back(static_cast<long long>(c.as_uint64()));
    }
  }
  return out;
}

std::optional<TokenResponseBody> parse_token_response(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  TokenResponseBody out;
  out.token_type = string_at(o, "token_type");
  out.access_token = string_at(o, "access_token");
  if (out.access_token.empty()) return std::nullopt;
  if (const json::value* e = o.if_contains("expires_in")) {
    long long seconds = 0;
    if (e->is_int64()) {
      seconds = e->as_int64();
    } else if (e->is_uint64()) {
      seconds = static_cast<long long>(e->as_uint64());
    } else if (e->is_string()) {  // the v1 endpoint sends a string
      const auto& s = e->as_string();
      std::from_chars(s.data(), s.data() + s.size(), seconds);
    }
    out.expires_in = std::chrono::seconds(std::max<long long>(seconds, 0));
  }
  return out;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           double now_unix_seconds) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
    seconds = std::min(seconds, 1e7);
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const double at = static_cast<double>(timegm(&tm));
  const double delta = std::max(0.0, at - now_unix_seconds);
  return std::chrono::milliseconds(static_cast<long long>(delta * 1000.0));
}

}  // namespace edgeid::cloud
