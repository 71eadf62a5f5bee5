// Microsoft's published example responses and recorded real ones, parsed in place from the
// shared folder (skipped with a message when it is absent).

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "capture/shared_dir.h"
#include "cloud/graph_error.h"
#include "cloud/identity.h"

namespace fs = std::filesystem;
using namespace edgeid::cloud;
using edgeid::platform::Guid;
using edgeid::platform::MacAddress;

namespace {

fs::path examples() {
  return edgeid::test::shared_dir() / "graph-examples";
}

bool have_examples() {
  if (fs::is_directory(examples())) return true;
  MESSAGE("skipped: " << examples().string() << " is absent (set EDGEID_SHARED_DIR)");
  return false;
}

std::string read(const std::string& name) {
  std::ifstream in(examples() / name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("MAC normalisation: case, separators, null-ish and garbage") {
  CHECK(normalize_mac("84ad8db5b351") == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(normalize_mac("84AD8DB5B351") == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(normalize_mac("84:ad:8d:B5:b3:51") == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(normalize_mac("84-AD-8D-B5-B3-51") == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(normalize_mac("84ad.8db5.b351") == MacAddress::from_u64(0x84ad8db5b351));
  CHECK_FALSE(normalize_mac(""));
  CHECK_FALSE(normalize_mac("Wi Fi Mac Address value"));
  CHECK_FALSE(normalize_mac("84ad8db5b35"));
  CHECK_FALSE(normalize_mac("84ad8db5b3512"));
  CHECK_FALSE(normalize_mac("000000000000"));
  CHECK_FALSE(normalize_mac("ffffffffffff"));
}

TEST_CASE("Identity packs its text fields and replaces one at a time") {
  Identity id;
  id.set_text(IdentityText::device_name, "laptop-1");
  id.set_text(IdentityText::trust_type, "AzureAd");
  id.set_text(IdentityText::os, "Windows");
  CHECK(id.text(IdentityText::device_name) == "laptop-1");
  CHECK(id.text(IdentityText::os) == "Windows");
  CHECK(id.text(IdentityText::trust_type) == "AzureAd");
  CHECK(id.text(IdentityText::email).empty());
  id.set_text(IdentityText::device_name, "a-much-longer-device-name");
  CHECK(id.text(IdentityText::device_name) == "a-much-longer-device-name");
  CHECK(id.text(IdentityText::os) == "Windows");
  CHECK(id.os_group() == "Windows");
}

TEST_CASE("example: list-managedDevices.v1.0 (doc placeholders)") {
  if (!have_examples()) return;
  Page page;
  REQUIRE_FALSE(parse_page(read("list-managedDevices.v1.0.json"), PageKind::intune, page));
  REQUIRE(page.items.size() == 1);
  const Identity& d = page.items[0];
  CHECK(d.intune_id == Guid::from_string("705c034c-034c-705c-4c03-5c704c035c70"));
  CHECK(d.text(IdentityText::device_name) == "Device Name value");
  CHECK(d.text(IdentityText::compliance_state) == "compliant");
  CHECK(d.text(IdentityText::management_agent) == "mdm");
  CHECK(d.text(IdentityText::ownership) == "company");
  CHECK(d.text(IdentityText::enrollment_type) == "userEnrollment");
  CHECK(d.azure_ad_device_id.is_nil());  // "Azure ADDevice Id value" is no GUID
  CHECK_FALSE(d.wifi_mac);               // placeholder text: dropped and counted
  CHECK_FALSE(d.ethernet_mac);
  CHECK(page.stats.bad_macs == 2);
  REQUIRE(d.last_sync);
  CHECK(d.last_sync->to_rfc3339() == "2017-01-01T08:02:49Z");  // -08:00 offset applied
  CHECK(page.next_link.empty());
  CHECK(d.sources == kFromIntune);
}

TEST_CASE("example: get-managedDevice v1.0 and beta ({\"value\":{…}} doc quirk)") {
  if (!have_examples()) return;
  for (const char* name : {"get-managedDevice.v1.0.json", "get-managedDevice.beta.json"}) {
    CAPTURE(name);
    Page page;
    REQUIRE_FALSE(parse_page(read(name), PageKind::intune, page));
    REQUIRE(page.items.size() == 1);
    CHECK(page.items[0].intune_id == Guid::from_string("705c034c-034c-705c-4c03-5c704c035c70"));
    CHECK(page.items[0].text(IdentityText::serial_number) == "Serial Number value");
  }
}

TEST_CASE("example: recorded beta list (real values, sentinels, all-zero azureADDeviceId)") {
  if (!have_examples()) return;
  Page page;
  REQUIRE_FALSE(parse_page(read("recorded-jupiterone-beta-managedDevices-list.json"),
                           PageKind::intune, page));
  REQUIRE(page.items.size() == 2);
  CHECK(page.count == 2u);
  const Identity& iphone = page.items[0];
  CHECK(iphone.text(IdentityText::os) == "iOS");
  CHECK(iphone.os_group() == "iOS");
  CHECK(iphone.text(IdentityText::model) == "iPhone 11 Pro");
  CHECK(iphone.text(IdentityText::compliance_state) == "noncompliant");
  CHECK(iphone.azure_ad_device_id == Guid::from_string("683dbff1-c8ff-4996-91ae-85484de46cfc"));
  CHECK(iphone.last_sync->to_rfc3339() == "2021-03-03T12:57:54Z");
  CHECK_FALSE(iphone.ethernet_mac);  // null in LIST
  const Identity& mac = page.items[1];
  CHECK(mac.os_group() == "macOS");
  CHECK(mac.azure_ad_device_id.is_nil());  // all-zero GUID = no Entra registration
  CHECK(mac.text(IdentityText::email).empty());
  CHECK(page.stats.bad_macs == 2);  // "[REDACTED]" Wi-Fi MACs
  CHECK(page.stats.bad_times == 0);
}

TEST_CASE("example: Entra devices (get, list, count, delta first page)") {
  if (!have_examples()) return;
  Page page;
  REQUIRE_FALSE(parse_page(read("get-device.v1.0.json"), PageKind::entra, page));
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].entra_object_id == Guid::from_string("000005c3-b7a6-4c61-89fc-80bf5ccfc366"));
  CHECK(page.items[0].azure_ad_device_id ==
        Guid::from_string("6fa60d52-01e7-4b18-8055-4759461fc16b"));
  CHECK(page.items[0].text(IdentityText::device_name) == "DESKTOP-858MANH");
  CHECK(page.items[0].account_enabled == false);

  // The doc's list examples have no "id": the element is dropped and counted.
  for (const char* name : {"list-devices.v1.0.json", "list-devices-filter-count-top.v1.0.json"}) {
    CAPTURE(name);
    REQUIRE_FALSE(parse_page(read(name), PageKind::entra, page));
    CHECK(page.items.empty());
    CHECK(page.stats.items == 1);
    CHECK(page.stats.bad_ids == 1);
  }
  CHECK(page.count == 1u);

  REQUIRE_FALSE(parse_page(read("devices-delta.v1.0.json"), PageKind::entra, page));
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].text(IdentityText::os) == "linux");
  CHECK(page.items[0].os_group() == "Linux");
  CHECK(page.next_link.find("$skiptoken=") != std::string::npos);
  CHECK(page.delta_link.empty());
}

TEST_CASE("example: delta deltaLink pages and @removed") {
  if (!have_examples()) return;
  Page page;
  REQUIRE_FALSE(
      parse_page(read("users-delta-final-page-deltaLink.v1.0.json"), PageKind::entra, page));
  CHECK(page.items.size() == 2);
  CHECK(page.delta_link.find("$deltatoken=") != std::string::npos);
  REQUIRE_FALSE(
      parse_page(read("users-delta-deltaLink-no-changes.v1.0.json"), PageKind::entra, page));
  CHECK(page.items.empty());
  CHECK_FALSE(page.delta_link.empty());
  REQUIRE_FALSE(parse_page(read("users-delta-deltaLink-changes-with-removed.v1.0.json"),
                           PageKind::entra, page));
  CHECK(page.items.size() == 1);
  REQUIRE(page.removed.size() == 1);
  CHECK(page.removed[0] == Guid::from_string("8ffff70c-1c63-4860-b963-e34ec660931d"));
}

TEST_CASE("example: registeredUsers is a collection without device fields") {
  if (!have_examples()) return;
  Page page;
  REQUIRE_FALSE(parse_page(read("device-registeredUsers.v1.0.json"), PageKind::entra, page));
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].azure_ad_device_id.is_nil());
}

TEST_CASE("example: Graph error bodies are rejected as pages and parsed as errors") {
  if (!have_examples()) return;
  struct Case {
    const char* file;
    const char* code;
    const char* message_part;
    const char* request_id;
  };
  const Case cases[] = {
      {"error-501-NotImplemented.delta-query.json", "NotImplemented", "not yet supported", "..."},
      {"error-ExpandNotSupported.query-parameters.json", "ExpandNotSupported", "Expand is not",
       "1653fefd-bc31-484b-bb10-8dc33cb853ec"},
      {"error-response.generic.json", "invalidRange", "overlaps", "request-id"},
      {"recorded-jupiterone-401-Authorization_IdentityNotFound.json",
       "Authorization_IdentityNotFound", "could not be established",
       "070a6b0c-5a4f-40e7-b90f-d14e9bc0fb73"},
      {"throttling-429-TooManyRequests.json", "TooManyRequests", "retry again",
       "94fb3b52-452a-4535-a601-69e0a90e3aa2"},
      {"reported-intune-500-InternalServerError.json", "InternalServerError",
       "An internal server error has occurred", "e0632382-b271-43e0-97fc-475ae068ed6f"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const std::string body = read(c.file);
    Page page;
    CHECK(parse_page(body, PageKind::intune, page) == graph_errc::error_body);
    auto err = parse_graph_error(body);
    REQUIRE(err);
    CHECK(err->code == c.code);
    CHECK(err->message.find(c.message_part) != std::string::npos);
    CHECK(err->request_id == c.request_id);
    CHECK(err->summary().find(c.code) == 0);
  }
  // The JSON-in-a-string message is unwrapped to its "Message".
  auto err = parse_graph_error(read("reported-intune-500-InternalServerError.json"));
  CHECK(err->message.rfind("An internal server error", 0) == 0);
  CHECK(parse_graph_error(read("throttling-429-TooManyRequests.json"))->inner_code == "429");
}

TEST_CASE("example: token responses and token errors") {
  if (!have_examples()) return;
  for (const char* name :
       {"token-response.client-credentials.v2.json", "recorded-jupiterone-token-response.json"}) {
    CAPTURE(name);
    auto t = parse_token_response(read(name));
    REQUIRE(t);
    CHECK(t->token_type == "Bearer");
    CHECK(t->expires_in == std::chrono::seconds(3599));
    CHECK_FALSE(parse_token_error(read(name)));
  }
  auto e = parse_token_error(read("token-error-response.invalid_scope.v2.json"));
  REQUIRE(e);
  CHECK(e->error == "invalid_scope");
  CHECK(e->description.rfind("AADSTS70011:", 0) == 0);
  CHECK(e->description.find("Trace ID") == std::string::npos);  // first line only
  CHECK(e->codes == std::vector<long long>{70011});
  e = parse_token_error(read("recorded-jupiterone-token-error-400-AADSTS90002.json"));
  REQUIRE(e);
  CHECK(e->codes == std::vector<long long>{90002});
  CHECK(e->summary().find("AADSTS90002") != std::string::npos);
  CHECK_FALSE(parse_token_response(read("token-error-response.invalid_scope.v2.json")));
}

TEST_CASE("every example file is covered by a test above") {
  if (!have_examples()) return;
  const std::set<std::string> covered = {
      "list-managedDevices.v1.0.json",
      "get-managedDevice.v1.0.json",
      "get-managedDevice.beta.json",
      "recorded-jupiterone-beta-managedDevices-list.json",
      "get-device.v1.0.json",
      "list-devices.v1.0.json",
      "list-devices-filter-count-top.v1.0.json",
      "devices-delta.v1.0.json",
      "users-delta-final-page-deltaLink.v1.0.json",
      "users-delta-deltaLink-no-changes.v1.0.json",
      "users-delta-deltaLink-changes-with-removed.v1.0.json",
      "device-registeredUsers.v1.0.json",
      "error-501-NotImplemented.delta-query.json",
      "error-ExpandNotSupported.query-parameters.json",
      "error-response.generic.json",
      "recorded-jupiterone-401-Authorization_IdentityNotFound.json",
      "throttling-429-TooManyRequests.json",
      "reported-intune-500-InternalServerError.json",
      "token-response.client-credentials.v2.json",
      "recorded-jupiterone-token-response.json",
      "token-error-response.invalid_scope.v2.json",
      "recorded-jupiterone-token-error-400-AADSTS90002.json"};
  for (const auto& entry : fs::directory_iterator(examples())) {
    if (entry.path().extension() != ".json") continue;
    CHECK_MESSAGE(covered.count(entry.path().filename().string()) == 1,
                  "no test for " << entry.path().filename().string());
  }
}

TEST_CASE("malformed and truncated pages are errors, not crashes") {
  Page page;
  CHECK(parse_page("{\"value\":[{\"id\":\"705c034c-034c-705c-4c03-5c704c035c70\"", PageKind::intune,
                   page) == graph_errc::invalid_json);
  CHECK(parse_page("", PageKind::intune, page) == graph_errc::invalid_json);
  CHECK(parse_page("[1,2]", PageKind::intune, page) == graph_errc::unexpected_shape);
  CHECK(parse_page("{} trailing", PageKind::intune, page) == graph_errc::invalid_json);
  CHECK_FALSE(parse_page("{\"value\":[]}", PageKind::intune, page));
}

TEST_CASE("Retry-After: fractional seconds, HTTP date, garbage") {
  CHECK(parse_retry_after("2.128", 0) == std::chrono::milliseconds(2128));
  CHECK(parse_retry_after("10", 0) == std::chrono::milliseconds(10000));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770.0) ==
        std::chrono::milliseconds(7000));
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK_FALSE(parse_retry_after("-1", 0));
}

