// edgeid-bench-floor: the cost of reading a capture file with libpcap and nothing else, the floor
// that `edgeid ingest` is measured against. Also two helpers for the live capture test:
//
//   edgeid-bench-floor FILE              packets and bytes (the timed floor loop)
//   edgeid-bench-floor FILE --digest     the same plus an FNV-1a digest of every frame's bytes
//   edgeid-bench-floor FILE --macs       sorted distinct unicast Ethernet source MACs, one a line
//   --count N                            stop after N packets (any mode)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include <pcap/pcap.h>

namespace {

int usage() {
  std::fputs("usage: edgeid-bench-floor FILE [--digest | --macs] [--count N]\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  bool digest = false;
  bool macs = false;
  std::uint64_t limit = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--digest") {
      digest = true;
    } else if (arg == "--macs") {
      macs = true;
    } else if (arg == "--count" && i + 1 < argc) {
      char* end = nullptr;
      limit = std::strtoull(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0') return usage();
    } else if (!arg.empty() && arg[0] != '-' && path == nullptr) {
      path = argv[i];
    } else {
      return usage();
    }
  }
  if (path == nullptr || (digest && macs)) return usage();

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(path, errbuf);
  if (pcap == nullptr) {
    std::fprintf(stderr, "edgeid-bench-floor: %s\n", errbuf);
    return 1;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  int rc = 0;
  // Three loops rather than one with flags: the floor loop must stay exactly "read and count".
  if (digest) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    while ((limit == 0 || packets < limit) && (rc = pcap_next_ex(pcap, &header, &data)) == 1) {
      ++packets;
      bytes += header->caplen;
      for (int shift = 0; shift < 32; shift += 8) {
        h = (h ^ ((header->caplen >> shift) & 0xff)) * 0x100000001b3ULL;
      }
      for (bpf_u_int32 i = 0; i < header->caplen; ++i) h = (h ^ data[i]) * 0x100000001b3ULL;
    }
    if (rc != PCAP_ERROR) {
      std::printf("packets=%llu bytes=%llu digest=%016llx\n",
                  static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
                  static_cast<unsigned long long>(h));
    }
  } else if (macs) {
    std::set<std::string> seen;
    char text[18];
    while ((limit == 0 || packets < limit) && (rc = pcap_next_ex(pcap, &header, &data)) == 1) {
      ++packets;
      if (header->caplen < 12 || (data[6] & 0x01) != 0) continue;
      std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", data[6], data[7], data[8],
                    data[9], data[10], data[11]);
      seen.emplace(text);
    }
    if (rc != PCAP_ERROR) {
      for (const auto& m : seen) std::printf("%s\n", m.c_str());
    }
  } else {
    while ((limit == 0 || packets < limit) && (rc = pcap_next_ex(pcap, &header, &data)) == 1) {
      ++packets;
      bytes += header->caplen;
    }
    if (rc != PCAP_ERROR) {
      std::printf("packets=%llu bytes=%llu\n", static_cast<unsigned long long>(packets),
                  static_cast<unsigned long long>(bytes));
    }
  }
  if (rc == PCAP_ERROR) {
    std::fprintf(stderr, "edgeid-bench-floor: %s: %s\n", path, pcap_geterr(pcap));
    pcap_close(pcap);
    return 1;
  }
  pcap_close(pcap);
  return 0;
}
