// edgeid-gen-capture: writes a deterministic synthetic capture of a branch LAN as seen on a trunk
// port, plus a truth table of what every device in it announces, so that tests and benchmarks can
// check what `edgeid ingest` learns.
//
// The same arguments give the same bytes on every platform: the random generator and every draw
// from it use integer arithmetic only (std:: distributions are implementation-defined), all
// multi-byte fields are written with explicit byte order, and no output path or wall-clock time
// enters either file.
//
// Topology. Segment 0 is the untagged native VLAN (switch management, a few hosts); segments 1..N
// are 802.1Q VLANs, the last sixth of them (at least one from 3 up) carried QinQ (an 802.1ad
// S-tag outside). Router 0 is
// the branch gateway and DHCP server: one MAC on every segment, the .1 of each 10.<seg>.0.0/16 and
// 2001:db8:0:<seg>::/64, it sends the RAs and forwards Internet traffic, so its MAC sources many
// off-link addresses. Routers 1.. are L3 access switches on the transit segment that relay DHCP
// for remote subnets (their clients are known only by chaddr) and forward those clients' traffic.
// Switches send LLDP (and CDP if Cisco). Hosts follow personas (Windows, macOS, iOS, Android,
// Linux, printers, IoT, static servers) with the DHCP fingerprints, names, IPv6 and multicast
// announcements typical of each.

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

using Mac = std::array<std::uint8_t, 6>;
using Ipv6 = std::array<std::uint8_t, 16>;

constexpr std::string_view kTruthVersion = "1";
constexpr std::size_t kMaxFrame = 1514;  // Ethernet without FCS, tags included
constexpr std::uint32_t kNoDevice = UINT32_MAX;
constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::string_view kDomain = "corp.example.com";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Randomness

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256**. Bounded draws use rejection so that they are exact and portable.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t s = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (auto& w : s_) w = splitmix64(s);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x = next();
    while (x >= limit) x = next();
    return x % n;
  }
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  // An index into a container of n > 0 elements (size_t is 32 bits on armhf).
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(below(n)); }
  bool percent(std::uint64_t p) { return below(100) < p; }
  template <class T>
  const T& pick(std::span<const T> items) {
    return items[index(items.size())];
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t s = a * 0x9e3779b97f4a7c15ULL + b;
  return splitmix64(s);
}

// ---------------------------------------------------------------------------------------------
// Vendors. Real IEEE MA-L assignments (checked against ieee-data's oui.csv), grouped the way the
// personas below use them.

struct Oui {
  std::uint32_t prefix;
  std::string_view org;
};

constexpr Oui kOuiApple[] = {{0x608B0E, "Apple, Inc."},
                             {0x88B291, "Apple, Inc."},
                             {0xF40616, "Apple, Inc."},
                             {0x3C22FB, "Apple, Inc."},
                             {0xD83062, "Apple, Inc."}};
constexpr Oui kOuiPcDesktop[] = {{0x98E743, "Dell Inc."},
                                 {0xC8F750, "Dell Inc."},
                                 {0x9C7BEF, "Hewlett Packard"},
                                 {0x10E7C6, "Hewlett Packard"},
                                 {0xE86A64, "LCFC(HeFei) Electronics Technology co., ltd"},
                                 {0x049226, "ASUSTek COMPUTER INC."}};
constexpr Oui kOuiPcLaptop[] = {{0xACED5C, "Intel Corporate"},
                                {0x34F64B, "Intel Corporate"},
                                {0x9061AE, "Intel Corporate"},
                                {0xDCF505, "AzureWave Technology Inc."},
                                {0x902E16, "LCFC(HeFei) Electronics Technology co., ltd"},
                                {0x70BC10, "Microsoft Corporation"}};
constexpr Oui kOuiSamsung[] = {{0xA4D990, "Samsung Electronics Co.,Ltd"},
                               {0x8C79F5, "Samsung Electronics Co.,Ltd"}};
constexpr Oui kOuiAndroidOther[] = {{0x3C5AB4, "Google, Inc."},
                                    {0xF4F5E8, "Google, Inc."},
                                    {0xA44519, "Xiaomi Communications Co Ltd"},
                                    {0x2446C8, "Motorola Mobility LLC, a Lenovo Company"},
                                    {0x5C17CF, "OnePlus Technology (Shenzhen) Co., Ltd"},
                                    {0x30FBB8, "HUAWEI TECHNOLOGIES CO.,LTD"}};
constexpr Oui kOuiLinuxBox[] = {{0x00DBDF, "Intel Corporate"},
                                {0xDCA632, "Raspberry Pi Trading Ltd"},
                                {0xE45F01, "Raspberry Pi Trading Ltd"},
                                {0xB827EB, "Raspberry Pi Foundation"},
                                {0x98E743, "Dell Inc."}};
constexpr Oui kOuiHpPrinter[] = {{0x9C7BEF, "Hewlett Packard"}, {0x10E7C6, "Hewlett Packard"}};
constexpr Oui kOuiOtherPrinter[] = {{0x008077, "Brother industries, LTD."},
                                    {0x30055C, "Brother industries, LTD."},
                                    {0x64EB8C, "Seiko Epson Corporation"},
                                    {0x381A52, "Seiko Epson Corporation"}};
constexpr Oui kOuiEsp[] = {
    {0x246F28, "Espressif Inc."}, {0x240AC4, "Espressif Inc."}, {0x1C90FF, "Tuya Smart Inc."}};
constexpr Oui kOuiSonos[] = {{0x542A1B, "Sonos, Inc."}, {0x347E5C, "Sonos, Inc."}};
constexpr Oui kOuiAmazon[] = {{0x68DBF5, "Amazon Technologies Inc."}};
constexpr Oui kOuiNest[] = {{0x641666, "Nest Labs Inc."}, {0x18B430, "Nest Labs Inc."}};
constexpr Oui kOuiServer[] = {{0x0CC47A, "Super Micro Computer, Inc."},
                              {0xAC1F6B, "Super Micro Computer, Inc."},
                              {0x005056, "VMware, Inc."},
                              {0x001132, "Synology Incorporated"},
                              {0xC8F750, "Dell Inc."}};
constexpr Oui kOuiRouter[] = {{0xAC712E, "Fortinet, Inc."},
                              {0x085B0E, "Fortinet, Inc."},
                              {0xD4F4BE, "Palo Alto Networks"},
                              {0x94F7AD, "Juniper Networks"},
                              {0x6C5E3B, "Cisco Systems, Inc"}};
constexpr Oui kOuiCiscoSwitch[] = {{0xF4BD9E, "Cisco Systems, Inc"},
                                   {0x00EEAB, "Cisco Systems, Inc"},
                                   {0x001B54, "Cisco Systems, Inc"}};
constexpr Oui kOuiArubaSwitch[] = {{0x883A30, "Aruba, a Hewlett Packard Enterprise Company"},
                                   {0x000B86, "Aruba, a Hewlett Packard Enterprise Company"}};
constexpr Oui kOuiJuniperSwitch[] = {{0x44ECCE, "Juniper Networks"}};
constexpr Oui kOuiUbiquitiSwitch[] = {{0x24A43C, "Ubiquiti Networks Inc."},
                                      {0x784558, "Ubiquiti Networks Inc."}};

// A random MA-L row of ieee-data's oui.csv, for the long tail of vendors (--oui-csv).
struct RegistryRow {
  std::uint32_t prefix;
  std::string org;
};

