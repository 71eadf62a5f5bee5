// PackedDevice (merge.h): the observed part of a device record in one buffer.
#include <cstring>

#include "agent/merge.h"

namespace edgeid::agent {

namespace {

// Fixed part, at these offsets.
constexpr std::size_t kSize = 0;         // u32: the whole buffer
constexpr std::size_t kMac = 4;          // 6 bytes
constexpr std::size_t kFlags = 10;       // bit 0 randomized, bit 1 router
constexpr std::size_t kNameSource = 11;  // u8
constexpr std::size_t kFirstSeen = 12;   // i64 ns
constexpr std::size_t kLastSeen = 20;    // i64 ns
constexpr std::size_t kPackets = 28;     // u64
constexpr std::size_t kBytes = 36;       // u64
constexpr std::size_t kSources = 44;     // u32
constexpr std::size_t kVlans = 48;       // u32 count
constexpr std::size_t kIpv4 = 52;        // u32 count
constexpr std::size_t kIpv6 = 56;        // u32 count
constexpr std::size_t kFixed = 60;
// Then the strings, each a u32 length and its bytes: hostname (first: read for every device in
// every round), vendor, DHCP vendor class, parameter list, client id; then the lists.

template <typename T>
T load(const std::uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store_at(std::uint8_t* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

std::unique_ptr<std::uint8_t[]> pack(const store::DeviceRecord& r) {
  const std::string_view texts[] = {r.hostname, r.vendor, r.dhcp_vendor_class, r.dhcp_param_list,
                                    r.dhcp_client_id};
  std::size_t size = kFixed;
  for (const auto t : texts) size += 4 + t.size();
  size += r.vlans.size() * 2 + r.ipv4.size() * 4 + r.ipv6.size() * 16;
  auto out = std::make_unique<std::uint8_t[]>(size);
  std::uint8_t* p = out.get();
  store_at(p + kSize, static_cast<std::uint32_t>(size));
  std::memcpy(p + kMac, r.mac.bytes().data(), 6);
  p[kFlags] = static_cast<std::uint8_t>((r.randomized ? 1U : 0U) | (r.router ? 2U : 0U));
  p[kNameSource] = r.hostname_source;
  store_at(p + kFirstSeen, static_cast<std::int64_t>(r.first_seen.since_epoch().count()));
  store_at(p + kLastSeen, static_cast<std::int64_t>(r.last_seen.since_epoch().count()));
  store_at(p + kPackets, r.packets);
  store_at(p + kBytes, r.bytes);
  store_at(p + kSources, r.sources);
  store_at(p + kVlans, static_cast<std::uint32_t>(r.vlans.size()));
  store_at(p + kIpv4, static_cast<std::uint32_t>(r.ipv4.size()));
  store_at(p + kIpv6, static_cast<std::uint32_t>(r.ipv6.size()));
  std::uint8_t* at = p + kFixed;
  for (const auto t : texts) {
    store_at(at, static_cast<std::uint32_t>(t.size()));
    if (!t.empty()) std::memcpy(at + 4, t.data(), t.size());
    at += 4 + t.size();
  }
  for (const auto v : r.vlans) {
    store_at(at, v);
    at += 2;
  }
  for (const auto& a : r.ipv4) {
    std::memcpy(at, a.data(), 4);
    at += 4;
  }
  for (const auto& a : r.ipv6) {
    std::memcpy(at, a.data(), 16);
    at += 16;
  }
  return out;
}

}  // namespace

PackedDevice::PackedDevice(const store::DeviceRecord& record)
    : state(record.state),
      intune_id(record.intune_id),
      entra_device_id(record.entra_device_id),
      match_by(record.match_by),
      match_confidence_permille(record.match_confidence_permille),
      conflicts(record.conflicts),
      version(record.version),
      observed_(pack(record)) {}

PackedDevice::PackedDevice(const PackedDevice& other)
    : state(other.state),
      intune_id(other.intune_id),
      entra_device_id(other.entra_device_id),
      match_by(other.match_by),
      match_confidence_permille(other.match_confidence_permille),
      conflicts(other.conflicts),
      version(other.version) {
  if (other.observed_) {
    const std::size_t n = other.observed_size();
    observed_ = std::make_unique<std::uint8_t[]>(n);
    std::memcpy(observed_.get(), other.observed_.get(), n);
  }
}

PackedDevice& PackedDevice::operator=(const PackedDevice& other) {
  if (this != &other) *this = PackedDevice(other);
  return *this;
}

std::size_t PackedDevice::observed_size() const noexcept {
  return observed_ ? load<std::uint32_t>(observed_.get() + kSize) : 0;
}

void PackedDevice::set_observed(const store::DeviceRecord& record) {
  observed_ = pack(record);
}

platform::MacAddress PackedDevice::mac() const noexcept {
  if (!observed_) return {};
  platform::MacAddress::Bytes b{};
  std::memcpy(b.data(), observed_.get() + kMac, 6);
  return platform::MacAddress(b);
}

bool PackedDevice::randomized() const noexcept {
  return observed_ && (observed_[kFlags] & 1U) != 0;
}

platform::Timestamp PackedDevice::last_seen() const noexcept {
  if (!observed_) return {};
  return platform::Timestamp(
      std::chrono::nanoseconds(load<std::int64_t>(observed_.get() + kLastSeen)));
}

std::uint8_t PackedDevice::hostname_source() const noexcept {
  return observed_ ? observed_[kNameSource] : 0;
}

std::string_view PackedDevice::hostname() const noexcept {
  if (!observed_) return {};
  const auto n = load<std::uint32_t>(observed_.get() + kFixed);
  return {reinterpret_cast<const char*>(observed_.get() + kFixed + 4), n};
}

store::DeviceRecord PackedDevice::record() const {
  store::DeviceRecord r;
  r.state = state;
  r.intune_id = intune_id;
  r.entra_device_id = entra_device_id;
  r.match_by = match_by;
  r.match_confidence_permille = match_confidence_permille;
  r.conflicts = conflicts;
  r.version = version;
  if (!observed_) return r;
  const std::uint8_t* p = observed_.get();
  r.mac = mac();
  r.randomized = (p[kFlags] & 1U) != 0;
  r.router = (p[kFlags] & 2U) != 0;
  r.hostname_source = p[kNameSource];
  r.first_seen = platform::Timestamp(std::chrono::nanoseconds(load<std::int64_t>(p + kFirstSeen)));
  r.last_seen = last_seen();
  r.packets = load<std::uint64_t>(p + kPackets);
  r.bytes = load<std::uint64_t>(p + kBytes);
  r.sources = load<std::uint32_t>(p + kSources);
  const std::uint8_t* at = p + kFixed;
  std::string* const texts[] = {&r.hostname, &r.vendor, &r.dhcp_vendor_class, &r.dhcp_param_list,
                                &r.dhcp_client_id};
  for (std::string* t : texts) {
    const auto n = load<std::uint32_t>(at);
    t->assign(reinterpret_cast<const char*>(at + 4), n);
    at += 4 + n;
  }
  r.vlans.resize(load<std::uint32_t>(p + kVlans));
  for (auto& v : r.vlans) {
    v = load<std::uint16_t>(at);
    at += 2;
  }
  r.ipv4.resize(load<std::uint32_t>(p + kIpv4));
  for (auto& a : r.ipv4) {
    std::memcpy(a.data(), at, 4);
    at += 4;
  }
  r.ipv6.resize(load<std::uint32_t>(p + kIpv6));
  for (auto& a : r.ipv6) {
    std::memcpy(a.data(), at, 16);
    at += 16;
  }
  return r;
}

bool operator==(const PackedDevice& a, const PackedDevice& b) noexcept {
  const std::size_t n = a.observed_size();
  return a.state == b.state && a.intune_id == b.intune_id &&
         a.entra_device_id == b.entra_device_id && a.match_by == b.match_by &&
         a.match_confidence_permille == b.match_confidence_permille && a.conflicts == b.conflicts &&
         a.version == b.version && n == b.observed_size() &&
         (n == 0 || std::memcmp(a.observed_.get(), b.observed_.get(), n) == 0);
}

}  // namespace edgeid::agent
