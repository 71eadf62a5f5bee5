#pragma once
/// @file
/// Offline identity sources: identities read from a file instead of Graph (labs, air-gapped
/// sites, demos, tests).
///
/// Formats, detected from the first non-blank byte:
///  - '{'  one Graph list response (managedDevices or devices), e.g. a saved API answer;
///  - '['  a JSON array of such pages (a saved paged export), pages may mix managedDevices and
///         devices: each page's kind comes from its "@odata.context", else from its properties;
///  - otherwise: the Intune admin center device CSV export (Devices > All devices > Export),
///         see load_intune_csv().
/// Intune and Entra identities of one file are joined like a Graph sync's.
/// Pages are parsed one at a time with the streaming page parser (the array is split by a
/// byte scanner), so no JSON tree of the file is built.
/// Errors: std::error_code (graph_errc::unreadable_file, bad_source_file, invalid_json) and a
/// detail naming the file (and page or line). Thread safety: reentrant.

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cloud/identity.h"

namespace edgeid::cloud {

struct SourceResult {
  std::vector<Identity> identities;
  PageStats stats;
  std::size_t pages = 0;  ///< JSON pages (0 for CSV)
  std::size_t rows = 0;   ///< CSV data rows
};

/// Reads a file in any of the formats above.
std::error_code load_identity_file(const std::string& path, SourceResult& out, std::string& detail);
/// The same on text already in memory.
std::error_code load_identity_text(std::string_view text, SourceResult& out, std::string& detail);

/// The Intune admin center device export (CSV, RFC 4180 quoting, UTF-8 with or without BOM,
/// first row = column display names). Columns used, matched case-insensitively (other columns
/// are ignored; only "Device ID" is required):
///   "Device ID" → intune_id;  "Device name";  "Azure AD Device ID" | "Microsoft Entra Device ID"
///   | "Entra Device ID" → azure_ad_device_id;  "OS";  "OS version";  "Serial number";
///   "Manufacturer";  "Model";  "Wi-Fi MAC" | "WiFi MAC" | "Wi-Fi MAC address" → wifi_mac;
///   "Ethernet MAC" | "EthernetMAC" | "Ethernet MAC address" → ethernet_mac;
///   "Primary user UPN" | "User principal name";  "Primary user email address" | "Email";
///   "Compliance";  "Ownership";  "Managed by" → management_agent;  "Enrollment type";
///   "Last check-in" (RFC 3339 or "YYYY-MM-DD hh:mm:ss[.fffffff]", UTC) → last_sync.
std::error_code load_intune_csv(std::string_view text, SourceResult& out, std::string& detail);

/// Splits CSV text into rows of fields (RFC 4180: quotes, doubled quotes, CR/LF and commas
/// inside quotes). Returns false (with the 1-based line in @p bad_line) on an unterminated
/// quote.
bool parse_csv(std::string_view text, std::vector<std::vector<std::string>>& rows,
               std::size_t& bad_line);

}  // namespace edgeid::cloud
