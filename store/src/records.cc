#include "store/records.h"

#include <cstring>
#include <limits>

#include "store/codec.h"
#include "store/error.h"

namespace edgeid::store {

// ---- StringTable ----

std::uint32_t StringTable::intern(std::string_view text) {
  if (auto it = by_text_.find(text); it != by_text_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(by_id_.size());
  by_id_.emplace_back(text);
  by_text_.emplace(by_id_.back(), id);
  return id;
}

std::optional<std::string_view> StringTable::lookup(std::uint32_t id) const {
  if (id >= by_id_.size()) return std::nullopt;
  return std::string_view(by_id_[id]);
}

void StringTable::load(std::uint32_t id, std::string text) {
  if (id >= by_id_.size()) by_id_.resize(id + 1);
  by_text_.emplace(text, id);
  by_id_[id] = std::move(text);
  committed_ = by_id_.size();
}

std::vector<std::pair<std::uint32_t, std::string_view>> StringTable::pending() const {
  std::vector<std::pair<std::uint32_t, std::string_view>> out;
  for (std::size_t i = committed_; i < by_id_.size(); ++i) {
    out.emplace_back(static_cast<std::uint32_t>(i), by_id_[i]);
  }
  return out;
}

void StringTable::rollback_pending() {
  for (std::size_t i = committed_; i < by_id_.size(); ++i) by_text_.erase(by_id_[i]);
  by_id_.resize(committed_);
}

namespace {

// ---- tagged-field helpers ----

constexpr std::uint64_t kVarint = 0;
constexpr std::int64_t kMaxSeconds = 9'000'000'000;  // inside int64 nanoseconds
constexpr std::uint64_t kBytes = 1;
constexpr std::size_t kTypicalValue = 256;

class FieldWriter {
 public:
  // One allocation per value in the common case: typical device and identity values are
  // 100-200 bytes.
  explicit FieldWriter(std::uint8_t format) {
    w_.reserve(kTypicalValue);
    w_.u8(format);
  }
  void uint(std::uint64_t field, std::uint64_t v) {
    if (v == 0) return;
    w_.varint(field << 1 | kVarint);
    w_.varint(v);
  }
  void sint(std::uint64_t field, std::int64_t v) {
    if (v == 0) return;
    w_.varint(field << 1 | kVarint);
    w_.svarint(v);
  }
  void bytes(std::uint64_t field, Bytes b) {
    if (b.empty()) return;
    w_.varint(field << 1 | kBytes);
    w_.bytes(b);
  }
  void str(std::uint64_t field, std::string_view s) { bytes(field, as_bytes(s)); }
  void interned(std::uint64_t field, std::string_view s, StringTable& t) {
    if (!s.empty()) uint(field, t.intern(s));
  }
  void time(std::uint64_t field, platform::Timestamp t) { sint(field, t.unix_seconds()); }
  void mac(std::uint64_t field, const platform::MacAddress& m) {
    if (!m.is_zero()) bytes(field, m.bytes());
  }
  void guid(std::uint64_t field, const platform::Guid& g) {
    if (!g.is_nil()) bytes(field, g.bytes());
  }
  template <std::size_t N>
  void packed(std::uint64_t field, const std::vector<std::array<std::uint8_t, N>>& items) {
    if (items.empty()) return;
    w_.varint(field << 1 | kBytes);
    w_.varint(items.size() * N);
    for (const auto& a : items) w_.raw(a);
  }
  /// Unsigned 16-bit numbers as varints under one length prefix, written in place.
  void packed_varints(std::uint64_t field, const std::vector<std::uint16_t>& items) {
    if (items.empty()) return;
    std::size_t length = 0;
    for (auto v : items) length += v < 0x80 ? 1 : v < 0x4000 ? 2 : 3;
    w_.varint(field << 1 | kBytes);
    w_.varint(length);
    for (auto v : items) w_.varint(v);
  }
  std::vector<std::uint8_t> take() { return w_.take(); }

 private:
  ByteWriter w_;
};

// Reads fields one at a time; any malformation fails the whole value.
class FieldReader {
 public:
  FieldReader(Bytes value, std::uint8_t expected_format) : r_(value) {
    if (r_.u8() != expected_format) bad_ = true;
  }
  bool next() {
    if (bad_ || !r_.ok() || r_.at_end()) return false;
    const auto key = r_.varint();
    field_ = key >> 1;
    wire_ = key & 1;
    if (wire_ == kVarint) {
      number_ = r_.varint();
      data_ = {};
    } else {
      data_ = r_.bytes();
      number_ = 0;
    }
    return r_.ok();
  }
  std::uint64_t field() const { return field_; }
  bool is_varint() const { return wire_ == kVarint; }
  std::uint64_t number() {
    if (!is_varint()) bad_ = true;
    return number_;
  }
  std::int64_t signed_number() {
    const auto u = number();
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
  }
  Bytes data() {
    if (is_varint()) bad_ = true;
    return data_;
  }
  std::string text() {
    const auto d = data();
    return {reinterpret_cast<const char*>(d.data()), d.size()};
  }
  std::string interned(const StringTable& t) {
    const auto id = number();
    if (id > UINT32_MAX) {
      bad_ = true;
      return {};
    }
    auto s = t.lookup(static_cast<std::uint32_t>(id));
    if (!s) {
      bad_ = true;
      return {};
    }
    return std::string(*s);
  }
  /// Whole seconds within Timestamp's range (±292 years around 1970); anything else is corrupt.
  std::int64_t seconds() {
    const auto v = signed_number();
    if (v < -kMaxSeconds || v > kMaxSeconds) {
      bad_ = true;
      return 0;
    }
    return v;
  }
  platform::Timestamp time() { return platform::Timestamp::from_unix_seconds(seconds()); }
  platform::MacAddress mac() {
    const auto d = data();
    if (d.size() != 6) {
      bad_ = true;
      return {};
    }
    return *platform::MacAddress::from_wire(d);
  }
  platform::Guid guid() {
    const auto d = data();
    platform::Guid::Bytes b{};
    if (d.size() != b.size()) {
      bad_ = true;
      return {};
    }
    std::memcpy(b.data(), d.data(), b.size());
    return platform::Guid(b);
  }
  template <std::size_t N>
  std::vector<std::array<std::uint8_t, N>> packed() {
    const auto d = data();
    std::vector<std::array<std::uint8_t, N>> out;
    if (d.size() % N != 0) {
      bad_ = true;
      return out;
    }
    out.resize(d.size() / N);
    for (std::size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), d.data() + i * N, N);
    return out;
  }
  void fail() { bad_ = true; }
  std::error_code result() const {
    return (bad_ || !r_.ok()) ? std::error_code(errc::corrupt_value) : std::error_code();
  }

 private:
  ByteReader r_;
  std::uint64_t field_ = 0;
  std::uint64_t wire_ = 0;
  std::uint64_t number_ = 0;
  Bytes data_;
  bool bad_ = false;
};

// A default record that keeps only the key field of @p r.
template <class R, class K>
R with_key(const R& r, K R::*key) {
  R fresh;
  fresh.*key = r.*key;
  return fresh;
}

template <class T>
T narrow(FieldReader& r, std::uint64_t v) {
  if (v > std::numeric_limits<T>::max()) r.fail();
  return static_cast<T>(v);
}

// Field numbers are part of the on-disk format: never reuse one.
enum DeviceField : std::uint64_t {
  kDevFlags = 1,
  kDevVendor,
  kDevVlans,
  kDevIpv4,
  kDevIpv6,
  kDevHostname,
  kDevHostnameSource,
  kDevVendorClass,
  kDevParamList,
  kDevClientId,
  kDevFirstSeen,
  kDevLastSeen,
  kDevPackets,
  kDevBytes,
  kDevSources,
  kDevState,
  kDevIntuneId,
  kDevEntraId,
  kDevMatchBy,
  kDevConfidence,
  kDevConflict,
  kDevVersion
};

enum IdentityField : std::uint64_t {
  kIdEntraDeviceId = 1,
  kIdEntraObjectId,
  kIdDeviceName,
  kIdOs,
  kIdOsVersion,
  kIdEnrollment,
  kIdUpn,
  kIdEmail,
  kIdModel,
  kIdManufacturer,
  kIdSerial,
  kIdCompliance,
  kIdAgent,
  kIdOwnership,
  kIdTrustType,
  kIdLastSync,
  kIdWifiMac,
  kIdEthernetMac
};

enum OutboxField : std::uint64_t {
  kObKind = 1,
  kObPriority,
  kObEntity,
  kObEntityVersion,
  kObCreated,
  kObPayload
};

}  // namespace

std::vector<std::uint8_t> encode(const DeviceRecord& record, StringTable& strings) {
  FieldWriter w(kDeviceFormat);
  w.uint(kDevFlags, (record.randomized ? 1u : 0u) | (record.router ? 2u : 0u));
  w.interned(kDevVendor, record.vendor, strings);
  w.packed_varints(kDevVlans, record.vlans);
  w.packed(kDevIpv4, record.ipv4);
  w.packed(kDevIpv6, record.ipv6);
  w.str(kDevHostname, record.hostname);
  w.uint(kDevHostnameSource, record.hostname_source);
  w.interned(kDevVendorClass, record.dhcp_vendor_class, strings);
  w.interned(kDevParamList, record.dhcp_param_list, strings);
  w.str(kDevClientId, record.dhcp_client_id);
  w.time(kDevFirstSeen, record.first_seen);
  // last_seen as a delta from first_seen: usually small.
  w.sint(kDevLastSeen, record.last_seen.unix_seconds() - record.first_seen.unix_seconds());
  w.uint(kDevPackets, record.packets);
  w.uint(kDevBytes, record.bytes);
  w.uint(kDevSources, record.sources);
  w.uint(kDevState, record.state);
  w.guid(kDevIntuneId, record.intune_id);
  w.guid(kDevEntraId, record.entra_device_id);
  w.uint(kDevMatchBy, record.match_by);
  w.uint(kDevConfidence, record.match_confidence_permille);
  for (const auto& g : record.conflicts) w.bytes(kDevConflict, g.bytes());
  w.uint(kDevVersion, record.version);
  return w.take();
}

std::error_code decode(Bytes value, const StringTable& strings, DeviceRecord& out) {
  out = with_key(out, &DeviceRecord::mac);
  FieldReader r(value, kDeviceFormat);
  std::int64_t last_delta = 0;
  while (r.next()) {
    switch (r.field()) {
      case kDevFlags: {
        const auto f = r.number();
        out.randomized = (f & 1) != 0;
        out.router = (f & 2) != 0;
        break;
      }
      case kDevVendor: out.vendor = r.interned(strings); break;
      case kDevVlans: {
        ByteReader v(r.data());
        while (v.ok() && !v.at_end()) {
          const auto id = v.varint();
          if (id > 4095) r.fail();
          out.vlans.push_back(static_cast<std::uint16_t>(id));
        }
        if (!v.ok()) r.fail();
        break;
      }
      case kDevIpv4: out.ipv4 = r.packed<4>(); break;
      case kDevIpv6: out.ipv6 = r.packed<16>(); break;
      case kDevHostname: out.hostname = r.text(); break;
      case kDevHostnameSource: out.hostname_source = narrow<std::uint8_t>(r, r.number()); break;
      case kDevVendorClass: out.dhcp_vendor_class = r.interned(strings); break;
      case kDevParamList: out.dhcp_param_list = r.interned(strings); break;
      case kDevClientId: out.dhcp_client_id = r.text(); break;
      case kDevFirstSeen: out.first_seen = r.time(); break;
      case kDevLastSeen: last_delta = r.seconds(); break;
      case kDevPackets: out.packets = r.number(); break;
      case kDevBytes: out.bytes = r.number(); break;
      case kDevSources: out.sources = narrow<std::uint32_t>(r, r.number()); break;
      case kDevState: out.state = narrow<std::uint8_t>(r, r.number()); break;
      case kDevIntuneId: out.intune_id = r.guid(); break;
      case kDevEntraId: out.entra_device_id = r.guid(); break;
      case kDevMatchBy: out.match_by = narrow<std::uint8_t>(r, r.number()); break;
      case kDevConfidence:
        out.match_confidence_permille = narrow<std::uint16_t>(r, r.number());
        break;
      case kDevConflict: out.conflicts.push_back(r.guid()); break;
      case kDevVersion: out.version = r.number(); break;
      default: break;  // a field of a newer edgeid
    }
  }
  const auto last = out.first_seen.unix_seconds() + last_delta;
  if (last < -kMaxSeconds || last > kMaxSeconds) r.fail();
  if (!r.result()) out.last_seen = platform::Timestamp::from_unix_seconds(last);
  return r.result();
}

std::vector<std::uint8_t> encode(const IdentityRecord& record, StringTable& strings) {
  FieldWriter w(kIdentityFormat);
  w.guid(kIdEntraDeviceId, record.entra_device_id);
  w.guid(kIdEntraObjectId, record.entra_object_id);
  w.str(kIdDeviceName, record.device_name);
  w.interned(kIdOs, record.os, strings);
  w.interned(kIdOsVersion, record.os_version, strings);
  w.interned(kIdEnrollment, record.enrollment_type, strings);
  w.str(kIdUpn, record.user_principal_name);
  w.str(kIdEmail, record.email);
  w.interned(kIdModel, record.model, strings);
  w.interned(kIdManufacturer, record.manufacturer, strings);
  w.str(kIdSerial, record.serial_number);
  w.interned(kIdCompliance, record.compliance_state, strings);
  w.interned(kIdAgent, record.management_agent, strings);
  w.interned(kIdOwnership, record.ownership, strings);
  w.interned(kIdTrustType, record.trust_type, strings);
  w.time(kIdLastSync, record.last_sync);
  w.mac(kIdWifiMac, record.wifi_mac);
  w.mac(kIdEthernetMac, record.ethernet_mac);
  return w.take();
}

std::error_code decode(Bytes value, const StringTable& strings, IdentityRecord& out) {
  out = with_key(out, &IdentityRecord::intune_id);
  FieldReader r(value, kIdentityFormat);
  while (r.next()) {
    switch (r.field()) {
      case kIdEntraDeviceId: out.entra_device_id = r.guid(); break;
      case kIdEntraObjectId: out.entra_object_id = r.guid(); break;
      case kIdDeviceName: out.device_name = r.text(); break;
      case kIdOs: out.os = r.interned(strings); break;
      case kIdOsVersion: out.os_version = r.interned(strings); break;
      case kIdEnrollment: out.enrollment_type = r.interned(strings); break;
      case kIdUpn: out.user_principal_name = r.text(); break;
      case kIdEmail: out.email = r.text(); break;
      case kIdModel: out.model = r.interned(strings); break;
      case kIdManufacturer: out.manufacturer = r.interned(strings); break;
      case kIdSerial: out.serial_number = r.text(); break;
      case kIdCompliance: out.compliance_state = r.interned(strings); break;
      case kIdAgent: out.management_agent = r.interned(strings); break;
      case kIdOwnership: out.ownership = r.interned(strings); break;
      case kIdTrustType: out.trust_type = r.interned(strings); break;
      case kIdLastSync: out.last_sync = r.time(); break;
      case kIdWifiMac: out.wifi_mac = r.mac(); break;
      case kIdEthernetMac: out.ethernet_mac = r.mac(); break;
      default: break;
    }
  }
  return r.result();
}

std::vector<std::uint8_t> encode(const OutboxItem& item) {
  FieldWriter w(kOutboxFormat);
  w.uint(kObKind, item.kind);
  w.uint(kObPriority, item.priority);
  w.str(kObEntity, item.entity);
  w.uint(kObEntityVersion, item.entity_version);
  w.time(kObCreated, item.created);
  w.str(kObPayload, item.payload);
  return w.take();
}

std::error_code decode(Bytes value, OutboxItem& out) {
  out = with_key(out, &OutboxItem::seq);
  FieldReader r(value, kOutboxFormat);
  while (r.next()) {
    switch (r.field()) {
      case kObKind: out.kind = narrow<std::uint8_t>(r, r.number()); break;
      case kObPriority: out.priority = narrow<std::uint8_t>(r, r.number()); break;
      case kObEntity: out.entity = r.text(); break;
      case kObEntityVersion: out.entity_version = r.number(); break;
      case kObCreated: out.created = r.time(); break;
      case kObPayload: out.payload = r.text(); break;
      default: break;
    }
  }
  return r.result();
}

}  // namespace edgeid::store
