#include "capture/oui_table.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

namespace edgeid::capture {
namespace {

using platform::MacAddress;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "edgeid-oui-XXXXXX").string();
    path = mkdtemp(templ.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return path / name;
  }
};

TEST_CASE("oui: quoted names, CRLF, embedded line breaks and duplicates") {
  TempDir dir;
  const auto csv =
      dir.write("oui.csv",
                "Registry,Assignment,Organization Name,Organization Address\r\n"
                "MA-L,D83062,\"Apple, Inc.\",1 Infinite Loop Cupertino CA US 95014 \r\n"
                "MA-L,080030,NETWORK RESEARCH CORPORATION,\"line one\r\nline two\"\r\n"
                "MA-L,080030,ROYAL MELBOURNE INST OF TECH,GPO BOX 2476V\r\n"
                "MA-L,AA0004,DIGITAL EQUIPMENT CORPORATION,\"say \"\"hi\"\"\"\r\n"
                "MA-L,XYZ,broken row,\r\n");
  OuiTable t;
  REQUIRE_FALSE(t.load_file(csv));
  CHECK(t.vendor(MacAddress::from_u64(0xd83062000001)) == "Apple, Inc.");
  CHECK(t.vendor(MacAddress::from_u64(0x080030123456)) == "NETWORK RESEARCH CORPORATION");
  CHECK(t.vendor(MacAddress::from_u64(0x3c22fb000001)).empty());
  CHECK(t.rows_skipped() == 1);
  CHECK(t.size() == 3);
  // AA-00-04 has the U/L bit set but is DEC's registered block: not randomized.
  CHECK_FALSE(t.is_randomized(MacAddress::from_u64(0xaa0004001234)));
  CHECK(t.is_randomized(MacAddress::from_u64(0xc62c03606a64)));
}

TEST_CASE("oui: the longest prefix wins (MA-S > MA-M > MA-L)") {
  TempDir dir;
  dir.write("oui.csv",
            "Registry,Assignment,Organization Name,Organization Address\r\n"
            "MA-L,70B3D5,IEEE Registration Authority,x\r\n");
  dir.write("mam.csv",
            "Registry,Assignment,Organization Name,Organization Address\r\n"
            "MA-M,70B3D51,Medium Co,x\r\n");
  dir.write("oui36.csv",
            "Registry,Assignment,Organization Name,Organization Address\r\n"
            "MA-S,70B3D5123,Small Co,x\r\n");
  OuiTable t;
  std::vector<std::string> problems;
  t.load_directory(dir.path, problems);
  REQUIRE(problems.size() == 1);  // iab.csv is missing
  CHECK(problems[0].find("iab.csv") != std::string::npos);
  CHECK(t.vendor(MacAddress::from_u64(0x70b3d5123456)) == "Small Co");
  CHECK(t.vendor(MacAddress::from_u64(0x70b3d5145678)) == "Medium Co");
  CHECK(t.vendor(MacAddress::from_u64(0x70b3d5f45678)) == "IEEE Registration Authority");
}

TEST_CASE("oui: a missing file is an error code, not an exception") {
  OuiTable t;
  const auto ec = t.load_file("/nonexistent/oui.csv");
  CHECK(ec);
  CHECK(t.size() == 0);
  CHECK(t.vendor(MacAddress::from_u64(0xd83062000001)).empty());
}

TEST_CASE("oui: the Debian ieee-data registries, when installed") {
  const fs::path dir{OuiTable::kDefaultDirectory};
  if (!fs::exists(dir / "oui.csv")) {
    MESSAGE("SKIP: " << dir << " not installed");
    return;
  }
  OuiTable t;
  std::vector<std::string> problems;
  t.load_directory(dir, problems);
  CHECK(problems.empty());
  CHECK(t.size() > 40'000);
  CHECK(t.vendor(MacAddress::from_u64(0xd83062560001)) == "Apple, Inc.");
  CHECK(t.vendor(MacAddress::from_u64(0x4c6af69ff627)) == "HMD Global Oy");
  CHECK(t.vendor(MacAddress::from_u64(0x00005e000101)) == "ICANN, IANA Department");
  CHECK_FALSE(t.is_randomized(MacAddress::from_u64(0xaa0004001234)));
}

}  // namespace
}  // namespace edgeid::capture