// RFC 4180-style reader: quoted fields may hold commas and doubled quotes; CRLF line ends.
std::vector<RegistryRow> read_oui_csv(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw UsageError("cannot open --oui-csv " + path + ": " + std::strerror(errno));
  std::string text;
  std::array<char, 65536> chunk{};
  for (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get()); n > 0;
       n = std::fread(chunk.data(), 1, chunk.size(), file.get())) {
    text.append(chunk.data(), n);
  }
  std::vector<RegistryRow> rows;
  std::vector<std::string> fields(1);
  bool quoted = false;
  bool header = true;
  auto end_row = [&] {
    if (header) {
      header = false;
    } else if (fields.size() >= 3 && fields[1].size() == 6) {
      std::uint32_t prefix = 0;
      const auto* first = fields[1].data();
      auto [ptr, ec] = std::from_chars(first, first + 6, prefix, 16);
      const std::string& org = fields[2];
      // Skip group and locally administered prefixes (a few legacy ones exist), the blocks that
      // IEEE subdivides into MA-M/MA-S (their owner is not the prefix's), and "Private".
      if (ec == std::errc() && ptr == first + 6 && ((prefix >> 16) & 0x03) == 0 &&
          org != "IEEE Registration Authority" && org != "Private" && !org.empty()) {
        std::string clean;
        for (char c : org) clean += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
        rows.push_back({prefix, std::move(clean)});
      }
    }
    fields.assign(1, std::string());
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      end_row();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (fields.size() > 1) end_row();
  if (rows.empty()) throw UsageError("--oui-csv " + path + " has no usable MA-L rows");
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Personas: what a kind of device says on the wire.

enum class Role : std::uint8_t { kRouter, kSwitch, kHost, kRemote };

enum class NameStyle : std::uint8_t {
  kNone,
  kDesktop,
  kLaptop,
  kMac,
  kIphone,
  kAndroid,
  kLinux,
  kHpPrinter,
  kBrother,
  kEsp,
  kSonos,
  kAmazon,
  kNest,
};

enum class ArpStyle : std::uint8_t { kNone, kGratuitous, kProbeAnnounce };
enum class Fqdn : std::uint8_t { kNone, kAscii, kWire };

constexpr std::uint8_t kPrlWindows[] = {1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252};
constexpr std::uint8_t kPrlMacos[] = {1, 121, 3, 6, 15, 108, 114, 119, 252, 95, 44, 46};
constexpr std::uint8_t kPrlIos[] = {1, 121, 3, 6, 15, 108, 114, 119, 252};
constexpr std::uint8_t kPrlAndroid[] = {1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114, 108};
constexpr std::uint8_t kPrlDhclient[] = {1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42};
constexpr std::uint8_t kPrlJetDirect[] = {1, 3, 44, 6, 7, 12, 15, 22, 54, 58, 59, 69, 18, 144};
constexpr std::uint8_t kPrlPrinter[] = {1, 3, 6, 15, 44, 46, 47, 12, 81};
constexpr std::uint8_t kPrlLwip[] = {1, 3, 28, 6};
constexpr std::uint8_t kPrlUdhcp[] = {1, 3, 6, 12, 15, 28, 42};
constexpr std::uint8_t kPrlDhcpcd[] = {1, 121, 33, 3, 6, 12, 15, 26, 28, 51, 54, 58, 59, 119};

// One row per kind of host. The fields are what that OS/firmware does on the wire; defaults are
// "does not".
struct Persona {
  std::string_view name{};
  unsigned weight = 0;  // share of local hosts, in percent
  std::span<const Oui> ouis{};
  bool registry_tail = false;  // may draw its vendor from --oui-csv instead
  bool randomizable = false;   // modern phone/laptop OS: may use a locally administered MAC
  NameStyle names = NameStyle::kNone;
  bool dhcp = true;  // false: static address
  std::span<const std::uint8_t> prl{};
  std::string_view vendor_class{};  // option 60, "" = not sent
  bool client_id = false;           // option 61 = 01 + MAC
  bool max_size = false;            // option 57
  Fqdn fqdn = Fqdn::kNone;          // option 81 (when domain-joined)
  bool broadcast_flag = false;
  ArpStyle arp = ArpStyle::kNone;
  bool ipv6 = false;
  bool dhcpv6 = false;
  bool mdns = false;
  std::string_view mdns_service{};  // DNS-SD service type announced
  std::uint16_t mdns_port = 0;
  bool nbns = false;
  std::uint8_t ttl = 64;
};

const Persona kPersonas[] = {
    {.name = "windows",
     .weight = 18,
     .ouis = kOuiPcDesktop,
     .randomizable = true,
     .names = NameStyle::kDesktop,
     .prl = kPrlWindows,
     .vendor_class = "MSFT 5.0",
     .client_id = true,
     .fqdn = Fqdn::kAscii,
     .arp = ArpStyle::kGratuitous,
     .ipv6 = true,
     .dhcpv6 = true,
     .nbns = true,
     .ttl = 128},
    {.name = "windows",
     .weight = 16,
     .ouis = kOuiPcLaptop,
     .randomizable = true,
     .names = NameStyle::kLaptop,
     .prl = kPrlWindows,
     .vendor_class = "MSFT 5.0",
     .client_id = true,
     .fqdn = Fqdn::kAscii,
     .arp = ArpStyle::kGratuitous,
     .ipv6 = true,
     .dhcpv6 = true,
     .nbns = true,
     .ttl = 128},
    {.name = "macos",
     .weight = 9,
     .ouis = kOuiApple,
     .randomizable = true,
     .names = NameStyle::kMac,
     .prl = kPrlMacos,
     .client_id = true,
     .max_size = true,
     .arp = ArpStyle::kProbeAnnounce,
     .ipv6 = true,
     .mdns = true,
     .mdns_service = "_companion-link._tcp",
     .mdns_port = 49153},
    {.name = "ios",
     .weight = 12,
     .ouis = kOuiApple,
     .randomizable = true,
     .names = NameStyle::kIphone,
     .prl = kPrlIos,
     .client_id = true,
     .max_size = true,
     .arp = ArpStyle::kProbeAnnounce,
     .ipv6 = true,
     .mdns = true,
     .mdns_service = "_companion-link._tcp",
     .mdns_port = 49152},
    {.name = "android",
     .weight = 8,
     .ouis = kOuiSamsung,
     .randomizable = true,
     .names = NameStyle::kAndroid,
     .prl = kPrlAndroid,
     .vendor_class = "android-dhcp-13",
     .client_id = true,
     .max_size = true,
     .broadcast_flag = true,
     .arp = ArpStyle::kProbeAnnounce,
     .ipv6 = true},
    {.name = "android",
     .weight = 7,
     .ouis = kOuiAndroidOther,
     .randomizable = true,
     .names = NameStyle::kAndroid,
     .prl = kPrlAndroid,
     .vendor_class = "android-dhcp-14",
     .client_id = true,
     .max_size = true,
     .broadcast_flag = true,
     .arp = ArpStyle::kProbeAnnounce,
     .ipv6 = true},
    {.name = "linux",
     .weight = 7,
     .ouis = kOuiLinuxBox,
     .registry_tail = true,
     .names = NameStyle::kLinux,
     .prl = kPrlDhclient,
     .fqdn = Fqdn::kWire,
     .ipv6 = true,
     .dhcpv6 = true,
     .mdns = true,
     .mdns_service = "_workstation._tcp",
     .mdns_port = 9},
    {.name = "printer",
     .weight = 2,
     .ouis = kOuiHpPrinter,
     .names = NameStyle::kHpPrinter,
     .prl = kPrlJetDirect,
     .vendor_class = "Hewlett-Packard JetDirect",
     .arp = ArpStyle::kGratuitous,
     .mdns = true,
     .mdns_service = "_ipp._tcp",
     .mdns_port = 631},
    {.name = "printer",
     .weight = 2,
     .ouis = kOuiOtherPrinter,
     .names = NameStyle::kBrother,
     .prl = kPrlPrinter,
     .arp = ArpStyle::kGratuitous,
     .mdns = true,
     .mdns_service = "_ipp._tcp",
     .mdns_port = 631},
    {.name = "iot",
     .weight = 5,
     .ouis = kOuiEsp,
     .registry_tail = true,
     .names = NameStyle::kEsp,
     .prl = kPrlLwip,
     .ttl = 255},
    {.name = "iot",
     .weight = 2,
     .ouis = kOuiSonos,
     .names = NameStyle::kSonos,
     .prl = kPrlUdhcp,
     .ipv6 = true,
     .mdns = true,
     .mdns_service = "_sonos._tcp",
     .mdns_port = 1443},
    {.name = "iot",
     .weight = 2,
     .ouis = kOuiAmazon,
     .names = NameStyle::kAmazon,
     .prl = kPrlUdhcp,
     .vendor_class = "udhcp 1.29.3",
     .ipv6 = true},
    {.name = "iot",
     .weight = 2,
     .ouis = kOuiNest,
     .names = NameStyle::kNest,
     .prl = kPrlDhcpcd,
     .vendor_class = "dhcpcd-9.4.1:Linux-5.10.43:armv7l:Google",
     .client_id = true,
     .arp = ArpStyle::kProbeAnnounce,
     .ipv6 = true,
     .mdns = true,
     .mdns_service = "_googlecast._tcp",
     .mdns_port = 8009},
    {.name = "server",
     .weight = 8,
     .ouis = kOuiServer,
     .registry_tail = true,
     .dhcp = false,
     .arp = ArpStyle::kGratuitous,
     .ipv6 = true},
};

struct SwitchKind {
  std::span<const Oui> ouis;
  bool cdp;
  std::string_view description;
  std::string_view port_prefix;
};

const SwitchKind kSwitchKinds[] = {
    {kOuiCiscoSwitch, true,
     "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE "
     "SOFTWARE (fc1)",
     "GigabitEthernet1/0/"},
    {kOuiArubaSwitch, false, "Aruba JL256A 2930F-48G-PoE+-4SFP+ Switch, revision WC.16.11.0012",
     "1/1/"},
    {kOuiJuniperSwitch, false,
     "Juniper Networks, Inc. ex2300-48p Ethernet Switch, kernel JUNOS 21.4R3-S4.9", "ge-0/0/"},
    {kOuiUbiquitiSwitch, false, "USW-Pro-48-PoE, 6.6.61.15220, Linux 3.6.5", "Port "},
};

constexpr std::string_view kFirstNames[] = {
    "Alice", "Bob",   "Carol",  "David", "Emma",  "Frank", "Grace", "Hannah", "Ivan",  "Julia",
    "Karim", "Laura", "Miguel", "Nina",  "Oscar", "Paula", "Quinn", "Rosa",   "Sam",   "Tara",
    "Umar",  "Vera",  "Walter", "Xenia", "Yusuf", "Zoe",   "Anna",  "Ben",    "Chloe", "Dmitri",
    "Elena", "Felix", "Ines",   "Jonas", "Kenji", "Lea",   "Mateo", "Noor",   "Olga",  "Pedro"};
constexpr std::string_view kAndroidModels[] = {
    "Galaxy-S23",    "Galaxy-A54",   "Galaxy-S21-FE", "Pixel-7",    "Pixel-8-Pro",
    "Redmi-Note-12", "moto-g-power", "OnePlus-11",    "HUAWEI-P30", "Galaxy-Tab-S8"};

// ---------------------------------------------------------------------------------------------
// Network model

struct Segment {
  std::uint16_t outer = 0;  // 802.1ad S-tag VID, 0 = none
  std::uint16_t vid = 0;    // 802.1Q VID, 0 = untagged
  std::uint32_t net = 0;    // 10.<n>.0.0/16
  std::uint8_t index = 0;
  std::string label;  // "-", "20", "3000.40" (outermost first)
  std::size_t tag_bytes() const { return (outer ? 4 : 0) + (vid ? 4 : 0); }
};

struct Facts {
  std::set<std::uint8_t> vlans;  // segment indices
  std::set<std::uint32_t> ipv4;
  std::set<Ipv6> ipv6;
  std::map<std::string, std::string> names;  // source -> first name seen
  std::set<std::string> sources;
  std::string vendor_class, prl, client_id, duid;
  std::unordered_set<std::uint64_t> routed;  // off-link source addresses it forwarded
  std::uint64_t frames = 0, bytes = 0;
};

struct Device {
  Mac mac{};
  Role role = Role::kHost;
  const Persona* persona = nullptr;
  const SwitchKind* switch_kind = nullptr;
  std::string vendor;  // MA-L organisation, "" when randomized
  bool randomized = false;
  std::uint16_t segment = 0;        // home segment (remote clients: their relay's transit segment)
  std::uint32_t relay = kNoDevice;  // remote clients: device index of their relay router
  std::uint32_t ipv4 = 0;
  Ipv6 ll{}, global{}, dhcp6{};
  Mac duid_mac{};  // the MAC inside the DHCPv6 DUID-LLT (the permanent one)
  std::uint32_t duid_time = 0;
  std::string hostname;
  bool has_fqdn = false;  // domain-joined: sends option 81 / DHCPv6 FQDN with the domain
  bool joins = false;     // does DHCP/NDP during the capture (else it was already up)
  bool init_reboot = false;
  bool has_name = false;  // announces a DHCP hostname
  std::uint32_t xid = 0;
  std::uint16_t mdns_port = 0;
  Facts facts;
};

// Script actions: everything that is not bulk traffic, scheduled per device.
enum class Act : std::uint8_t {
  kDhcpDiscover,
  kDhcpOffer,
  kDhcpRequest,
  kDhcpAck,
  kRelayDiscover,
  kRelayOffer,
  kRelayRequest,
  kRelayAck,
  kArpProbe,
  kArpAnnounce,
  kArpAskGateway,
  kArpGatewayReply,
  kArpRouterAsks,
  kArpHostReply,
  kArpRelayAsks,
  kArpRelayReply,
  kNsDadLinkLocal,
  kRs,
  kRa,
  kNsDadGlobal,
  kNsRouter,
  kNaHost,
  kDhcp6Solicit,
  kDhcp6Advertise,
  kDhcp6Request,
  kDhcp6Reply,
  kMdnsAnnounce4,
  kMdnsAnnounce6,
  kNbnsRegister,
  kLldp,
  kCdp,
};

struct Item {
  std::uint64_t slot;
  std::uint32_t seq;  // creation order: ties break deterministically
  std::uint32_t device;
  Act act;
  bool activates;  // the device may send bulk traffic once this item is out
  std::uint16_t aux;
};

// ---------------------------------------------------------------------------------------------
// Bytes

class Frame {
 public:
  void clear() { len_ = 0; }
  std::size_t size() const { return len_; }
  const std::uint8_t* data() const { return buf_.data(); }
  std::uint8_t* at(std::size_t off) { return buf_.data() + off; }

  void u8(unsigned v) {
    check(1);
    buf_[len_++] = static_cast<std::uint8_t>(v);
  }
  void u16(unsigned v) {
    u8((v >> 8) & 0xff);
    u8(v & 0xff);
  }
  void u32(std::uint32_t v) {
    u16(v >> 16);
    u16(v & 0xffff);
  }
  void bytes(std::span<const std::uint8_t> b) {
    check(b.size());
    std::memcpy(buf_.data() + len_, b.data(), b.size());
    len_ += b.size();
  }
  void str(std::string_view s) {
    check(s.size());
    std::memcpy(buf_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void zeros(std::size_t n) {
    check(n);
    std::memset(buf_.data() + len_, 0, n);
    len_ += n;
  }
  void random(std::size_t n, Rng& rng) {
    check(n);
    // Byte by byte from each word, so the payload does not depend on the host's byte order.
    std::uint8_t* out = buf_.data() + len_;
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t w = rng.next();
      const std::size_t k = std::min<std::size_t>(8, n - i);
      for (std::size_t j = 0; j < k; ++j) out[i + j] = static_cast<std::uint8_t>(w >> (8 * j));
    }
    len_ += n;
  }
  void set16(std::size_t off, unsigned v) {
    buf_[off] = static_cast<std::uint8_t>((v >> 8) & 0xff);
    buf_[off + 1] = static_cast<std::uint8_t>(v & 0xff);
  }
  void set8(std::size_t off, unsigned v) { buf_[off] = static_cast<std::uint8_t>(v & 0xff); }

 private:
  void check(std::size_t n) const {
    if (len_ + n > buf_.size()) throw std::logic_error("frame buffer overflow");
  }
  std::array<std::uint8_t, 2048> buf_{};
  std::size_t len_ = 0;
};

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc) {
  std::uint64_t s = acc;
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) s += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (i < n) s += static_cast<std::uint32_t>(p[i] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint32_t>(s);
}

unsigned fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return ~acc & 0xffff;
}

class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path)
      : file_(std::fopen(path.c_str(), "wb"), &std::fclose) {
    if (!file_) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
    path_ = path;
    // Classic pcap, little-endian, microsecond timestamps, LINKTYPE_ETHERNET.
    put32(0xa1b2c3d4);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(65535);
    put32(1);
  }

  void write(std::uint64_t ts_us, const std::uint8_t* data, std::size_t len) {
    put32(static_cast<std::uint32_t>(ts_us / 1000000));
    put32(static_cast<std::uint32_t>(ts_us % 1000000));
    put32(static_cast<std::uint32_t>(len));
    put32(static_cast<std::uint32_t>(len));
    if (std::fwrite(data, 1, len, file_.get()) != len) fail();
  }

  void close() {
    if (std::fflush(file_.get()) != 0) fail();
    if (std::fclose(file_.release()) != 0) fail();
  }

 private:
  void put16(unsigned v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v & 0xff),
                               static_cast<std::uint8_t>((v >> 8) & 0xff)};
    if (std::fwrite(b, 1, 2, file_.get()) != 2) fail();
  }
  void put32(std::uint32_t v) {
    put16(v & 0xffff);
    put16(v >> 16);
  }
  [[noreturn]] void fail() const {
    throw std::runtime_error("write to " + path_ + " failed: " + std::strerror(errno));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Text helpers for the truth table

std::string mac_text(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::string ipv4_text(std::uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                a & 0xff);
  return buf;
}

std::string ipv6_text(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, a.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

std::string hex_colon(std::span<const std::uint8_t> b) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? ":%02x" : "%02x", b[i]);
    out += buf;
  }
  return out;
}

std::string hex_plain(std::span<const std::uint8_t> b) {
  std::string out;
  char buf[3];
  for (auto v : b) {
    std::snprintf(buf, sizeof buf, "%02x", v);
    out += buf;
  }
  return out;
}

std::string prl_text(std::span<const std::uint8_t> prl) {
  std::string out;
  for (std::size_t i = 0; i < prl.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(prl[i]);
  }
  return out;
}

bool is_zero(const Ipv6& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

std::uint64_t ipv6_key(const Ipv6& a) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (auto b : a) h = (h ^ b) * 0x100000001b3ULL;
  return h | (1ULL << 63);
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::uint64_t seed = 1;
  std::uint64_t packets = 100000;
  std::uint32_t macs = 2000;
  std::uint32_t vlans = 4;
  std::int64_t routers = -1;   // -1: derived from macs
  std::int64_t switches = -1;  // -1: derived from macs
  std::uint32_t randomized_pct = 14;
  std::uint64_t duration_s = 300;
  std::uint64_t start = 1795460400;  // 2026-11-23T19:00:00Z
  std::string out;
  std::string truth;
  std::string oui_csv;
};

