// `edgeid inventory --data-dir DIR [--json]`: the merged inventory read straight from LMDB,
// read-only, so it works beside a running agent (it sees the last committed batch).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "agent/cli.h"
#include "agent/inventory.h"
#include "agent/merge.h"
#include "args.h"
#include "commands.h"
#include "device_json.h"

namespace edgeid::agent {

namespace {

constexpr std::size_t kColumns = 10;
using Row = std::array<std::string, kColumns>;

std::string confidence(std::uint16_t permille) {
  std::string s = std::to_string(permille / 1000) + "." + std::to_string(permille % 1000 / 100);
  if (permille % 100 != 0) s += std::to_string(permille % 100 / 10);
  if (permille % 10 != 0) s += std::to_string(permille % 10);
  return s;
}

Row row_of(const InventoryRecord& r) {
  Row row;
  row[1] = std::string(to_string(r.state));
  if (r.device) {
    const auto& d = *r.device;
    row[0] = d.mac.to_string();
    const auto by = static_cast<MatchBy>(d.match_by);
    if (by != MatchBy::none) {
      row[2] = std::string(to_string(by)) + "/" + confidence(d.match_confidence_permille);
      if (!d.conflicts.empty()) row[2] += " +" + std::to_string(d.conflicts.size()) + " conflict";
    }
    row[3] = printable(d.vendor.substr(0, 24));
    for (const auto v : d.vlans) row[4] += (row[4].empty() ? "" : ",") + std::to_string(v);
    if (!d.ipv4.empty()) {
      row[5] = ipv4_text(d.ipv4.front().data());
      if (d.ipv4.size() > 1) row[5] += " +" + std::to_string(d.ipv4.size() - 1);
    }
    row[6] = printable(d.hostname.substr(0, 32));
  } else if (r.identity) {
    const auto& id = *r.identity;
    const auto& mac = !id.wifi_mac.is_zero() ? id.wifi_mac : id.ethernet_mac;
    row[0] = mac.is_zero() ? "-" : mac.to_string();
  }
  if (r.identity) {
    const auto& id = *r.identity;
    row[7] = printable(id.device_name);
    if (!id.user_principal_name.empty()) row[7] += " / " + printable(id.user_principal_name);
    row[8] = printable(id.os);
    if (!id.os_version.empty()) row[8] += " " + printable(id.os_version);
    row[9] = printable(id.compliance_state);
  }
  for (auto& cell : row) {
    if (cell.empty()) cell = "-";
  }
  return row;
}

void print_table(std::ostream& out, const std::vector<InventoryRecord>& records) {
  std::vector<Row> rows;
  rows.push_back({"MAC", "STATE", "MATCH", "VENDOR", "VLANS", "IPV4", "HOSTNAME", "DEVICE/UPN",
                  "OS", "COMPLIANCE"});
  for (const auto& r : records) rows.push_back(row_of(r));
  std::array<std::size_t, kColumns> width{};
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < kColumns; ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < kColumns; ++i) {
      line += r[i];
      if (i + 1 < kColumns) line.append(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

}  // namespace

int run_inventory(const CommandArgs& a) {
  ArgReader r(a.args);
  std::string data_dir;
  bool json = false;
  while (!r.done()) {
    const auto arg = r.next();
    if (arg == "--data-dir") {
      data_dir = r.value_of(arg);
    } else if (arg == "--json") {
      json = true;
    } else {
      ArgReader::unknown(arg);
    }
  }
  if (data_dir.empty()) throw UsageError("--data-dir DIR is required");
  store::Store store;
  if (auto ec = store.open(store_options(data_dir, true))) {
    a.err << "edgeid inventory: " << data_dir << ": " << ec.message() << '\n';
    return kExitRuntime;
  }
  std::vector<InventoryRecord> records;
  std::string detail;
  if (auto ec = read_inventory(store, records, detail)) {
    a.err << "edgeid inventory: " << detail << '\n';
    return kExitRuntime;
  }
  if (!detail.empty()) a.err << "edgeid inventory: warning: " << detail << '\n';
  if (json) {
    for (const auto& rec : records) a.out << rec.json << '\n';
  } else {
    print_table(a.out, records);
    std::size_t counts[4] = {};
    for (const auto& rec : records) ++counts[static_cast<std::size_t>(rec.state) & 3];
    a.err << "edgeid inventory: records=" << records.size() << " managed=" << counts[1]
          << " unmanaged=" << counts[2] << " identity_only=" << counts[3] << '\n';
  }
  return kExitOk;
}

}  // namespace edgeid::agent
