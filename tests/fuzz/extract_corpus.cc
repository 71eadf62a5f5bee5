// Seed corpus for the fuzzers, extracted at run time from capture files (never checked in):
//   extract_corpus OUT_DIR FILE...
// writes every frame to OUT_DIR/frame_<dlt-name>/ and the payloads the protocol decoders take
// (DHCPv4/DHCPv6/mDNS/NBNS UDP payloads, LLDPDUs, CDP PDUs) to OUT_DIR/<protocol>/.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <string>

#include "capture/pcap_source.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::span<const std::uint8_t>;

std::uint16_t be16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

class Writer final : public edgeid::capture::PacketSink {
 public:
  Writer(fs::path out, std::string stem) : out_(std::move(out)), stem_(std::move(stem)) {}

  void on_packet(const edgeid::capture::Packet& p) noexcept override {
    const char* dir = p.link == edgeid::capture::LinkType::ethernet    ? "frame_ethernet"
                      : p.link == edgeid::capture::LinkType::linux_sll ? "frame_sll"
                                                                       : "frame_sll2";
    write(dir, p.data);
    if (p.link == edgeid::capture::LinkType::ethernet) split_ethernet(p.data);
  }

 private:
  void write(const char* dir, Bytes data) {
    fs::create_directories(out_ / dir);
    std::ofstream(out_ / dir / (stem_ + "-" + std::to_string(n_++)), std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  }

  // Just enough parsing to find the decoders' inputs; anything odd is skipped.
  void split_ethernet(Bytes f) {
    if (f.size() < 14) return;
    std::size_t at = 12;
    std::uint16_t type = be16(f, at);
    while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && at + 6 <= f.size()) {
      at += 4;
      type = be16(f, at);
    }
    at += 2;
    if (at > f.size()) return;
    Bytes payload = f.subspan(at);
    if (type == 0x88cc) return write("lldp", payload);
    if (type <= 1500 && payload.size() > 8 && payload[0] == 0xaa && payload[5] == 0x0c) {
      return write("cdp", payload.subspan(8));
    }
    Bytes udp;
    bool v6 = false;
    if (type == 0x0800 && payload.size() >= 20 && payload[9] == 17) {
      const std::size_t ihl = std::size_t{payload[0] & 0x0fU} * 4;
      if (ihl >= 20 && payload.size() >= ihl + 8) udp = payload.subspan(ihl);
    } else if (type == 0x86dd && payload.size() >= 48 && payload[6] == 17) {
      udp = payload.subspan(40);
      v6 = true;
    }
    if (udp.size() < 8) return;
    const std::uint16_t sport = be16(udp, 0);
    const std::uint16_t dport = be16(udp, 2);
    const Bytes data = udp.subspan(8);
    const auto either = [&](std::uint16_t port) { return sport == port || dport == port; };
    if (!v6 && (either(67) || either(68))) write("dhcpv4", data);
    if (v6 && (either(546) || either(547))) write("dhcpv6", data);
    if (either(5353)) write("mdns", data);
    if (!v6 && either(137)) write("nbns", data);
  }

  fs::path out_;
  std::string stem_;
  std::size_t n_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: extract_corpus OUT_DIR FILE...\n";
    return 2;
  }
  int status = 0;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    std::string detail;
    auto source = edgeid::capture::open_offline(argv[i], ec, detail);
    if (!source) {
      std::cerr << argv[i] << ": " << ec.message() << ": " << detail << '\n';
      status = 1;
      continue;
    }
    Writer writer(argv[1], fs::path(argv[i]).stem().string());
    std::size_t delivered = 0;
    while (!source->dispatch(-1, writer, delivered)) {
    }
  }
  return status;
}
