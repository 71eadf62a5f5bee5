// `edgeid ingest --pcap FILE [--pcap FILE …] [--json] [--oui-dir DIR]`: offline discovery.
// Every file is opened before any is read, so a bad path fails fast without partial output.
#include <array>
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

// Decodes each packet and applies it to the table, a few frames late: the table's working set
// (20 k devices: a few MB) does not fit in cache, so each frame's index bucket and then device
// slot are prefetched while the frames before it are applied, instead of waiting for two cache
// misses in a row on every frame.
// Frames are applied in arrival order, each exactly once; a frame that carries text (names, DHCP
// options, LLDP/CDP) views the packet buffer, which is only valid inside on_packet(), so it is
// applied at once, after the frames still waiting. No allocation per packet beyond what the table
// needs for new facts.
class IngestSink final : public capture::PacketSink {
 public:
  explicit IngestSink(capture::DeviceTable& table) : table_(table) {
    for (auto& f : ring_) f = std::make_unique<capture::FrameFacts>();
  }
  void on_packet(const capture::Packet& p) noexcept override {
    if (count_ == kDepth) pop();
    const std::size_t at = (head_ + count_) % kDepth;
    capture::FrameFacts& f = *ring_[at];
    capture::decode_frame(p.link, p.data, p.wire_length, f, counters_);
    times_[at] = p.time;
    ++count_;
    if (views_packet(f)) {
      flush();
      return;
    }
    if (f.has_src) table_.prefetch(f.src, 0);
    // The slot of the frame that arrived kPrefetchAge frames ago: its bucket is in cache by now.
    if (count_ > kPrefetchAge) {
      const capture::FrameFacts& w = *ring_[(head_ + count_ - 1 - kPrefetchAge) % kDepth];
      if (w.has_src) table_.prefetch(w.src, 1);
    }
  }
  /// Applies every frame still waiting. Call after the last packet, before reading the table.
  void flush() noexcept {
    while (count_ > 0) pop();
  }
  const capture::DecodeCounters& counters() const noexcept { return counters_; }

 private:
  static constexpr std::size_t kDepth = 16;       // frames held back
  static constexpr std::size_t kPrefetchAge = 4;  // frames between the two prefetch stages
  static bool views_packet(const capture::FrameFacts& f) noexcept {
    for (const auto& fact : f.view()) {
      if (!fact.text.empty()) return true;
    }
    return false;
  }
  void pop() noexcept {
    table_.apply(*ring_[head_], times_[head_]);
    head_ = (head_ + 1) % kDepth;
    --count_;
  }

  capture::DeviceTable& table_;
  std::array<std::unique_ptr<capture::FrameFacts>, kDepth> ring_;
  std::array<platform::Timestamp, kDepth> times_{};
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  capture::DecodeCounters counters_;
};

void print_table(std::ostream& out, const capture::DeviceTable& table) {
  struct Row {
    std::array<std::string, 8> cells;
  };
  std::vector<Row> rows;
  rows.push_back({{"MAC", "VENDOR", "IPV4", "IPV6", "HOSTNAME", "VLANS", "PACKETS", "FLAGS"}});
  table.for_each_sorted([&](const capture::DeviceRecord& d) {
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
  });
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
  sink.flush();

  if (o.json) {
    // One record at a time into one buffer, written in large blocks: the output never holds
    // more than a block, whatever the number of devices.
    constexpr std::size_t kBlock = std::size_t{64} * 1024;
    std::string buffer;
    buffer.reserve(kBlock + 4096);
    table.for_each_sorted([&](const capture::DeviceRecord& d) {
      append_device_json(buffer, d);
      buffer.push_back('\n');
      if (buffer.size() >= kBlock) {
        a.out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        buffer.clear();
      }
    });
    a.out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  } else {
    print_table(a.out, table);
  }
  print_counters(a.err, o.files.size(), sink.counters(), table);
  return status;
}

}  // namespace edgeid::agent
