// Offline identity sources: Graph-format JSON (one page, or an array of pages) and the Intune
// admin center CSV export.

#include <filesystem>

#include <doctest/doctest.h>

#include "capture/shared_dir.h"
#include "cloud/graph_error.h"
#include "cloud/identity_source.h"

using namespace edgeid::cloud;
using edgeid::platform::Guid;
using edgeid::platform::MacAddress;

TEST_CASE("file source: an example list response read in place") {
  const auto path = edgeid::test::shared_dir() / "graph-examples" /
                    "recorded-jupiterone-beta-managedDevices-list.json";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path.string() << " is absent");
    return;
  }
  SourceResult r;
  std::string detail;
  REQUIRE_FALSE(load_identity_file(path.string(), r, detail));
  CHECK(r.pages == 1);
  CHECK(r.identities.size() == 2);
}

TEST_CASE("file source: an array of pages mixing managedDevices and devices, joined") {
  const std::string text = R"([
 {"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
  "value":[{"id":"00000000-0000-4000-8000-000000000001","deviceName":"pc-1","wiFiMacAddress":"84AD8DB5B351",
            "azureADDeviceId":"00000000-0000-4000-8000-0000000000aa","ethernetMacAddress":""}]},
 {"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#devices",
  "value":[{"id":"00000000-0000-4000-8000-0000000000e1","deviceId":"00000000-0000-4000-8000-0000000000aa",
            "displayName":"PC-1","trustType":"AzureAd"},
           {"id":"00000000-0000-4000-8000-0000000000e2","deviceId":"00000000-0000-0000-0000-000000000000",
            "displayName":"printer \"]\" x"}]},
 {"value":[{"id":"00000000-0000-4000-8000-000000000001","deviceName":"pc-1 again"}]}
])";
  SourceResult r;
  std::string detail;
  REQUIRE_FALSE(load_identity_text(text, r, detail));
  CHECK(r.pages == 3);
  REQUIRE(r.identities.size() == 2);
  CHECK(r.identities[0].text(IdentityText::device_name) == "pc-1");
  CHECK(r.identities[0].wifi_mac == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(r.identities[0].entra_object_id ==
        Guid::from_string("00000000-0000-4000-8000-0000000000e1"));
  CHECK(r.identities[0].text(IdentityText::trust_type) == "AzureAd");
  CHECK(r.identities[1].text(IdentityText::device_name) == "printer \"]\" x");
}

TEST_CASE("file source: broken JSON names the page") {
  SourceResult r;
  std::string detail;
  CHECK(load_identity_text("[{\"value\":[]}, {\"value\":[}]", r, detail) != std::error_code{});
  CHECK(load_identity_text("{\"value\":[", r, detail) == graph_errc::invalid_json);
  CHECK(detail.find("page 1") != std::string::npos);
}

TEST_CASE("CSV: quotes, embedded commas/newlines, BOM, CRLF") {
  std::vector<std::vector<std::string>> rows;
  std::size_t bad = 0;
  REQUIRE(parse_csv("a,\"b,1\",\"c\"\"q\"\"\"\r\n\"multi\nline\",,x\r\n", rows, bad));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<std::string>{"a", "b,1", "c\"q\""});
  CHECK(rows[1] == std::vector<std::string>{"multi\nline", "", "x"});
  CHECK_FALSE(parse_csv("a,\"open\nb", rows, bad));
  CHECK(bad == 1);
}

TEST_CASE("CSV: the Intune admin center device export") {
  const std::string csv =
      "\xEF\xBB\xBF"
      "Device ID,Device name,Enrollment date,Last check-in,Azure AD Device ID,OS version,"
      "Serial number,Manufacturer,Model,Wi-Fi MAC,Ethernet MAC,Primary user UPN,Compliance,OS,"
      "Ownership\r\n"
      "00000000-0000-4000-8000-000000000001,\"LAPTOP, 1\",2024-01-01 10:00:00,"
      "2024-05-22 09:41:40.0000000,00000000-0000-4000-8000-0000000000aa,10.0.22631,SN1,Dell,"
      "Latitude,84:AD:8D:B5:B3:51,147DDA48F752,a@contoso.example,Compliant,Windows,Corporate\r\n"
      "not-a-guid,x,,,,,,,,,,,,,\r\n"
      "00000000-0000-4000-8000-000000000002,phone,,0001-01-01 00:00:00,"
      "00000000-0000-0000-0000-000000000000,17.4,,,,garbage,,,Noncompliant,iOS,Personal\r\n";
  SourceResult r;
  std::string detail;
  REQUIRE_FALSE(load_identity_text(csv, r, detail));
  CHECK(r.rows == 3);
  CHECK(r.stats.bad_ids == 1);
  CHECK(r.stats.bad_macs == 1);
  REQUIRE(r.identities.size() == 2);
  const Identity& a = r.identities[0];
  CHECK(a.text(IdentityText::device_name) == "LAPTOP, 1");
  CHECK(a.wifi_mac == MacAddress::from_u64(0x84ad8db5b351));
  CHECK(a.ethernet_mac == MacAddress::from_u64(0x147dda48f752));
  CHECK(a.text(IdentityText::compliance_state) == "compliant");
  CHECK(a.text(IdentityText::ownership) == "company");
  CHECK(a.last_sync->to_rfc3339() == "2024-05-22T09:41:40Z");
  CHECK(a.azure_ad_device_id == Guid::from_string("00000000-0000-4000-8000-0000000000aa"));
  const Identity& b = r.identities[1];
  CHECK_FALSE(b.last_sync);
  CHECK(b.azure_ad_device_id.is_nil());
  CHECK(b.os_group() == "iOS");
  CHECK(load_identity_text("Name,Other\nx,y\n", r, detail) == graph_errc::bad_source_file);
  CHECK(detail.find("Device ID") != std::string::npos);
}
