#pragma once
/// @file
/// OuiTable: MAC prefix → vendor name, from the IEEE registries (Debian package ieee-data).
///
/// The IEEE publishes four registries as CSV: MA-L (oui.csv, 24-bit prefixes), MA-M (mam.csv,
/// 28-bit), MA-S (oui36.csv, 36-bit) and IAB (iab.csv, 36-bit). MA-M and MA-S blocks are carved
/// out of MA-L blocks registered to "IEEE Registration Authority", so the longest matching prefix
/// wins: MA-S/IAB (36) > MA-M (28) > MA-L (24).
///
/// Memory: one sorted vector of 16-byte entries per prefix length plus one blob of the distinct
/// names (~1.6 MB for the 2022 data set). Loaded once at start-up; lookups never allocate.
/// Thread safety: after loading, const member functions may be called from any thread.
/// Errors: load_file() returns std::error_code (I/O boundary); malformed rows are skipped and
/// counted, never fatal.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "platform/mac_address.h"

namespace edgeid::capture {

class OuiTable {
 public:
  /// The registry file names of ieee-data, in the order load_directory() reads them.
  static constexpr std::string_view kRegistryFiles[] = {"oui.csv", "mam.csv", "oui36.csv",
                                                        "iab.csv"};
  static constexpr std::string_view kDefaultDirectory = "/usr/share/ieee-data";

  OuiTable() = default;

  /// Loads one registry CSV ("Registry,Assignment,Organization Name,Organization Address").
  /// The prefix length comes from the length of the Assignment (6, 7 or 9 hex digits). For a
  /// prefix listed twice the first row wins. Returns an error for an unreadable file; rows that
  /// do not parse are skipped and counted in rows_skipped().
  std::error_code load_file(const std::filesystem::path& path);

  /// Loads every registry in @p directory. Missing or unreadable files are reported in
  /// @p problems ("<path>: <reason>") and skipped; the table works with whatever loaded.
  void load_directory(const std::filesystem::path& directory, std::vector<std::string>& problems);

  /// The vendor of the longest registered prefix of @p mac, or "" when unknown.
  std::string_view vendor(const platform::MacAddress& mac) const noexcept;
  /// Whether the 24-bit prefix of @p mac is a registered MA-L block. Legacy blocks such as
  /// AA-00-04 (DEC) have the locally-administered bit set and yet are real vendors.
  bool is_registered_ma_l(const platform::MacAddress& mac) const noexcept;
  /// The "randomized" rule: the locally-administered bit is set and the 24-bit prefix is not a
  /// registered MA-L block.
  bool is_randomized(const platform::MacAddress& mac) const noexcept {
    return mac.is_locally_administered() && !is_registered_ma_l(mac);
  }

  std::size_t size() const noexcept;
  std::size_t rows_skipped() const noexcept { return rows_skipped_; }

 private:
  struct Entry {
    std::uint64_t prefix;       // the prefix bits, right-aligned
    std::uint32_t name_offset;  // into names_
    std::uint32_t name_length;
    friend bool operator<(const Entry& a, const Entry& b) noexcept { return a.prefix < b.prefix; }
  };
  static constexpr int kBits[3] = {36, 28, 24};  // lookup order: longest first

  void add(int bits, std::uint64_t prefix, std::string_view name);
  void finish();
  const Entry* find(int level, std::uint64_t prefix) const noexcept;

  std::vector<Entry> tables_[3];  // indexed like kBits
  std::string names_;
  std::size_t rows_skipped_ = 0;
  bool sorted_ = true;
};

}  // namespace edgeid::capture