constexpr std::string_view kUsage =
    "usage: edgeid-gen-capture --out FILE.pcap [options]\n"
    "\n"
    "Writes a deterministic synthetic trunk-port capture (classic pcap, Ethernet) and a truth\n"
    "table (TSV) of every device in it. Same options, same bytes.\n"
    "\n"
    "  --out FILE          capture to write (required)\n"
    "  --truth FILE        truth table (default: FILE with .pcap replaced by .truth.tsv)\n"
    "  --seed N            random seed (default 1)\n"
    "  --packets N         number of frames (default 100000)\n"
    "  --macs N            number of devices (MACs) in the truth table (default 2000)\n"
    "  --vlans N           tagged VLANs besides the untagged native one, 0..190 (default 4);\n"
    "                      the last sixth of them (at least one from 3 up) are QinQ\n"
    "  --routers N         routers, >= 1: the gateway plus DHCP relays (default 1 + macs/8000)\n"
    "  --switches N        switches sending LLDP/CDP (default 1, or macs/400 up to 64)\n"
    "  --randomized-pct N  share of devices with a randomized MAC, in percent (default 14)\n"
    "  --duration S        capture length in seconds (default 300)\n"
    "  --start EPOCH       first timestamp, Unix seconds (default 1795460400 = 2026-11-23 19:00Z)\n"
    "  --oui-csv FILE      also draw vendors from an IEEE oui.csv (e.g. /usr/share/ieee-data/"
    "oui.csv);\n"
    "                      the output then depends on that file's contents\n";

std::uint64_t parse_number(std::string_view name, std::string_view text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw UsageError("option " + std::string(name) + " needs a number, got '" + std::string(text) +
                     "'");
  }
  return v;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage.data(), stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) throw UsageError("option " + std::string(arg) + " needs a value");
    const std::string_view val = argv[++i];
    if (arg == "--out") {
      o.out = val;
    } else if (arg == "--truth") {
      o.truth = val;
    } else if (arg == "--oui-csv") {
      o.oui_csv = val;
    } else if (arg == "--seed") {
      o.seed = parse_number(arg, val);
    } else if (arg == "--packets") {
      o.packets = parse_number(arg, val);
    } else if (arg == "--macs") {
      o.macs =
          static_cast<std::uint32_t>(std::min<std::uint64_t>(parse_number(arg, val), 1u << 24));
    } else if (arg == "--vlans") {
      o.vlans = static_cast<std::uint32_t>(std::min<std::uint64_t>(parse_number(arg, val), 1000));
    } else if (arg == "--routers") {
      o.routers = static_cast<std::int64_t>(std::min<std::uint64_t>(parse_number(arg, val), 1000));
    } else if (arg == "--switches") {
      o.switches = static_cast<std::int64_t>(std::min<std::uint64_t>(parse_number(arg, val), 1000));
    } else if (arg == "--randomized-pct") {
      o.randomized_pct =
          static_cast<std::uint32_t>(std::min<std::uint64_t>(parse_number(arg, val), 1000));
    } else if (arg == "--duration") {
      o.duration_s = parse_number(arg, val);
    } else if (arg == "--start") {
      o.start = parse_number(arg, val);
    } else {
      throw UsageError("unknown option '" + std::string(arg) + "' (see --help)");
    }
  }
  if (o.out.empty()) throw UsageError("--out FILE is required (see --help)");
  if (o.truth.empty()) {
    o.truth = o.out;
    if (o.truth.size() > 5 && o.truth.ends_with(".pcap")) o.truth.resize(o.truth.size() - 5);
    o.truth += ".truth.tsv";
  }
  if (o.vlans > 190) throw UsageError("--vlans must be at most 190");
  if (o.routers == -1) o.routers = 1 + o.macs / 8000;
  if (o.switches == -1) o.switches = o.macs < 800 ? 1 : std::min<std::int64_t>(64, o.macs / 400);
  if (o.routers < 1) throw UsageError("--routers must be at least 1 (the gateway)");
  if (o.routers > 50) throw UsageError("--routers must be at most 50");
  if (o.randomized_pct > 100) throw UsageError("--randomized-pct must be at most 100");
  if (o.duration_s == 0 || o.duration_s > std::uint64_t{86400} * 365) {
    throw UsageError("--duration out of range");
  }
  if (o.start > 4000000000ULL) throw UsageError("--start must fit a 32-bit pcap timestamp");
  return o;
}

// ---------------------------------------------------------------------------------------------
// The generator

class Generator {
 public:
  explicit Generator(const Options& o)
      : o_(o),
        device_rng_(o.seed, 1),
        schedule_rng_(o.seed, 2),
        traffic_rng_(o.seed, 3),
        payload_rng_(o.seed, 4) {}

  void run() {
    if (!o_.oui_csv.empty()) registry_ = read_oui_csv(o_.oui_csv);
    build_segments();
    build_devices();
    schedule();
    PcapWriter writer(o_.out);
    writer_ = &writer;
    emit_all();
    writer.close();
    write_truth();
    report();
  }

 private:
  // -- model ----------------------------------------------------------------------------------

  void build_segments() {
    const unsigned k = o_.vlans;
    const unsigned qinq = k >= 3 ? std::max(1u, k / 6) : 0;
    for (unsigned i = 0; i <= k; ++i) {
      Segment s;
      s.index = static_cast<std::uint8_t>(i);
      s.net = (10u << 24) | (i << 16);
      if (i > 0) s.vid = static_cast<std::uint16_t>(10 * i);
      if (i > 0 && i > k - qinq) s.outer = static_cast<std::uint16_t>(3000 + (i - (k - qinq) - 1));
      s.label = s.vid == 0 ? "-"
                : s.outer  ? std::to_string(s.outer) + "." + std::to_string(s.vid)
                           : std::to_string(s.vid);
      segments_.push_back(std::move(s));
    }
    transit_ = segments_.size() > 1 ? 1 : 0;
  }

  Mac fresh_mac(std::uint32_t prefix, bool randomized) {
    for (;;) {
      const std::uint64_t r = device_rng_.next();
      Mac m{};
      if (randomized) {
        for (int i = 0; i < 6; ++i) m[i] = static_cast<std::uint8_t>(r >> (8 * i));
        m[0] = static_cast<std::uint8_t>((m[0] & 0xfc) | 0x02);  // unicast, locally administered
      } else {
        m[0] = static_cast<std::uint8_t>(prefix >> 16);
        m[1] = static_cast<std::uint8_t>(prefix >> 8);
        m[2] = static_cast<std::uint8_t>(prefix);
        m[3] = static_cast<std::uint8_t>(r);
        m[4] = static_cast<std::uint8_t>(r >> 8);
        m[5] = static_cast<std::uint8_t>(r >> 16);
      }
      std::uint64_t key = 0;
      for (auto b : m) key = key << 8 | b;
      if (used_macs_.insert(key).second) return m;
    }
  }

  void assign_vendor(Device& d, std::span<const Oui> ouis, bool tail) {
    if (tail && !registry_.empty() && device_rng_.percent(25)) {
      const auto& row = registry_[device_rng_.index(registry_.size())];
      d.vendor = row.org;
      d.mac = fresh_mac(row.prefix, false);
      return;
    }
    const Oui& oui = device_rng_.pick(ouis);
    d.vendor = std::string(oui.org);
    d.mac = fresh_mac(oui.prefix, false);
  }

  std::string unique_name(std::string name) {
    if (used_names_.insert(name).second) return name;
    for (unsigned n = 2;; ++n) {
      std::string candidate = name + "-" + std::to_string(n);
      if (used_names_.insert(candidate).second) return candidate;
    }
  }

