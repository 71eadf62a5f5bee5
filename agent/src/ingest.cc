// `edgeid ingest --pcap FILE [--pcap FILE …] [--json] [--oui-dir DIR]`: offline discovery.
// Every file is opened before any is read, so a bad path fails fast without partial output.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/cli.h"
#include "args.h"
#include "capture/decode.h"
#include "capture/device_table.h"
#include "capture/oui_table.h"
#include "capture/pcap_source.h"
#include "commands.h"
#include "device_json.h"

namespace edgeid::agent {

namespace {

struct IngestOptions {
  std::vector<std::string> files;
  bool json = false;
  std::string oui_dir{capture::OuiTable::kDefaultDirectory};
};

IngestOptions parse(std::span<const std::string_view> args) {
  IngestOptions o;
  ArgReader r(args);
  while (!r.done()) {
    const auto a = r.next();
    if (a == "--pcap") {
      o.files.push_back(r.value_of(a));
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--oui-dir") {
      o.oui_dir = r.value_of(a);
    } else {
      ArgReader::unknown(a);
    }
  }
  if (o.files.empty()) throw UsageError("no capture file given (--pcap FILE)");
  return o;
}

// Decodes each packet into one reused FrameFacts and applies it: no allocation per packet
// beyond what the table needs for new facts.
class IngestSink final : public capture::PacketSink {
 public:
  explicit IngestSink(capture::DeviceTable& table) : table_(table) {}
  void on_packet(const capture::Packet& p) noexcept override {
    capture::decode_frame(p.link, p.data, p.wire_length, *facts_, counters_);
    table_.apply(*facts_, p.time);
  }
  const capture::DecodeCounters& counters() const noexcept { return counters_; }

 private:
  capture::DeviceTable& table_;
  std::unique_ptr<capture::FrameFacts> facts_ = std::make_unique<capture::FrameFacts>();
  capture::DecodeCounters counters_;
};

void print_table(std::ostream& out, const std::vector<capture::DeviceRecord>& devices) {
  struct Row {
    std::array<std::string, 8> cells;
  };
  std::vector<Row> rows;
  rows.push_back({{"MAC", "VENDOR", "IPV4", "IPV6", "HOSTNAME", "VLANS", "PACKETS", "FLAGS"}});
  for (const auto& d : devices) {
    Row r;
    r.cells[0] = d.mac.to_string();
    r.cells[1] = printable(d.vendor.substr(0, 24));
    const auto more = [](std::size_t n) { return n > 1 ? " +" + std::to_string(n - 1) : ""; };
    if (!d.ipv4.empty()) r.cells[2] = ipv4_text(d.ipv4.front().data()) + more(d.ipv4.size());
    if (!d.ipv6.empty()) r.cells[3] = ipv6_text(d.ipv6.front().data()) + more(d.ipv6.size());
    if (d.hostname_source) {
      r.cells[4] = printable(d.hostname.substr(0, 40)) + " (" +
                   std::string(capture::hostname_source_name(*d.hostname_source)) + ")";
    }
    for (const auto& v : d.vlans) {
      if (!r.cells[5].empty()) r.cells[5] += ',';
      for (std::size_t i = 0; i < v.depth; ++i) {
        if (i > 0) r.cells[5] += '.';
        r.cells[5] += std::to_string(v.ids[i]);
      }
    }
    r.cells[6] = std::to_string(d.packets);
    std::string flags;
    if (d.router) flags += "router ";
    if (d.multi_vlan) flags += "multi_vlan ";
    if (d.randomized) flags += "randomized ";
    if (!flags.empty()) flags.pop_back();
    r.cells[7] = flags;
    rows.push_back(std::move(r));
  }
  std::array<std::size_t, 8> width{};
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], r.cells[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < width.size(); ++i) {
      line += r.cells[i];
      if (i + 1 < width.size()) line.append(width[i] - r.cells[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

void print_counters(std::ostream& err, std::size_t files, const capture::DecodeCounters& c,
                    const capture::DeviceTable& table) {
  const auto& t = table.counters();
  err << "edgeid ingest: files=" << files << " frames=" << c.frames << " bytes=" << c.bytes
      << " devices=" << table.size() << " truncated=" << c.truncated << " ignored=" << c.ignored
      << " unsupported_link=" << c.unsupported_link << " facts_dropped=" << c.facts_dropped
      << " malformed=" << c.malformed_total();
  for (std::size_t i = 0; i < capture::kDecoderCount; ++i) {
    if (c.malformed[i] != 0) {
      err << " malformed." << capture::to_string(static_cast<capture::Decoder>(i)) << '='
          << c.malformed[i];
    }
  }
  err << " routers=" << t.routers_detected << " multi_vlan=" << t.multi_vlan_detected
      << " addresses_suppressed=" << t.addresses_suppressed
      << " addresses_replaced=" << t.addresses_replaced << " evicted=" << t.evicted << '\n';
}

}  // namespace

int run_ingest(const CommandArgs& a) {
  const IngestOptions o = parse(a.args);

  std::vector<std::unique_ptr<capture::PacketSource>> sources;
  for (const auto& file : o.files) {
    std::error_code ec;
    std::string detail;
    auto source = capture::open_offline(file, ec, detail);
    if (!source) {
      a.err << "edgeid ingest: " << file << ": " << ec.message()
            << (detail.empty() ? "" : ": " + detail) << '\n';
      return kExitRuntime;
    }
    sources.push_back(std::move(source));
  }

  capture::OuiTable oui;
  std::vector<std::string> problems;
  oui.load_directory(o.oui_dir, problems);
  for (const auto& p : problems) {
    a.err << "edgeid ingest: warning: vendor registry not loaded: " << p << '\n';
  }

  capture::TableOptions table_options;
  table_options.track_changes = false;
  capture::DeviceTable table(table_options, &oui);
  IngestSink sink(table);
  int status = kExitOk;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    for (;;) {
      std::size_t delivered = 0;
      const auto ec = sources[i]->dispatch(-1, sink, delivered);
      if (ec == capture::errc::end_of_file) break;
      if (ec) {
        // Like tcpdump: what was read is still reported, and the run fails.
        a.err << "edgeid ingest: " << o.files[i] << ": " << ec.message() << ": "
              << sources[i]->last_error() << '\n';
        status = kExitRuntime;
        break;
      }
    }
  }

  const auto devices = table.snapshot();
  if (o.json) {
    for (const auto& d : devices) a.out << device_to_json(d) << '\n';
  } else {
    print_table(a.out, devices);
  }
  print_counters(a.err, o.files.size(), sink.counters(), table);
  return status;
}

}  // namespace edgeid::agent
