#pragma once
// Helpers shared by the store tests: scratch directories and record builders.

#include <unistd.h>

#include <filesystem>
#include <string>

#include "store/records.h"

namespace edgeid::store::test {

/// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeid-store-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline DeviceRecord make_device(std::uint64_t n) {
  DeviceRecord d;
  d.mac = platform::MacAddress::from_u64(0x3c22fb000000ULL + n);
  d.vendor = "Apple, Inc.";
  d.vlans = {101, static_cast<std::uint16_t>(200 + n % 3)};
  d.ipv4 = {{10, 0, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}};
  d.ipv6 = {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x3e, 0x22, 0xfb, 0xff, 0xfe, 0, 0, 1}};
  d.hostname = "host-" + std::to_string(n);
  d.hostname_source = 1;
  d.dhcp_vendor_class = "MSFT 5.0";
  d.dhcp_param_list = "1,3,6,15,31,33,43,44,46,47,119,121,249,252";
  d.dhcp_client_id = "01:3c:22:fb:00:00:01";
  d.first_seen = platform::Timestamp::from_unix_seconds(1795201200);
  d.last_seen = platform::Timestamp::from_unix_seconds(1795201200 + 300);
  d.packets = 123 + n;
  d.bytes = 45678 + n;
  d.sources = 0x1f;
  d.state = 1;
  d.intune_id = platform::Guid::from_string("0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a");
  d.match_by = 1;
  d.match_confidence_permille = 1000;
  d.version = 17;
  return d;
}

inline IdentityRecord make_identity(std::uint64_t n) {
  IdentityRecord i;
  platform::Guid::Bytes b{};
  for (std::size_t k = 0; k < 8; ++k) b[15 - k] = static_cast<std::uint8_t>(n >> (8 * k));
  b[0] = 0x42;
  i.intune_id = platform::Guid(b);
  b[0] = 0x43;
  i.entra_device_id = platform::Guid(b);
  i.device_name = "DESKTOP-" + std::to_string(n);
  i.os = "Windows";
  i.os_version = "10.0.19045.2965";
  i.enrollment_type = "windowsAzureADJoin";
  i.user_principal_name = "user" + std::to_string(n) + "@contoso.com";
  i.email = i.user_principal_name;
  i.model = "Surface Pro 9";
  i.manufacturer = "Microsoft Corporation";
  i.serial_number = "SN" + std::to_string(n);
  i.compliance_state = "compliant";
  i.management_agent = "mdm";
  i.ownership = "company";
  i.trust_type = "AzureAd";
  i.last_sync = platform::Timestamp::from_unix_seconds(1795200000);
  i.wifi_mac = platform::MacAddress::from_u64(0x84ad8d000000ULL + n);
  return i;
}

}  // namespace edgeid::store::test