  std::string random_chars(std::size_t n, std::string_view alphabet) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[device_rng_.index(alphabet.size())];
    return s;
  }

  std::string make_hostname(const Device& d) {
    static constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static constexpr std::string_view kHexLower = "0123456789abcdef";
    const std::string_view first = device_rng_.pick(std::span<const std::string_view>(kFirstNames));
    char tail[16];
    std::snprintf(tail, sizeof tail, "%02X%02X%02X", d.mac[3], d.mac[4], d.mac[5]);
    switch (d.persona->names) {
      case NameStyle::kNone: return "";
      case NameStyle::kDesktop: return "DESKTOP-" + random_chars(7, kUpperAlnum);
      case NameStyle::kLaptop: return "LAPTOP-" + random_chars(8, kUpperAlnum);
      case NameStyle::kMac:
        return unique_name(std::string(first) + "s-MacBook-" +
                           (device_rng_.percent(50) ? "Pro" : "Air"));
      case NameStyle::kIphone:
        return unique_name(std::string(first) + "s-" +
                           (device_rng_.percent(80) ? "iPhone" : "iPad"));
      case NameStyle::kAndroid:
        return std::string(device_rng_.pick(std::span<const std::string_view>(kAndroidModels)));
      case NameStyle::kLinux:
        return device_rng_.percent(40) ? unique_name("raspberrypi")
                                       : "ubuntu-" + random_chars(4, kHexLower);
      case NameStyle::kHpPrinter: return std::string("NPI") + tail;
      case NameStyle::kBrother: return "BRW" + mac_hex_upper(d.mac);
      case NameStyle::kEsp: return std::string("ESP_") + tail;
      case NameStyle::kSonos: return "SonosZP";
      case NameStyle::kAmazon: return "amazon-" + random_chars(9, kHexLower);
      case NameStyle::kNest: return "Google-Nest-Mini";
    }
    return "";
  }

  static std::string mac_hex_upper(const Mac& m) {
    char buf[13];
    std::snprintf(buf, sizeof buf, "%02X%02X%02X%02X%02X%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
  }

  static Ipv6 prefix6(unsigned seg) {
    Ipv6 a{};
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[6] = static_cast<std::uint8_t>(seg >> 8);
    a[7] = static_cast<std::uint8_t>(seg);
    return a;
  }

  static Ipv6 eui64(Ipv6 a, const Mac& m) {
    a[8] = static_cast<std::uint8_t>(m[0] ^ 0x02);
    a[9] = m[1];
    a[10] = m[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13] = m[3];
    a[14] = m[4];
    a[15] = m[5];
    return a;
  }

  static Ipv6 link_local_prefix() {
    Ipv6 a{};
    a[0] = 0xfe;
    a[1] = 0x80;
    return a;
  }

  Ipv6 random_iid(Ipv6 a) {
    const std::uint64_t r = device_rng_.next();
    for (int i = 0; i < 8; ++i) a[8 + i] = static_cast<std::uint8_t>(r >> (8 * i));
    a[8] &= 0xfd;  // universal/local bit clear, as RFC 7217 IIDs are
    return a;
  }

  void build_devices() {
    const std::uint32_t n = o_.macs;
    const auto routers = static_cast<std::uint32_t>(o_.routers);
    const auto switches = static_cast<std::uint32_t>(o_.switches);
    const std::uint32_t remote = routers > 1 ? n * 5 / 100 : 0;
    if (n < routers + switches + 1) {
      throw UsageError("--macs " + std::to_string(n) + " leaves no hosts after " +
                       std::to_string(routers) + " router(s) and " + std::to_string(switches) +
                       " switch(es)");
    }
    const std::uint32_t hosts = n - routers - switches - remote;

    // Routers: the gateway first.
    for (std::uint32_t r = 0; r < routers; ++r) {
      Device d;
      d.role = Role::kRouter;
      assign_vendor(d, kOuiRouter, false);
      d.segment = static_cast<std::uint16_t>(r == 0 ? 0 : transit_);
      d.ipv4 = segments_[d.segment].net | (r == 0 ? 1u : 1u + r);
      d.ll = eui64(link_local_prefix(), d.mac);
      d.hostname = r == 0 ? "fw-branch-01" : "l3-access-" + std::to_string(r);
      devices_.push_back(std::move(d));
    }
    for (std::uint32_t s = 0; s < switches; ++s) {
      Device d;
      d.role = Role::kSwitch;
      d.switch_kind = &kSwitchKinds[device_rng_.index(std::size(kSwitchKinds))];
      assign_vendor(d, d.switch_kind->ouis, false);
      d.segment = 0;
      d.ipv4 = (10u << 24) | (255u << 8) | (1 + s % 254) | ((s / 254) << 16);
      char name[32];
      std::snprintf(name, sizeof name, "sw-%s-%02u", s == 0 ? "core" : "access", s + 1);
      d.hostname = name;
      devices_.push_back(std::move(d));
    }

    // Hosts: persona by weight, segment by weight (the native VLAN gets a small share).
    unsigned total_weight = 0;
    for (const auto& p : kPersonas) total_weight += p.weight;
    std::vector<std::uint32_t> per_segment(segments_.size(), 0);
    std::vector<std::uint32_t> per_remote(routers, 0);
    for (std::uint32_t h = 0; h < hosts + remote; ++h) {
      Device d;
      const bool is_remote = h >= hosts;
      d.role = is_remote ? Role::kRemote : Role::kHost;
      std::uint64_t w = device_rng_.below(total_weight);
      for (const auto& p : kPersonas) {
        if (w < p.weight) {
          d.persona = &p;
          break;
        }
        w -= p.weight;
      }
      if (is_remote && !d.persona->dhcp) d.persona = &kPersonas[0];  // remote: DHCP clients only
      assign_vendor(d, d.persona->ouis, d.persona->registry_tail);
      std::uint32_t j = 0;
      if (is_remote) {
        d.relay = 1 + static_cast<std::uint32_t>(device_rng_.below(routers - 1));
        d.segment = static_cast<std::uint16_t>(transit_);
        j = per_remote[d.relay]++;
        d.ipv4 = (10u << 24) | ((200u + d.relay) << 16);
      } else {
        const std::uint64_t seg_weight = 1 + 4 * (segments_.size() - 1);
        const std::uint64_t pick = device_rng_.below(seg_weight);
        d.segment = static_cast<std::uint16_t>(pick == 0 ? 0 : 1 + (pick - 1) / 4);
        j = per_segment[d.segment]++;
        d.ipv4 = segments_[d.segment].net;
      }
      if (j + 257 >= 65279) throw UsageError("too many hosts on one segment: use more --vlans");
      d.ipv4 |= 257 + j;  // 10.x.1.1 upwards; .0.x is infrastructure, .255.x switches
      devices_.push_back(std::move(d));
    }

    // Randomized MACs: a share of all devices, taken from hosts whose OS randomizes.
    std::vector<std::uint32_t> eligible;
    for (std::uint32_t i = 0; i < devices_.size(); ++i) {
      if (devices_[i].persona && devices_[i].persona->randomizable) eligible.push_back(i);
    }
    for (std::size_t i = eligible.size(); i > 1; --i) {
      std::swap(eligible[i - 1], eligible[device_rng_.index(i)]);
    }
    const std::uint64_t want = (static_cast<std::uint64_t>(n) * o_.randomized_pct + 50) / 100;
    const std::size_t count =
        static_cast<std::size_t>(std::min<std::uint64_t>(want, eligible.size()));
    for (std::size_t i = 0; i < count; ++i) {
      Device& d = devices_[eligible[i]];
      d.duid_mac = d.mac;  // the DUID keeps the burnt-in MAC
      d.randomized = true;
      d.mac = fresh_mac(0, true);
    }

    // Per-device identity details.
    for (std::uint32_t i = 0; i < devices_.size(); ++i) {
      Device& d = devices_[i];
      if (!d.randomized) d.duid_mac = d.mac;
      d.xid = static_cast<std::uint32_t>(mix(o_.seed, i));
      d.duid_time = 600000000u + static_cast<std::uint32_t>(device_rng_.below(200000000));
      if (!d.persona) continue;
      const Persona& p = *d.persona;
      d.hostname = make_hostname(d);
      d.has_name =
          !d.hostname.empty() && (p.names != NameStyle::kAndroid || device_rng_.percent(60));
      d.has_fqdn = p.fqdn != Fqdn::kNone && device_rng_.percent(50);
      d.joins = d.role == Role::kRemote || d.randomized || (p.dhcp && device_rng_.percent(60));
      d.init_reboot = device_rng_.percent(30);
      d.mdns_port = p.mdns_port;
      if (p.ipv6 && d.role == Role::kHost) {
        const bool stable = p.names == NameStyle::kLinux || !p.dhcp;
        d.ll = stable ? eui64(link_local_prefix(), d.mac) : random_iid(link_local_prefix());
        d.global = random_iid(prefix6(d.segment));
        if (p.dhcpv6 && device_rng_.percent(70)) {
          d.dhcp6 = prefix6(d.segment);
          d.dhcp6[12] = 0xd6;
          d.dhcp6[14] = static_cast<std::uint8_t>((d.ipv4 >> 8) & 0xff);
          d.dhcp6[15] = static_cast<std::uint8_t>(d.ipv4 & 0xff);
        }
      }
    }
  }

  // -- schedule -------------------------------------------------------------------------------

  void add(std::uint64_t slot, std::uint32_t device, Act act, std::uint16_t aux = 0,
           bool activates = false) {
    items_.push_back(
        {slot, static_cast<std::uint32_t>(items_.size()), device, act, activates, aux});
  }

  void schedule() {
    const std::uint64_t p = o_.packets;
    const std::uint64_t n = devices_.size();
    const std::uint64_t spacing = std::max<std::uint64_t>(1, p / n / 4);
    auto gap = [&] { return 1 + schedule_rng_.below(spacing); };
    const std::uint64_t slots_per_s = std::max<std::uint64_t>(1, p / o_.duration_s);

    // Infrastructure first: the gateway announces itself at once, the rest within 1 % of the run.
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (devices_[i].role == Role::kHost || devices_[i].role == Role::kRemote) order.push_back(i);
    }
    for (std::size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[schedule_rng_.index(i)]);
    }
    std::vector<std::uint64_t> starts(order.size());
    const std::uint64_t lo = p / 100;
    const std::uint64_t hi = std::max<std::uint64_t>(lo + 1, p * 60 / 100);
    for (auto& s : starts) s = schedule_rng_.between(lo, hi);
    std::sort(starts.begin(), starts.end());

    const std::uint64_t ra_period = std::max<std::uint64_t>(1, 200 * slots_per_s);
    const std::uint64_t lldp_period = std::max<std::uint64_t>(1, 30 * slots_per_s);
    for (std::uint32_t i = 0; i < n; ++i) {
      const Device& d = devices_[i];
      if (d.role == Role::kRouter && i == 0) {
        for (std::size_t s = 0; s < segments_.size(); ++s) {
          add(0, i, Act::kRa, static_cast<std::uint16_t>(s), s == 0);
          for (std::uint64_t t = ra_period + schedule_rng_.below(ra_period); t < p;
               t += ra_period) {
            add(t, i, Act::kRa, static_cast<std::uint16_t>(s));
          }
        }
      } else if (d.role == Role::kRouter) {
        std::uint64_t t = schedule_rng_.below(lo + 1);
        add(t, i, Act::kArpRelayAsks);
        add(t + gap(), i, Act::kArpRelayReply, 0, true);
      } else if (d.role == Role::kSwitch) {
        std::uint64_t t = schedule_rng_.below(lo + 1);
        add(t, i, Act::kLldp, 0, true);
        if (d.switch_kind->cdp) add(t + gap(), i, Act::kCdp);
        add(t + 2 * gap(), i, Act::kArpAnnounce);
        for (std::uint64_t u = t + lldp_period; u < p; u += lldp_period) {
          add(u, i, Act::kLldp);
          if (d.switch_kind->cdp && ((u - t) / lldp_period) % 2 == 0) add(u + 1, i, Act::kCdp);
        }
      }
    }

    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::uint32_t i = order[k];
      const Device& d = devices_[i];
      std::uint64_t t = starts[k];
      std::vector<std::pair<Act, std::uint16_t>> steps;
      if (d.role == Role::kRemote) {
        steps = {{Act::kRelayDiscover, 0},
                 {Act::kRelayOffer, 0},
                 {Act::kRelayRequest, 0},
                 {Act::kRelayAck, 0}};
      } else {
        const Persona& persona = *d.persona;
        const bool v6 = !is_zero(d.ll);
        if (d.joins) {
          if (persona.dhcp) {
            if (d.init_reboot) {
              steps.push_back({Act::kDhcpRequest, 1});
            } else {
              steps.push_back({Act::kDhcpDiscover, 0});
              steps.push_back({Act::kDhcpOffer, 0});
              steps.push_back({Act::kDhcpRequest, 0});
            }
            steps.push_back({Act::kDhcpAck, 0});
          }
          if (persona.arp == ArpStyle::kProbeAnnounce) steps.push_back({Act::kArpProbe, 0});
          if (persona.arp != ArpStyle::kNone) steps.push_back({Act::kArpAnnounce, 0});
          steps.push_back({Act::kArpAskGateway, 0});
          steps.push_back({Act::kArpGatewayReply, 0});
          if (v6) {
            steps.push_back({Act::kNsDadLinkLocal, 0});
            steps.push_back({Act::kRs, 0});
            steps.push_back({Act::kRa, d.segment});
            steps.push_back({Act::kNsDadGlobal, 0});
            if (!is_zero(d.dhcp6)) {
              steps.push_back({Act::kDhcp6Solicit, 0});
              steps.push_back({Act::kDhcp6Advertise, 0});
              steps.push_back({Act::kDhcp6Request, 0});
              steps.push_back({Act::kDhcp6Reply, 0});
            }
          }
          if (persona.mdns) {
            steps.push_back({Act::kMdnsAnnounce4, 0});
            if (v6) steps.push_back({Act::kMdnsAnnounce6, 0});
          }
          if (persona.nbns) {
            steps.push_back({Act::kNbnsRegister, 0});
            steps.push_back({Act::kNbnsRegister, 1});
            steps.push_back({Act::kNbnsRegister, 2});
          }
        } else {
          if (schedule_rng_.percent(50)) {
            steps.push_back({Act::kArpAskGateway, 0});
            steps.push_back({Act::kArpGatewayReply, 0});
          } else {
            steps.push_back({Act::kArpRouterAsks, 0});
            steps.push_back({Act::kArpHostReply, 0});
          }
          if (v6 && schedule_rng_.percent(50)) {
            steps.push_back({Act::kNsRouter, 0});
            steps.push_back({Act::kNaHost, 0});
          }
          if (persona.mdns && schedule_rng_.percent(30)) steps.push_back({Act::kMdnsAnnounce4, 0});
        }
      }
      for (std::size_t s = 0; s < steps.size(); ++s) {
        add(t, i, steps[s].first, steps[s].second, s + 1 == steps.size());
        t += gap();
      }
    }

    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      return a.slot != b.slot ? a.slot < b.slot : a.seq < b.seq;
    });
    if (items_.size() > p) {
      throw UsageError("--packets " + std::to_string(p) + " is too small for " + std::to_string(n) +
                       " devices: their announcements alone take " + std::to_string(items_.size()) +
                       " frames (use at least " + std::to_string(items_.size() * 5 / 4 + 1) + ")");
    }
  }

  // -- emission -------------------------------------------------------------------------------

  void emit_all() {
    const std::uint64_t p = o_.packets;
    const std::uint64_t duration_us = o_.duration_s * 1000000;
    mean_gap_us_ = std::max<std::uint64_t>(1, duration_us / p);
    ts_us_ = o_.start * 1000000;
    active_by_segment_.assign(segments_.size(), {});
    remote_v4_pool_ = std::clamp<std::uint64_t>(p / 20, 256, 131072);
    remote_v6_pool_ = std::clamp<std::uint64_t>(p / 80, 64, 65536);

    std::size_t next = 0;
    while (written_ < p) {
      const std::uint64_t left_slots = p - written_;
      const std::uint64_t left_items = items_.size() - next;
      const bool have_item = next < items_.size();
      const bool due = have_item && items_[next].slot <= written_;
      const bool forced = have_item && left_items >= left_slots;
      if (due || forced || (have_item && endpoints_.empty())) {
        run_item(items_[next++]);
        continue;
      }
      if (endpoints_.empty()) throw std::logic_error("no active endpoint and no scripted frame");
      background(left_slots - left_items);
    }
  }

  void run_item(const Item& it) {
    Device& d = devices_[it.device];
    switch (it.act) {
      case Act::kDhcpDiscover: dhcp_client(it.device, 1, false); break;
      case Act::kDhcpRequest: dhcp_client(it.device, 3, it.aux == 1); break;
      case Act::kDhcpOffer: dhcp_server(it.device, 2); break;
      case Act::kDhcpAck: dhcp_server(it.device, 5); break;
      case Act::kRelayDiscover: relay_client(it.device, 1); break;
      case Act::kRelayRequest: relay_client(it.device, 3); break;
      case Act::kRelayOffer: relay_server(it.device, 2); break;
      case Act::kRelayAck: relay_server(it.device, 5); break;
      case Act::kArpProbe: {
        const Segment& seg = segments_[d.segment];
        arp(seg, kBroadcast, it.device, 1, d.mac, 0, Mac{}, d.ipv4);
        break;
      }
      case Act::kArpAnnounce: {
        const Segment& seg = segments_[d.segment];
        arp(seg, kBroadcast, it.device, 1, d.mac, d.ipv4, Mac{}, d.ipv4);
        break;
      }
      case Act::kArpAskGateway: {
        const Segment& seg = segments_[d.segment];
        arp(seg, kBroadcast, it.device, 1, d.mac, d.ipv4, Mac{}, gateway_ip(d.segment));
        break;
      }
      case Act::kArpGatewayReply: {
        const Segment& seg = segments_[d.segment];
        arp(seg, d.mac, 0, 2, devices_[0].mac, gateway_ip(d.segment), d.mac, d.ipv4);
        break;
      }
      case Act::kArpRouterAsks: {
        const Segment& seg = segments_[d.segment];
        arp(seg, kBroadcast, 0, 1, devices_[0].mac, gateway_ip(d.segment), Mac{}, d.ipv4);
        break;
      }
      case Act::kArpHostReply: {
        const Segment& seg = segments_[d.segment];
        arp(seg, devices_[0].mac, it.device, 2, d.mac, d.ipv4, devices_[0].mac,
            gateway_ip(d.segment));
        break;
      }
      case Act::kArpRelayAsks: {
        const Segment& seg = segments_[d.segment];
        arp(seg, kBroadcast, it.device, 1, d.mac, d.ipv4, Mac{}, gateway_ip(d.segment));
        break;
      }
      case Act::kArpRelayReply: {
        const Segment& seg = segments_[d.segment];
        arp(seg, d.mac, 0, 2, devices_[0].mac, gateway_ip(d.segment), d.mac, d.ipv4);
        break;
      }
      case Act::kNsDadLinkLocal: ns_dad(it.device, d.ll); break;
      case Act::kNsDadGlobal: ns_dad(it.device, d.global); break;
      case Act::kRs: router_solicitation(it.device); break;
      case Act::kRa: router_advertisement(it.aux); break;
      case Act::kNsRouter: router_neighbor_solicitation(it.device); break;
      case Act::kNaHost: host_neighbor_advertisement(it.device); break;
      case Act::kDhcp6Solicit: dhcp6(it.device, 1); break;
      case Act::kDhcp6Advertise: dhcp6(it.device, 2); break;
      case Act::kDhcp6Request: dhcp6(it.device, 3); break;
      case Act::kDhcp6Reply: dhcp6(it.device, 7); break;
      case Act::kMdnsAnnounce4: mdns_announce(it.device, false); break;
      case Act::kMdnsAnnounce6: mdns_announce(it.device, true); break;
      case Act::kNbnsRegister: nbns_register(it.device, it.aux); break;
      case Act::kLldp: lldp(it.device); break;
      case Act::kCdp: cdp(it.device); break;
    }
    if (it.activates) activate(it.device);
  }

  void activate(std::uint32_t i) {
    const Device& d = devices_[i];
    if (d.role == Role::kHost) {
      endpoints_.push_back(i);
      active_by_segment_[d.segment].push_back(i);
      if (d.persona->mdns) active_mdns_.push_back(i);
      if (!is_zero(d.ll)) active_v6_.push_back(i);
    } else if (d.role == Role::kRemote) {
      endpoints_.push_back(i);
    }
  }

  std::uint32_t gateway_ip(unsigned seg) const { return segments_[seg].net | 1; }

  Ipv6 gateway_global(unsigned seg) const {
    Ipv6 a = prefix6(seg);
    a[15] = 1;
    return a;
  }

  // Bulk traffic and the periodic chatter between scripted frames. `budget` is how many frames
  // may be written before the scripted ones must take every remaining slot.
  void background(std::uint64_t budget) {
    Rng& r = traffic_rng_;
    const std::uint64_t roll = r.below(1000);
    if (budget >= 2 && roll < 30) {  // ARP refresh, either direction
      const std::uint32_t h = pick_local_host();
      if (h != kNoDevice) {
        const Device& d = devices_[h];
        const Segment& seg = segments_[d.segment];
        if (r.percent(50)) {
          arp(seg, kBroadcast, h, 1, d.mac, d.ipv4, Mac{}, gateway_ip(d.segment));
          arp(seg, d.mac, 0, 2, devices_[0].mac, gateway_ip(d.segment), d.mac, d.ipv4);
        } else {
          arp(seg, kBroadcast, 0, 1, devices_[0].mac, gateway_ip(d.segment), Mac{}, d.ipv4);
          arp(seg, devices_[0].mac, h, 2, d.mac, d.ipv4, devices_[0].mac, gateway_ip(d.segment));
        }
        return;
      }
    }
    if (budget >= 2 && roll < 40 && !active_v6_.empty()) {  // neighbour resolution
      const std::uint32_t h = active_v6_[r.index(active_v6_.size())];
      router_neighbor_solicitation(h);
      host_neighbor_advertisement(h);
      return;
    }
    if (roll < 45 && !active_mdns_.empty()) {
      const std::uint32_t h = active_mdns_[r.index(active_mdns_.size())];
      if (r.percent(70)) {
        mdns_query(h);
      } else {
        mdns_announce(h, !is_zero(devices_[h].ll) && r.percent(30));
      }
      return;
    }
    const std::uint32_t e = endpoints_[r.index(endpoints_.size())];
    if (devices_[e].role == Role::kRemote) {
      relayed_traffic(e);
      return;
    }
    const std::uint64_t kind = r.below(100);
    if (kind < 15) {
      if (local_traffic(e)) return;
    } else if (kind < 22 && budget >= 2) {
      if (inter_vlan_traffic(e)) return;
    }
    internet_traffic(e, kind >= 95);
  }

  std::uint32_t pick_local_host() {
    for (int tries = 0; tries < 4; ++tries) {
      const std::uint32_t e = endpoints_[traffic_rng_.index(endpoints_.size())];
      if (devices_[e].role == Role::kHost) return e;
    }
    return kNoDevice;
  }

  // -- frame builders -------------------------------------------------------------------------

  struct Ip {
    bool v6 = false;
    std::uint32_t v4 = 0;
    Ipv6 a6{};
  };
  static Ip ip4(std::uint32_t a) { return Ip{false, a, {}}; }
  static Ip ip6(const Ipv6& a) { return Ip{true, 0, a}; }

  void eth(const Segment& seg, const Mac& dst, const Mac& src, unsigned ethertype) {
    f_.clear();
    f_.bytes(dst);
    f_.bytes(src);
    if (seg.outer) {
      f_.u16(0x88a8);
      f_.u16(seg.outer);
    }
    if (seg.vid) {
      f_.u16(0x8100);
      f_.u16(seg.vid);
    }
    f_.u16(ethertype);
  }

  static Mac multicast_mac(const Ip& dst) {
    if (dst.v6) return {0x33, 0x33, dst.a6[12], dst.a6[13], dst.a6[14], dst.a6[15]};
    return {0x01,
            0x00,
            0x5e,
            static_cast<std::uint8_t>((dst.v4 >> 16) & 0x7f),
            static_cast<std::uint8_t>(dst.v4 >> 8),
            static_cast<std::uint8_t>(dst.v4)};
  }

  // IP header with zero length/checksum; returns its offset.
  std::size_t ip_header(const Ip& src, const Ip& dst, unsigned proto, unsigned ttl) {
    const std::size_t off = f_.size();
    if (src.v6) {
      f_.u32(0x60000000u);
      f_.u16(0);
      f_.u8(proto);
      f_.u8(ttl);
      f_.bytes(src.a6);
      f_.bytes(dst.a6);
    } else {
      f_.u8(0x45);
      f_.u8(0);
      f_.u16(0);
      f_.u16(static_cast<unsigned>(traffic_rng_.below(65536)));
      f_.u16(0x4000);  // DF
      f_.u8(ttl);
      f_.u8(proto);
      f_.u16(0);
      f_.u32(src.v4);
      f_.u32(dst.v4);
    }
    return off;
  }

  // Fills in lengths and checksums once the L4 payload is complete. `csum_at` is the offset of
  // the L4 checksum field relative to the L4 header; UDP also gets its length field.
  void finish_ip(std::size_t ip_off, bool v6, unsigned proto, std::size_t csum_at) {
    const std::size_t ip_len = v6 ? 40 : 20;
    const std::size_t l4_off = ip_off + ip_len;
    const std::size_t l4_len = f_.size() - l4_off;
    std::uint32_t acc = 0;
    if (v6) {
      f_.set16(ip_off + 4, static_cast<unsigned>(l4_len));
      acc = sum16(f_.at(ip_off + 8), 32, 0);
    } else {
      f_.set16(ip_off + 2, static_cast<unsigned>(ip_len + l4_len));
      f_.set16(ip_off + 10, fold(sum16(f_.at(ip_off), 20, 0)));
      acc = sum16(f_.at(ip_off + 12), 8, 0);
    }
    if (proto == 17) f_.set16(l4_off + 4, static_cast<unsigned>(l4_len));
    acc += static_cast<std::uint32_t>(l4_len >> 16) + static_cast<std::uint32_t>(l4_len & 0xffff) +
           proto;
    f_.set16(l4_off + csum_at, 0);
    unsigned csum = fold(sum16(f_.at(l4_off), l4_len, acc));
    if (proto == 17 && csum == 0) csum = 0xffff;
    f_.set16(l4_off + csum_at, csum);
  }

  std::size_t udp_header(unsigned sport, unsigned dport) {
    const std::size_t off = f_.size();
    f_.u16(sport);
    f_.u16(dport);
    f_.u16(0);
    f_.u16(0);
    return off;
  }

  // Pads to the Ethernet minimum (60 bytes before tags, as a switch adds them to a minimum-size
  // frame), writes the record and credits the frame to its L2 source.
  void send(std::uint32_t l2_src, const Segment& seg) {
    const std::size_t min = 60 + seg.tag_bytes();
    if (f_.size() < min) f_.zeros(min - f_.size());
    ts_us_ += 1 + traffic_rng_.below(2 * mean_gap_us_ - 1);
    writer_->write(ts_us_, f_.data(), f_.size());
    ++written_;
    total_bytes_ += f_.size();
    if (l2_src != kNoDevice) {
      Facts& fx = devices_[l2_src].facts;
      ++fx.frames;
      fx.bytes += f_.size();
      if (seg.vid) fx.vlans.insert(seg.index);
    }
  }

  void fact_ipv4(std::uint32_t dev, std::uint32_t a, std::string_view source) {
    devices_[dev].facts.ipv4.insert(a);
    devices_[dev].facts.sources.insert(std::string(source));
  }
  void fact_ipv6(std::uint32_t dev, const Ipv6& a, std::string_view source) {
    devices_[dev].facts.ipv6.insert(a);
    devices_[dev].facts.sources.insert(std::string(source));
  }
  void fact_name(std::uint32_t dev, std::string_view source, const std::string& name) {
    devices_[dev].facts.names.emplace(std::string(source), name);
  }
  void fact_source(std::uint32_t dev, std::string_view source) {
    devices_[dev].facts.sources.insert(std::string(source));
  }
  void fact_own_ip(std::uint32_t dev, const Ip& a) {
    if (a.v6) {
      fact_ipv6(dev, a.a6, "ipv6");
    } else {
      fact_ipv4(dev, a.v4, "ipv4");
    }
  }
  void fact_routed(std::uint32_t dev, const Ip& a) {
    devices_[dev].facts.routed.insert(a.v6 ? ipv6_key(a.a6) : a.v4);
    fact_source(dev, a.v6 ? "ipv6" : "ipv4");
  }

  // ARP (RFC 826); spa 0 is a probe (RFC 5227). `sender` is the device credited with the facts.
  void arp(const Segment& seg, const Mac& dst, std::uint32_t sender, unsigned op, const Mac& sha,
           std::uint32_t spa, const Mac& tha, std::uint32_t tpa) {
    eth(seg, dst, sha, 0x0806);
    f_.u16(1);
    f_.u16(0x0800);
    f_.u8(6);
    f_.u8(4);
    f_.u16(op);
    f_.bytes(sha);
    f_.u32(spa);
    f_.bytes(tha);
    f_.u32(tpa);
    if (spa != 0) {
      fact_ipv4(sender, spa, "arp");
    } else {
      fact_ipv4(sender, tpa, "arp");  // the probed address: it is assigned to the prober next
    }
    send(sender, seg);
  }

  // -- DHCPv4 ---------------------------------------------------------------------------------

  // BOOTP fixed part; options follow.
  void bootp(unsigned op, const Device& d, std::uint32_t ciaddr, std::uint32_t yiaddr,
             std::uint32_t giaddr, unsigned hops, unsigned secs) {
    f_.u8(op);
    f_.u8(1);
    f_.u8(6);
    f_.u8(hops);
    f_.u32(d.xid);
    f_.u16(secs);
    f_.u16(d.persona->broadcast_flag ? 0x8000 : 0);
    f_.u32(ciaddr);
    f_.u32(yiaddr);
    f_.u32(0);
    f_.u32(giaddr);
    f_.bytes(d.mac);
    f_.zeros(10 + 64 + 128);
    f_.u32(0x63825363);
  }

  void opt(unsigned code, std::string_view value) {
    f_.u8(code);
    f_.u8(static_cast<unsigned>(value.size()));
    f_.str(value);
  }
  void opt_u32(unsigned code, std::uint32_t v) {
    f_.u8(code);
    f_.u8(4);
    f_.u32(v);
  }

  static void dns_name(Frame& f, std::string_view name) {
    while (!name.empty()) {
      const std::size_t dot = name.find('.');
      const std::string_view label = name.substr(0, dot);
      f.u8(static_cast<unsigned>(label.size()));
      f.str(label);
      if (dot == std::string_view::npos) break;
      name.remove_prefix(dot + 1);
    }
  }

  // The client's options, in the order its OS sends them; records what the truth must contain.
  void client_options(std::uint32_t dev, unsigned msg, bool requesting, std::uint32_t server) {
    Device& d = devices_[dev];
    const Persona& p = *d.persona;
    opt(53, std::string_view("\x01", 1));
    f_.set8(f_.size() - 1, msg);
    auto client_id = [&] {
      f_.u8(61);
      f_.u8(7);
      f_.u8(1);
      f_.bytes(d.mac);
      std::array<std::uint8_t, 7> id{1, d.mac[0], d.mac[1], d.mac[2], d.mac[3], d.mac[4], d.mac[5]};
      d.facts.client_id = hex_colon(id);
    };
    auto prl = [&] {
      f_.u8(55);
      f_.u8(static_cast<unsigned>(p.prl.size()));
      f_.bytes(p.prl);
      d.facts.prl = prl_text(p.prl);
    };
    if (p.client_id) client_id();
    if (p.max_size) {
      f_.u8(57);
      f_.u8(2);
      f_.u16(1500);
    }
    if (requesting) opt_u32(50, d.ipv4);
    if (server != 0) opt_u32(54, server);
    if (d.has_name) {
      opt(12, d.hostname);
      fact_name(dev, "dhcp", d.hostname);
    }
    if (requesting && d.has_fqdn) {
      const std::string fqdn = d.hostname + "." + std::string(kDomain);
      f_.u8(81);
      const std::size_t len_at = f_.size();
      f_.u8(0);
      if (p.fqdn == Fqdn::kWire) {
        f_.u8(0x05);  // S: server updates A; E: canonical wire format
        f_.u8(0);
        f_.u8(0);
        dns_name(f_, fqdn);
        f_.u8(0);
      } else {
        f_.u8(0x00);  // Windows: ASCII name, client updates its own A record
        f_.u8(0);
        f_.u8(0);
        f_.str(fqdn);
      }
      f_.set8(len_at, static_cast<unsigned>(f_.size() - len_at - 1));
      fact_name(dev, "dhcp_fqdn", fqdn);
    }
    if (!p.vendor_class.empty()) {
      opt(60, p.vendor_class);
      d.facts.vendor_class = std::string(p.vendor_class);
    }
    prl();
    fact_source(dev, "dhcp");
  }

  void end_options(std::size_t bootp_off) {
    f_.u8(255);
    const std::size_t len = f_.size() - bootp_off;
    if (len < 300) f_.zeros(300 - len);  // classic BOOTP minimum
  }

  void dhcp_client(std::uint32_t dev, unsigned msg, bool init_reboot) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    eth(seg, kBroadcast, d.mac, 0x0800);
    const std::size_t ip_off = ip_header(ip4(0), ip4(0xffffffff), 17, d.persona->ttl);
    udp_header(68, 67);
    const std::size_t b = f_.size();
    bootp(1, d, 0, 0, 0, 0, msg == 1 ? 0 : 3);
    // A DISCOVER asks for the previous lease's address when the client remembers one.
    const bool requesting = msg == 3 || (msg == 1 && (d.xid & 1) != 0);
    client_options(dev, msg, requesting, msg == 3 && !init_reboot ? gateway_ip(d.segment) : 0);
    end_options(b);
    finish_ip(ip_off, false, 17, 6);
    send(dev, seg);
  }

  void server_options(unsigned msg, std::uint32_t server, std::uint32_t router) {
    opt(53, std::string_view("\x02", 1));
    f_.set8(f_.size() - 1, msg);
    opt_u32(54, server);
    opt_u32(51, 86400);
    opt_u32(58, 43200);
    opt_u32(59, 75600);
    opt_u32(1, 0xffff0000);
    opt_u32(3, router);
    opt_u32(6, router);
    opt(15, kDomain);
  }

  void dhcp_server(std::uint32_t dev, unsigned msg) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    const bool bcast = d.persona->broadcast_flag;
    eth(seg, bcast ? kBroadcast : d.mac, devices_[0].mac, 0x0800);
    const std::uint32_t gw = gateway_ip(d.segment);
    const std::size_t ip_off = ip_header(ip4(gw), ip4(bcast ? 0xffffffff : d.ipv4), 17, 64);
    udp_header(67, 68);
    const std::size_t b = f_.size();
    bootp(2, d, 0, d.ipv4, 0, 0, 0);
    server_options(msg, gw, gw);
    end_options(b);
    finish_ip(ip_off, false, 17, 6);
    fact_ipv4(0, gw, "ipv4");
    if (msg == 5) fact_ipv4(dev, d.ipv4, "dhcp");
    send(0, seg);
  }

  void option82(const Device& relay, const Device& client) {
    char circuit[32];
    std::snprintf(circuit, sizeof circuit, "vlan%u-port%u",
                  200 + static_cast<unsigned>(client.relay),
                  1 + static_cast<unsigned>(client.ipv4 % 48));
    const std::size_t clen = std::strlen(circuit);
    f_.u8(82);
    f_.u8(static_cast<unsigned>(2 + clen + 2 + 6));
    f_.u8(1);
    f_.u8(static_cast<unsigned>(clen));
    f_.str(circuit);
    f_.u8(2);
    f_.u8(6);
    f_.bytes(relay.mac);
  }

  std::uint32_t relay_gw(const Device& client) const {
    return (10u << 24) | ((200u + client.relay) << 16) | 1;
  }

  // Relay agent -> server leg of a remote client's DHCP (RFC 3046 option 82 added).
  void relay_client(std::uint32_t dev, unsigned msg) {
    const Device& d = devices_[dev];
    const Device& relay = devices_[d.relay];
    const Segment& seg = segments_[relay.segment];
    eth(seg, devices_[0].mac, relay.mac, 0x0800);
    const std::size_t ip_off = ip_header(ip4(relay.ipv4), ip4(gateway_ip(relay.segment)), 17, 64);
    udp_header(67, 67);
    const std::size_t b = f_.size();
    bootp(1, d, 0, 0, relay_gw(d), 1, msg == 1 ? 0 : 2);
    client_options(dev, msg, msg == 3, msg == 3 ? gateway_ip(relay.segment) : 0);
    option82(relay, d);
    end_options(b);
    finish_ip(ip_off, false, 17, 6);
    fact_ipv4(d.relay, relay.ipv4, "ipv4");
    send(d.relay, seg);
  }

  void relay_server(std::uint32_t dev, unsigned msg) {
    const Device& d = devices_[dev];
    const Device& relay = devices_[d.relay];
    const Segment& seg = segments_[relay.segment];
    eth(seg, relay.mac, devices_[0].mac, 0x0800);
    const std::uint32_t server = gateway_ip(relay.segment);
    const std::size_t ip_off = ip_header(ip4(server), ip4(relay_gw(d)), 17, 64);
    udp_header(67, 67);
    const std::size_t b = f_.size();
    bootp(2, d, 0, d.ipv4, relay_gw(d), 1, 0);
    server_options(msg, server, relay_gw(d));
    option82(relay, d);
    end_options(b);
    finish_ip(ip_off, false, 17, 6);
    fact_ipv4(0, server, "ipv4");
    if (msg == 5) fact_ipv4(dev, d.ipv4, "dhcp");
    send(0, seg);
  }

  // -- IPv6 neighbour discovery and DHCPv6 ----------------------------------------------------

  static Ipv6 solicited_node(const Ipv6& target) {
    Ipv6 a{};
    a[0] = 0xff;
    a[1] = 0x02;
    a[11] = 0x01;
    a[12] = 0xff;
    a[13] = target[13];
    a[14] = target[14];
    a[15] = target[15];
    return a;
  }
  static Ipv6 all_nodes() {
    Ipv6 a{};
    a[0] = 0xff;
    a[1] = 0x02;
    a[15] = 0x01;
    return a;
  }
  static Ipv6 all_routers() {
    Ipv6 a = all_nodes();
    a[15] = 0x02;
    return a;
  }

  void icmp6_begin(const Segment& seg, const Mac& dst_mac, const Mac& src_mac, const Ip& src,
                   const Ip& dst, unsigned type) {
    eth(seg, dst_mac, src_mac, 0x86dd);
    icmp_ip_off_ = ip_header(src, dst, 58, 255);
    f_.u8(type);
    f_.u8(0);
    f_.u16(0);
  }
  void icmp6_end() { finish_ip(icmp_ip_off_, true, 58, 2); }

  void lla_option(unsigned type, const Mac& m) {
    f_.u8(type);
    f_.u8(1);
    f_.bytes(m);
  }

  void ns_dad(std::uint32_t dev, const Ipv6& target) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    const Ip dst = ip6(solicited_node(target));
    icmp6_begin(seg, multicast_mac(dst), d.mac, ip6(Ipv6{}), dst, 135);
    f_.u32(0);
    f_.bytes(target);
    icmp6_end();
    fact_ipv6(dev, target, "ndp");
    send(dev, seg);
  }

  void router_solicitation(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    const Ip dst = ip6(all_routers());
    icmp6_begin(seg, multicast_mac(dst), d.mac, ip6(d.ll), dst, 133);
    f_.u32(0);
    lla_option(1, d.mac);
    icmp6_end();
    fact_ipv6(dev, d.ll, "ndp");
    send(dev, seg);
  }

  void router_advertisement(unsigned seg_index) {
    const Device& r = devices_[0];
    const Segment& seg = segments_[seg_index];
    const Ip dst = ip6(all_nodes());
    icmp6_begin(seg, multicast_mac(dst), r.mac, ip6(r.ll), dst, 134);
    f_.u8(64);
    f_.u8(0xc0);  // M and O: addresses and other configuration from DHCPv6
    f_.u16(1800);
    f_.u32(0);
    f_.u32(0);
    lla_option(1, r.mac);
    f_.u8(5);  // MTU
    f_.u8(1);
    f_.u16(0);
    f_.u32(1500);
    f_.u8(3);  // prefix information: on-link, autonomous
    f_.u8(4);
    f_.u8(64);
    f_.u8(0xc0);
    f_.u32(2592000);
    f_.u32(604800);
    f_.u32(0);
    f_.bytes(prefix6(seg_index));
    icmp6_end();
    fact_ipv6(0, r.ll, "ndp");
    send(0, seg);
  }

  void router_neighbor_solicitation(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Device& r = devices_[0];
    const Segment& seg = segments_[d.segment];
    const Ip dst = ip6(solicited_node(d.global));
    icmp6_begin(seg, multicast_mac(dst), r.mac, ip6(r.ll), dst, 135);
    f_.u32(0);
    f_.bytes(d.global);
    lla_option(1, r.mac);
    icmp6_end();
    fact_ipv6(0, r.ll, "ndp");
    send(0, seg);
  }

  void host_neighbor_advertisement(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Device& r = devices_[0];
    const Segment& seg = segments_[d.segment];
    icmp6_begin(seg, r.mac, d.mac, ip6(d.global), ip6(r.ll), 136);
    f_.u32(0x60000000u);  // solicited, override
    f_.bytes(d.global);
    lla_option(2, d.mac);
    icmp6_end();
    fact_ipv6(dev, d.global, "ndp");
    send(dev, seg);
  }

  void dhcp6(std::uint32_t dev, unsigned msg) {
    Device& d = devices_[dev];
    const Device& r = devices_[0];
    const Segment& seg = segments_[d.segment];
    const bool from_client = msg == 1 || msg == 3;
    Ipv6 servers{};
    servers[0] = 0xff;
    servers[1] = 0x02;
    servers[13] = 0x01;
    servers[15] = 0x02;  // ff02::1:2, All_DHCP_Relay_Agents_and_Servers
    const Ip src = ip6(from_client ? d.ll : r.ll);
    const Ip dst = ip6(from_client ? servers : d.ll);
    eth(seg, from_client ? multicast_mac(dst) : d.mac, from_client ? d.mac : r.mac, 0x86dd);
    const std::size_t ip_off = ip_header(src, dst, 17, from_client ? 1 : 64);
    udp_header(from_client ? 546 : 547, from_client ? 547 : 546);
    f_.u8(msg);
    f_.u8((d.xid >> 16) & 0xff);
    f_.u16(d.xid & 0xffff);

    std::array<std::uint8_t, 14> duid{0, 1, 0, 1};
    for (int i = 0; i < 4; ++i) {
      duid[4 + i] = static_cast<std::uint8_t>(d.duid_time >> (24 - 8 * i));
    }
    std::copy(d.duid_mac.begin(), d.duid_mac.end(), duid.begin() + 8);
    f_.u16(1);  // client identifier
    f_.u16(14);
    f_.bytes(duid);
    if (msg != 1) {
      f_.u16(2);  // server identifier: DUID-LL of the router
      f_.u16(10);
      f_.u16(3);
      f_.u16(1);
      f_.bytes(r.mac);
    }
    const bool with_addr = msg != 1;
    f_.u16(3);  // IA_NA
    f_.u16(with_addr ? 12 + 28 : 12);
    f_.u32(static_cast<std::uint32_t>(mix(d.xid, 6)));
    f_.u32(from_client ? 0 : 1800);
    f_.u32(from_client ? 0 : 2880);
    if (with_addr) {
      f_.u16(5);
      f_.u16(24);
      f_.bytes(d.dhcp6);
      f_.u32(from_client ? 0 : 3600);
      f_.u32(from_client ? 0 : 7200);
    }
    if (from_client) {
      f_.u16(8);  // elapsed time
      f_.u16(2);
      f_.u16(msg == 1 ? 0 : 102);
      const std::string name = d.has_fqdn ? d.hostname + "." + std::string(kDomain) : d.hostname;
      f_.u16(39);  // client FQDN (RFC 4704); a single label is a partial name
      const std::size_t len_at = f_.size();
      f_.u16(0);
      f_.u8(0x01);  // S: server updates AAAA
      dns_name(f_, name);
      if (d.has_fqdn) f_.u8(0);
      f_.set16(len_at, static_cast<unsigned>(f_.size() - len_at - 2));
      fact_name(dev, "dhcpv6_fqdn", name);
      if (d.persona->vendor_class == "MSFT 5.0") {
        f_.u16(16);  // vendor class, enterprise 311 (Microsoft)
        f_.u16(4 + 2 + 8);
        f_.u32(311);
        f_.u16(8);
        f_.str("MSFT 5.0");
      }
      f_.u16(6);  // option request: DNS servers, domain list, FQDN
      f_.u16(6);
      f_.u16(23);
      f_.u16(24);
      f_.u16(39);
      d.facts.duid = hex_plain(duid);
      fact_source(dev, "dhcpv6");
    } else {
      f_.u16(23);
      f_.u16(16);
      f_.bytes(gateway_global(d.segment));
      f_.u16(24);
      f_.u16(18);
      dns_name(f_, kDomain);
      f_.u8(0);
      if (msg == 7) fact_ipv6(dev, d.dhcp6, "dhcpv6");
    }
    finish_ip(ip_off, true, 17, 6);
    if (from_client) {
      fact_ipv6(dev, d.ll, "ipv6");
      send(dev, seg);
    } else {
      fact_ipv6(0, r.ll, "ipv6");
      send(0, seg);
    }
  }

  // -- mDNS (RFC 6762/6763) and NBNS (RFC 1002) -----------------------------------------------

  // DNS names with compression: labels from `name`, then a pointer to `suffix_off` (relative to
  // the DNS header at `dns_off`) unless it is 0. Returns the offset of the name.
  std::size_t put_name(std::size_t dns_off, std::string_view name, std::size_t suffix_off) {
    const std::size_t at = f_.size() - dns_off;
    if (!name.empty()) dns_name(f_, name);
    if (suffix_off) {
      f_.u16(0xc000 | static_cast<unsigned>(suffix_off));
    } else {
      f_.u8(0);
    }
    return at;
  }

  std::size_t rr_head(unsigned type, unsigned cls, std::uint32_t ttl) {
    f_.u16(type);
    f_.u16(cls);
    f_.u32(ttl);
    const std::size_t len_at = f_.size();
    f_.u16(0);
    return len_at;
  }
  void rr_end(std::size_t len_at) {
    f_.set16(len_at, static_cast<unsigned>(f_.size() - len_at - 2));
  }

  std::string instance_name(const Device& d) const {
    const Persona& p = *d.persona;
    if (p.names == NameStyle::kMac || p.names == NameStyle::kIphone) {
      // "Alices-MacBook-Pro" -> "Alice’s MacBook Pro": Apple's UTF-8 apostrophe.
      std::string s = d.hostname;
      const std::size_t dash = s.find("s-");
      if (dash != std::string::npos) s.replace(dash, 2, "\xe2\x80\x99s ");
      std::replace(s.begin(), s.end(), '-', ' ');
      return s;
    }
    if (p.names == NameStyle::kLinux) return d.hostname + " [" + mac_text(d.mac) + "]";
    if (p.names == NameStyle::kHpPrinter) return "HP LaserJet MFP M234sdw (" + d.hostname + ")";
    if (p.names == NameStyle::kBrother) return "Brother HL-L2350DW series";
    return d.hostname;
  }

  void mdns_announce(std::uint32_t dev, bool v6) {
    const Device& d = devices_[dev];
    const Persona& p = *d.persona;
    const Segment& seg = segments_[d.segment];
    Ipv6 group6{};
    group6[0] = 0xff;
    group6[1] = 0x02;
    group6[15] = 0xfb;
    const Ip src = v6 ? ip6(d.ll) : ip4(d.ipv4);
    const Ip dst = v6 ? ip6(group6) : ip4(0xe00000fb);
    eth(seg, multicast_mac(dst), d.mac, v6 ? 0x86dd : 0x0800);
    const std::size_t ip_off = ip_header(src, dst, 17, 255);
    udp_header(5353, 5353);
    const std::size_t dns = f_.size();
    const bool with_aaaa = !is_zero(d.ll);
    const unsigned answers = 4 + (with_aaaa ? 1 : 0);
    f_.u16(0);
    f_.u16(0x8400);  // response, authoritative
    f_.u16(0);
    f_.u16(answers);
    f_.u16(0);
    f_.u16(0);
    // host.local A
    const std::string host = d.hostname;
    const std::size_t host_off = put_name(dns, host + ".local", 0);
    const std::size_t local_off = host_off + 1 + host.size();
    std::size_t len_at = rr_head(1, 0x8001, 120);
    f_.u32(d.ipv4);
    rr_end(len_at);
    if (with_aaaa) {
      put_name(dns, "", host_off);
      len_at = rr_head(28, 0x8001, 120);
      f_.bytes(d.ll);
      rr_end(len_at);
    }
    // reverse PTR
    char rev[40];
    std::snprintf(rev, sizeof rev, "%u.%u.%u.%u.in-addr.arpa", d.ipv4 & 0xff, (d.ipv4 >> 8) & 0xff,
                  (d.ipv4 >> 16) & 0xff, d.ipv4 >> 24);
    put_name(dns, rev, 0);
    len_at = rr_head(12, 0x8001, 120);
    f_.u16(0xc000 | static_cast<unsigned>(host_off));
    rr_end(len_at);
    // service PTR -> instance, instance SRV -> host
    const std::size_t svc_off = put_name(dns, p.mdns_service, local_off);
    len_at = rr_head(12, 1, 4500);
    const std::size_t inst_off = f_.size() - dns;
    const std::string inst = instance_name(d);
    f_.u8(static_cast<unsigned>(inst.size()));
    f_.str(inst);
    f_.u16(0xc000 | static_cast<unsigned>(svc_off));
    rr_end(len_at);
    f_.u16(0xc000 | static_cast<unsigned>(inst_off));
    len_at = rr_head(33, 0x8001, 120);
    f_.u16(0);
    f_.u16(0);
    f_.u16(d.mdns_port);
    f_.u16(0xc000 | static_cast<unsigned>(host_off));
    rr_end(len_at);
    finish_ip(ip_off, v6, 17, 6);
    fact_name(dev, "mdns", host + ".local");
    fact_own_ip(dev, src);
    fact_source(dev, "mdns");
    if (v6) {
      fact_ipv6(dev, d.ll, "mdns");
    } else {
      fact_ipv4(dev, d.ipv4, "mdns");
    }
    send(dev, seg);
  }

  void mdns_query(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    static constexpr std::string_view kQueries[] = {"_airplay._tcp.local", "_googlecast._tcp.local",
                                                    "_ipp._tcp.local", "_raop._tcp.local",
                                                    "_services._dns-sd._udp.local"};
    const Ip src = ip4(d.ipv4);
    const Ip dst = ip4(0xe00000fb);
    eth(seg, multicast_mac(dst), d.mac, 0x0800);
    const std::size_t ip_off = ip_header(src, dst, 17, 255);
    udp_header(5353, 5353);
    const std::size_t dns = f_.size();
    f_.u16(0);
    f_.u16(0);
    f_.u16(1);
    f_.u16(0);
    f_.u16(0);
    f_.u16(0);
    put_name(dns, traffic_rng_.pick(std::span<const std::string_view>(kQueries)), 0);
    f_.u16(12);
    f_.u16(1);
    finish_ip(ip_off, false, 17, 6);
    fact_own_ip(dev, src);
    send(dev, seg);
  }

  // step 0: NAME<00> unique, 1: NAME<20> unique, 2: WORKGROUP<00> group.
  void nbns_register(std::uint32_t dev, unsigned step) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[d.segment];
    const std::uint32_t bcast = seg.net | 0xffff;
    eth(seg, kBroadcast, d.mac, 0x0800);
    const std::size_t ip_off = ip_header(ip4(d.ipv4), ip4(bcast), 17, d.persona->ttl);
    udp_header(137, 137);
    f_.u16(static_cast<unsigned>(mix(d.xid, step) & 0xffff));
    f_.u16(0x2910);  // registration, recursion desired, broadcast
    f_.u16(1);
    f_.u16(0);
    f_.u16(0);
    f_.u16(1);
    std::string name = step == 2 ? "WORKGROUP" : d.hostname;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    name.resize(15, ' ');
    name += static_cast<char>(step == 1 ? 0x20 : 0x00);
    f_.u8(32);
    for (unsigned char c : name) {
      f_.u8('A' + (c >> 4));
      f_.u8('A' + (c & 0x0f));
    }
    f_.u8(0);
    f_.u16(0x20);  // NB
    f_.u16(1);
    f_.u16(0xc00c);
    f_.u16(0x20);
    f_.u16(1);
    f_.u32(300000);
    f_.u16(6);
    f_.u16(step == 2 ? 0x8000 : 0x0000);
    f_.u32(d.ipv4);
    finish_ip(ip_off, false, 17, 6);
    if (step == 0) fact_name(dev, "nbns", d.hostname);
    fact_ipv4(dev, d.ipv4, "nbns");
    send(dev, seg);
  }

  // -- LLDP (IEEE 802.1AB) and CDP ------------------------------------------------------------

  void lldp_tlv(unsigned type, std::size_t len) {
    f_.u16((type << 9) | static_cast<unsigned>(len));
  }

  std::string port_name(const Device& d) const {
    return std::string(d.switch_kind->port_prefix) + std::to_string(1 + (d.mac[5] % 48));
  }

  void lldp(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[0];
    static constexpr Mac kNearestBridge = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e};
    eth(seg, kNearestBridge, d.mac, 0x88cc);
    lldp_tlv(1, 7);  // chassis ID: MAC address
    f_.u8(4);
    f_.bytes(d.mac);
    const std::string port = port_name(d);
    lldp_tlv(2, 1 + port.size());  // port ID: interface name
    f_.u8(5);
    f_.str(port);
    lldp_tlv(3, 2);
    f_.u16(120);
    const std::string_view port_desc = "uplink to fw-branch-01";
    lldp_tlv(4, port_desc.size());
    f_.str(port_desc);
    lldp_tlv(5, d.hostname.size());
    f_.str(d.hostname);
    lldp_tlv(6, d.switch_kind->description.size());
    f_.str(d.switch_kind->description);
    lldp_tlv(7, 4);  // capabilities: bridge, enabled
    f_.u16(0x0004);
    f_.u16(0x0004);
    lldp_tlv(8, 12);  // management address
    f_.u8(5);
    f_.u8(1);
    f_.u32(d.ipv4);
    f_.u8(2);
    f_.u32(1);
    f_.u8(0);
    lldp_tlv(0, 0);
    fact_name(dev, "lldp", d.hostname);
    fact_source(dev, "lldp");
    send(dev, seg);
  }

  void cdp(std::uint32_t dev) {
    const Device& d = devices_[dev];
    const Segment& seg = segments_[0];
    static constexpr Mac kCdpGroup = {0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc};
    f_.clear();
    f_.bytes(kCdpGroup);
    f_.bytes(d.mac);
    const std::size_t len_at = f_.size();
    f_.u16(0);  // 802.3 length
    static constexpr std::uint8_t kSnap[] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00};
    f_.bytes(kSnap);
    const std::size_t cdp_off = f_.size();
    f_.u8(2);
    f_.u8(180);
    f_.u16(0);
    auto tlv = [&](unsigned type, std::string_view value) {
      f_.u16(type);
      f_.u16(static_cast<unsigned>(4 + value.size()));
      f_.str(value);
    };
    const std::string device_id = d.hostname + "." + std::string(kDomain);
    tlv(0x0001, device_id);
    f_.u16(0x0002);  // addresses: one IPv4 (NLPID 0xcc)
    f_.u16(4 + 4 + 5 + 4);
    f_.u32(1);
    f_.u8(1);
    f_.u8(1);
    f_.u8(0xcc);
    f_.u16(4);
    f_.u32(d.ipv4);
    tlv(0x0003, port_name(d));
    f_.u16(0x0004);
    f_.u16(8);
    f_.u32(0x28);  // switch, IGMP
    std::string software = std::string(d.switch_kind->description);
    // The CDP checksum of an odd-length PDU is computed differently by Cisco; keep it even.
    if ((f_.size() - cdp_off + 4 + software.size() + 4 + 23 + 6 + 5) % 2 != 0) software += '\n';
    tlv(0x0005, software);
    tlv(0x0006, "cisco WS-C2960X-48FPD-L");
    f_.u16(0x000a);  // native VLAN
    f_.u16(6);
    f_.u16(1);
    f_.u16(0x000b);  // duplex: full
    f_.u16(5);
    f_.u8(1);
    f_.set16(cdp_off + 2, fold(sum16(f_.at(cdp_off), f_.size() - cdp_off, 0)));
    f_.set16(len_at, static_cast<unsigned>(f_.size() - len_at - 2));
    fact_name(dev, "cdp", device_id);
    fact_source(dev, "cdp");
    send(dev, seg);
  }

  // -- bulk traffic ---------------------------------------------------------------------------

  // Frame size for a data frame: downstream is mostly full-size segments, upstream mostly ACKs.
  std::size_t data_frame_size(bool downstream) {
    Rng& r = traffic_rng_;
    const std::uint64_t roll = r.below(100);
    auto in = [&](std::size_t lo, std::size_t hi) {
      return static_cast<std::size_t>(r.between(lo, hi));
    };
    if (downstream) {
      if (roll < 80) return r.percent(85) ? kMaxFrame : in(1000, kMaxFrame);
      if (roll < 92) return in(200, 1000);
      return 0;  // header only (an ACK)
    }
    if (roll < 60) return 0;
    if (roll < 80) return in(80, 300);
    return in(300, kMaxFrame);
  }

  Ip internet_v4() {
    Rng& r = traffic_rng_;
    const std::uint64_t i = r.percent(50) ? r.below(64) : r.below(remote_v4_pool_);
    // Spread over 198.18.0.0/15 (RFC 2544 benchmarking space) by an odd multiplier.
    return ip4(0xc6120000u | static_cast<std::uint32_t>((i * 40503u) & 0x1ffff));
  }

  Ip internet_v6() {
    Rng& r = traffic_rng_;
    const std::uint64_t i = r.percent(50) ? r.below(32) : r.below(remote_v6_pool_);
    Ipv6 a{0x20, 0x01, 0x0d, 0xb8, 0x80};
    const std::uint64_t h = mix(i, 0x6);
    for (int k = 0; k < 8; ++k) a[8 + k] = static_cast<std::uint8_t>(h >> (8 * k));
    a[5] = static_cast<std::uint8_t>(i >> 8);
    a[6] = static_cast<std::uint8_t>(i);
    return ip6(a);
  }

  Ip host_ip(const Device& d, bool v6) {
    if (!v6) return ip4(d.ipv4);
    if (!is_zero(d.dhcp6) && traffic_rng_.percent(30)) return ip6(d.dhcp6);
    return ip6(d.global);
  }

  // One TCP or UDP frame. The frame is credited to `l2_src`.
  void ip_frame(const Segment& seg, const Mac& dst_mac, const Mac& src_mac, std::uint32_t l2_src,
                const Ip& src, const Ip& dst, bool udp, unsigned sport, unsigned dport,
                unsigned ttl, std::size_t size) {
    eth(seg, dst_mac, src_mac, src.v6 ? 0x86dd : 0x0800);
    const std::size_t ip_off = ip_header(src, dst, udp ? 17 : 6, ttl);
    if (udp) {
      udp_header(sport, dport);
    } else {
      f_.u16(sport);
      f_.u16(dport);
      f_.u32(static_cast<std::uint32_t>(traffic_rng_.next()));
      f_.u32(static_cast<std::uint32_t>(traffic_rng_.next()));
      f_.u16(0x5000 | (size == 0 ? 0x10 : 0x18));  // ACK, or PSH+ACK with data
      f_.u16(src.v6 ? 1024 : 502);
      f_.u16(0);
      f_.u16(0);
    }
    if (udp && size == 0) size = 80 + traffic_rng_.index(200);
    if (size > f_.size()) {
      const std::size_t payload_at = f_.size();
      f_.random(size - f_.size(), payload_rng_);
      // UDP here is QUIC on 443: a short-header first byte (form 0, fixed bit 1), so that no
      // dissector mistakes the random bytes for RTP/RTCP.
      if (udp) f_.set8(payload_at, 0x40 | (*f_.at(payload_at) & 0x3f));
    }
    finish_ip(ip_off, src.v6, udp ? 17 : 6, udp ? 6 : 16);
    send(l2_src, seg);
  }

  unsigned ephemeral(const Device& d) {
    const bool windows = d.persona && d.persona->ttl == 128;
    return static_cast<unsigned>(windows ? traffic_rng_.between(49152, 65535)
                                         : traffic_rng_.between(32768, 60999));
  }

  unsigned service_port() {
    const std::uint64_t roll = traffic_rng_.below(100);
    return roll < 85 ? 443 : roll < 90 ? 8443 : roll < 95 ? 993 : 22;
  }

  void internet_traffic(std::uint32_t h, bool udp) {
    Device& d = devices_[h];
    const Device& gw = devices_[0];
    const Segment& seg = segments_[d.segment];
    const bool v6 = !is_zero(d.global) && traffic_rng_.percent(25);
    const Ip local = host_ip(d, v6);
    const Ip remote = v6 ? internet_v6() : internet_v4();
    const bool down = traffic_rng_.percent(55);
    const unsigned port = udp ? 443 : service_port();
    const unsigned eph = ephemeral(d);
    const std::size_t size = data_frame_size(down);
    if (down) {
      ip_frame(seg, d.mac, gw.mac, 0, remote, local, udp, port, eph,
               static_cast<unsigned>(40 + traffic_rng_.below(20)), size);
      fact_routed(0, remote);
    } else {
      ip_frame(seg, gw.mac, d.mac, h, local, remote, udp, eph, port, d.persona->ttl, size);
      fact_own_ip(h, local);
    }
  }

  bool local_traffic(std::uint32_t h) {
    const Device& d = devices_[h];
    const auto& peers = active_by_segment_[d.segment];
    if (peers.size() < 2) return false;
    std::uint32_t p = peers[traffic_rng_.index(peers.size())];
    if (p == h) return false;
    const Device& peer = devices_[p];
    const Segment& seg = segments_[d.segment];
    const bool v6 = !is_zero(d.global) && !is_zero(peer.global) && traffic_rng_.percent(20);
    static constexpr unsigned kPorts[] = {445, 22, 9100, 8009, 1400, 443, 3389};
    const unsigned port = traffic_rng_.pick(std::span<const unsigned>(kPorts));
    const bool reply = traffic_rng_.percent(50);
    const std::uint32_t from = reply ? p : h;
    const std::uint32_t to = reply ? h : p;
    const Device& a = devices_[from];
    const Device& b = devices_[to];
    const Ip src = host_ip(a, v6);
    const Ip dst = host_ip(b, v6);
    // Draws in statements of their own: the order of evaluation of arguments is unspecified,
    // and the output must not depend on the compiler.
    const unsigned eph = ephemeral(a);
    const std::size_t size = data_frame_size(reply);
    ip_frame(seg, b.mac, a.mac, from, src, dst, false, reply ? port : eph, reply ? eph : port,
             a.persona->ttl, size);
    fact_own_ip(from, src);
    return true;
  }

  // Host on one VLAN to a host on another, through the gateway: both legs are on the trunk, and
  // the second one shows the gateway's MAC with an internal, off-segment source address.
  bool inter_vlan_traffic(std::uint32_t h) {
    if (segments_.size() < 2) return false;
    const Device& d = devices_[h];
    const std::uint32_t p = pick_local_host();
    if (p == kNoDevice || devices_[p].segment == d.segment) return false;
    const Device& peer = devices_[p];
    const Device& gw = devices_[0];
    const unsigned eph = ephemeral(d);
    const std::size_t size = data_frame_size(false);
    const Ip src = ip4(d.ipv4);
    const Ip dst = ip4(peer.ipv4);
    ip_frame(segments_[d.segment], gw.mac, d.mac, h, src, dst, false, eph, 445, d.persona->ttl,
             size);
    fact_own_ip(h, src);
    ip_frame(segments_[peer.segment], peer.mac, gw.mac, 0, src, dst, false, eph, 445,
             d.persona->ttl - 1u, size);
    fact_routed(0, src);
    return true;
  }

  // A remote client's traffic crosses the transit VLAN between its relay router and the gateway.
  void relayed_traffic(std::uint32_t h) {
    const Device& d = devices_[h];
    const std::uint32_t relay = d.relay;
    const Device& rr = devices_[relay];
    const Device& gw = devices_[0];
    const Segment& seg = segments_[rr.segment];
    const Ip local = ip4(d.ipv4);
    const Ip remote = internet_v4();
    const bool down = traffic_rng_.percent(55);
    const unsigned eph = ephemeral(d);
    const unsigned port = service_port();
    const std::size_t size = data_frame_size(down);
    if (down) {
      ip_frame(seg, rr.mac, gw.mac, 0, remote, local, false, port, eph,
               static_cast<unsigned>(40 + traffic_rng_.below(20)), size);
      fact_routed(0, remote);
    } else {
      ip_frame(seg, gw.mac, rr.mac, relay, local, remote, false, eph, port, d.persona->ttl - 1u,
               size);
      fact_routed(relay, local);
    }
  }

  // -- truth ----------------------------------------------------------------------------------

  static std::string join(const std::vector<std::string>& v) {
    if (v.empty()) return "-";
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      out += v[i];
    }
    return out;
  }

  static std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

  std::string params() const {
    std::string s =
        "seed=" + std::to_string(o_.seed) + " packets=" + std::to_string(o_.packets) +
        " macs=" + std::to_string(o_.macs) + " vlans=" + std::to_string(o_.vlans) +
        " routers=" + std::to_string(o_.routers) + " switches=" + std::to_string(o_.switches) +
        " randomized-pct=" + std::to_string(o_.randomized_pct) +
        " duration=" + std::to_string(o_.duration_s) + " start=" + std::to_string(o_.start);
    s += registry_.empty() ? " oui-csv=none"
                           : " oui-csv=" + std::to_string(registry_.size()) + "-rows";
    return s;
  }

  void write_truth() const {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(o_.truth.c_str(), "wb"), &std::fclose);
    if (!file) {
      throw std::runtime_error("cannot create " + o_.truth + ": " + std::strerror(errno));
    }
    FILE* out = file.get();
    std::fprintf(out, "# edgeid-gen-capture truth v%s: %s\n", kTruthVersion.data(),
                 params().c_str());
    std::fputs(
        "# One row per device (MAC) that the capture shows: as an Ethernet source, or only as the\n"
        "# chaddr of relayed DHCP (role remote). Lists are comma-separated, '-' = none.\n"
        "# vlans: tagged VLANs it sent on, QinQ as outer.inner (untagged frames add nothing).\n"
        "# ipv4/ipv6: its own addresses (ARP, DHCP ACK, NDP, DHCPv6 Reply, own source addresses);\n"
        "# addresses a router forwards are only counted in routed_sources. names: source:name.\n"
        "# frames/bytes: frames it sent as Ethernet source. vendor: IEEE MA-L organisation.\n"
        "# dhcp_prl: option 55 in wire order; dhcp_client_id: colon hex; dhcpv6_duid: plain hex.\n",
        out);
    std::fputs(
        "mac\trandomized\trole\tprofile\tvendor\tvlans\tipv4\tipv6\thostname\thostname_source\t"
        "names\tdhcp_vendor_class\tdhcp_prl\tdhcp_client_id\tdhcpv6_duid\tsources\tframes\tbytes\t"
        "routed_sources\n",
        out);
    std::vector<std::uint32_t> order(devices_.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return devices_[a].mac < devices_[b].mac; });
    static constexpr std::pair<std::string_view, std::string_view> kPriority[] = {
        {"dhcp", "dhcp"}, {"dhcpv6_fqdn", "dhcpv6"}, {"mdns", "mdns"},
        {"nbns", "nbns"}, {"lldp", "lldp"},          {"cdp", "cdp"}};
    for (const std::uint32_t i : order) {
      const Device& d = devices_[i];
      const Facts& fx = d.facts;
      std::vector<std::string> vlans, v4, v6, names, sources;
      for (auto s : fx.vlans) vlans.push_back(segments_[s].label);
      for (auto a : fx.ipv4) v4.push_back(ipv4_text(a));
      for (const auto& a : fx.ipv6) v6.push_back(ipv6_text(a));
      for (const auto& [src, name] : fx.names) {
        std::string entry = src;
        entry += ':';
        entry += name;
        names.push_back(std::move(entry));
      }
      for (const auto& s : fx.sources) sources.push_back(s);
      std::string hostname, hostname_source;
      for (const auto& [key, label] : kPriority) {
        auto it = fx.names.find(std::string(key));
        if (it == fx.names.end()) continue;
        hostname = it->second;
        if (key == "mdns" && hostname.ends_with(".local")) hostname.resize(hostname.size() - 6);
        hostname_source = label;
        break;
      }
      const std::string_view role = d.role == Role::kRouter   ? "router"
                                    : d.role == Role::kSwitch ? "switch"
                                    : d.role == Role::kRemote ? "remote"
                                                              : "host";
      const std::string profile = d.persona ? std::string(d.persona->name) : std::string(role);
      std::fprintf(
          out, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%llu\t%llu\t%zu\n",
          mac_text(d.mac).c_str(), d.randomized ? 1 : 0, role.data(), profile.c_str(),
          d.randomized ? "-" : or_dash(d.vendor).c_str(), join(vlans).c_str(), join(v4).c_str(),
          join(v6).c_str(), or_dash(hostname).c_str(), or_dash(hostname_source).c_str(),
          join(names).c_str(), or_dash(fx.vendor_class).c_str(), or_dash(fx.prl).c_str(),
          or_dash(fx.client_id).c_str(), or_dash(fx.duid).c_str(), join(sources).c_str(),
          static_cast<unsigned long long>(fx.frames), static_cast<unsigned long long>(fx.bytes),
          fx.routed.size());
    }
    if (std::fflush(out) != 0 || std::ferror(out)) {
      throw std::runtime_error("write to " + o_.truth + " failed");
    }
  }

  void report() const {
    std::size_t randomized = 0, remote = 0, routers = 0, switches = 0;
    for (const auto& d : devices_) {
      randomized += d.randomized;
      remote += d.role == Role::kRemote;
      routers += d.role == Role::kRouter;
      switches += d.role == Role::kSwitch;
    }
    std::fprintf(stderr,
                 "edgeid-gen-capture: %s: %llu frames, %llu bytes (mean %llu), %zu devices "
                 "(%zu routers, %zu switches, %zu remote, %zu randomized), %zu VLAN segments; "
                 "truth: %s\n",
                 o_.out.c_str(), static_cast<unsigned long long>(written_),
                 static_cast<unsigned long long>(total_bytes_),
                 static_cast<unsigned long long>(written_ ? total_bytes_ / written_ : 0),
                 devices_.size(), routers, switches, remote, randomized, segments_.size(),
                 o_.truth.c_str());
  }

  const Options& o_;
  Rng device_rng_, schedule_rng_, traffic_rng_, payload_rng_;
  std::vector<RegistryRow> registry_;
  std::vector<Segment> segments_;
  unsigned transit_ = 0;
  std::vector<Device> devices_;
  std::unordered_set<std::uint64_t> used_macs_;
  std::set<std::string> used_names_;
  std::vector<Item> items_;

  PcapWriter* writer_ = nullptr;
  Frame f_;
  std::size_t icmp_ip_off_ = 0;
  std::uint64_t ts_us_ = 0, mean_gap_us_ = 1, written_ = 0, total_bytes_ = 0;
  std::uint64_t remote_v4_pool_ = 256, remote_v6_pool_ = 64;
  std::vector<std::uint32_t> endpoints_, active_mdns_, active_v6_;
  std::vector<std::vector<std::uint32_t>> active_by_segment_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse_options(argc, argv);
    Generator(options).run();
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "edgeid-gen-capture: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgeid-gen-capture: %s\n", e.what());
    return 1;
  }
}