TEST_CASE("join: azureADDeviceId == deviceId, nil never joins") {
  Identity a;
  a.intune_id = Guid::from_string("00000000-0000-4000-8000-000000000001");
  a.azure_ad_device_id = Guid::from_string("00000000-0000-4000-8000-0000000000aa");
  a.sources = kFromIntune;
  Identity b;  // no Entra registration
  b.intune_id = Guid::from_string("00000000-0000-4000-8000-000000000002");
  b.sources = kFromIntune;
  Identity e1;
  e1.entra_object_id = Guid::from_string("00000000-0000-4000-8000-0000000000e1");
  e1.azure_ad_device_id = a.azure_ad_device_id;
  e1.set_text(IdentityText::trust_type, "AzureAd");
  e1.set_text(IdentityText::device_name, "entra-name");
  e1.sources = kFromEntra;
  Identity e2;  // Entra-only, nil deviceId
  e2.entra_object_id = Guid::from_string("00000000-0000-4000-8000-0000000000e2");
  e2.sources = kFromEntra;
  a.set_text(IdentityText::device_name, "intune-name");
  auto out = join_identities({b, a}, {e1, e2});
  REQUIRE(out.size() == 3);
  CHECK(out[0].intune_id == a.intune_id);
  CHECK(out[0].entra_object_id == e1.entra_object_id);
  CHECK(out[0].text(IdentityText::trust_type) == "AzureAd");
  CHECK(out[0].text(IdentityText::device_name) == "intune-name");  // Intune wins
  CHECK(out[0].sources == (kFromIntune | kFromEntra));
  CHECK(out[1].intune_id == b.intune_id);
  CHECK(out[1].entra_object_id.is_nil());
  CHECK(out[2].entra_object_id == e2.entra_object_id);
}
