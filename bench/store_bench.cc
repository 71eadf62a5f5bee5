// Store benchmark: size on disk per device record after compaction, one write transaction of
// 50 k changed records, and point look-ups per second. Each figure is reported with a baseline
// measured in the same run on the same disk: raw LMDB puts/gets of opaque values of the same
// size (the floor our codecs and batching sit on). The update transaction is timed in --rounds
// interleaved rounds (edgeid, then raw LMDB, each on a different set of records) and the
// medians are reported, with the thread's CPU time beside the wall time: the difference is
// the wait for the disk (write-back and fdatasync).
//
//   edgeid-bench-store [--records N] [--batch N] [--lookups N] [--rounds N] [--no-sync]
//                      [--dir DIR]
//
// --no-sync opens both environments with MDB_NOSYNC (the store's `durability: "periodic"`):
// the commit writes the pages but does not wait for them to reach the disk.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <lmdb.h>

#include "store/store.h"

using namespace edgeid;
using Clock = std::chrono::steady_clock;

// 8 GiB of address space where there is that much (64-bit); 1 GiB on 32-bit ARM.
constexpr std::size_t kMaxMap =
    sizeof(std::size_t) >= 8 ? (std::size_t{1} << 33) : (std::size_t{1} << 30);

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

bool flag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    if (name == argv[i]) return true;
  }
  return false;
}

// Random-looking GUIDs (identity keys are random v4 GUIDs), cheap to make: splitmix64.
platform::Guid guid_for(std::uint64_t n, std::uint8_t tag) {
  platform::Guid::Bytes b{};
  std::uint64_t x = n * 31 + tag;
  for (std::size_t i = 0; i < b.size(); i += 8) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t r = x;
    r = (r ^ (r >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    r = (r ^ (r >> 27U)) * 0x94d049bb133111ebULL;
    r ^= r >> 31U;
    for (std::size_t k = 0; k < 8; ++k) b[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
  }
  return platform::Guid(b);
}

// A typical observed device matched to an Intune identity.
store::DeviceRecord device(std::uint64_t n) {
  static const char* const kVendors[] = {"Apple, Inc.",     "Dell Inc.",
                                         "Intel Corporate", "Samsung Electronics Co.,Ltd",
                                         "HP Inc.",         "Microsoft Corporation",
                                         "Lenovo",          "Cisco Systems, Inc"};
  static const char* const kPrl[] = {
      "1,3,6,15,31,33,43,44,46,47,119,121,249,252", "1,121,3,6,15,108,114,119,252,95,44,46",
      "1,3,6,15,26,28,51,58,59,43", "1,28,2,3,15,6,119,12,44,47,26,121,42"};
  store::DeviceRecord d;
  d.mac = platform::MacAddress::from_u64(0x3c22fb000000ULL + n * 7919);
  d.vendor = kVendors[n % 8];
  d.vlans = {static_cast<std::uint16_t>(100 + n % 20)};
  d.ipv4 = {{10, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
             static_cast<std::uint8_t>(n)}};
  d.ipv6 = {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x3e, 0x22, 0xfb, 0xff, 0xfe,
             static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
             static_cast<std::uint8_t>(n)}};
  d.hostname = "DESKTOP-" + std::to_string(100000 + n);
  d.hostname_source = 1;
  d.dhcp_vendor_class = n % 2 ? "MSFT 5.0" : "android-dhcp-13";
  d.dhcp_param_list = kPrl[n % 4];
  d.first_seen =
      platform::Timestamp::from_unix_seconds(1795000000 + static_cast<std::int64_t>(n % 86400));
  d.last_seen = d.first_seen + std::chrono::seconds(3600 + n % 600);
  d.packets = 1000 + n % 100000;
  d.bytes = d.packets * 600;
  d.sources = 0x1b;
  d.state = 1;
  d.intune_id = guid_for(n, 1);
  d.entra_device_id = guid_for(n, 2);
  d.match_by = 1;
  d.match_confidence_permille = 1000;
  d.version = 1 + n % 50;
  return d;
}

store::IdentityRecord identity(std::uint64_t n) {
  store::IdentityRecord i;
  i.intune_id = guid_for(n, 1);
  i.entra_device_id = guid_for(n, 2);
  i.entra_object_id = guid_for(n, 3);
  i.device_name = "DESKTOP-" + std::to_string(100000 + n);
  i.os = n % 3 ? "Windows" : "iOS";
  i.os_version = n % 3 ? "10.0.19045.2965" : "17.1.2";
  i.enrollment_type = "windowsAzureADJoin";
  i.user_principal_name = "user" + std::to_string(n) + "@contoso.com";
  i.email = i.user_principal_name;
  i.model = "Latitude 7440";
  i.manufacturer = "Dell Inc.";
  i.serial_number = "CN0" + std::to_string(7000000 + n);
  i.compliance_state = n % 10 ? "compliant" : "noncompliant";
  i.management_agent = "mdm";
  i.ownership = "company";
  i.trust_type = "AzureAd";
  i.last_sync = platform::Timestamp::from_unix_seconds(1795000000);
  i.wifi_mac = device(n).mac;
  return i;
}

std::uint64_t arg(int argc, char** argv, std::string_view name, std::uint64_t def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return def;
}

std::string arg_s(int argc, char** argv, std::string_view name, std::string def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return argv[i + 1];
  }
  return def;
}

void check(std::error_code ec, const char* what) {
  if (ec) {
    std::fprintf(stderr, "store-bench: %s: %s\n", what, ec.message().c_str());
    std::exit(1);
  }
}

void check_rc(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "store-bench: %s: %s\n", what, mdb_strerror(rc));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto records = static_cast<std::size_t>(arg(argc, argv, "--records", 1'000'000));
  const auto batch_size = static_cast<std::size_t>(arg(argc, argv, "--batch", 50'000));
  const auto lookups = static_cast<std::size_t>(arg(argc, argv, "--lookups", 200'000));
  const auto rounds =
      std::max<std::size_t>(1, static_cast<std::size_t>(arg(argc, argv, "--rounds", 5)));
  const bool no_sync = flag(argc, argv, "--no-sync");
  const std::filesystem::path root =
      arg_s(argc, argv, "--dir",
            (std::filesystem::temp_directory_path() / "edgeid-store-bench").string());
  std::filesystem::remove_all(root);
  const auto dir = root / "store";
  const auto raw_dir = root / "raw";
  std::filesystem::create_directories(raw_dir);

  store::StoreOptions o;
  o.environment.directory = dir;
  o.environment.initial_map_size = std::size_t{256} << 20;
  o.environment.max_map_size = kMaxMap;
  o.environment.no_sync = no_sync;
  store::Store s;
  check(s.open(o), "open");

  // Fill: devices and their identities, in batches like the agent's flushes.
  std::size_t device_bytes = 0;
  {
    store::StringTable probe;
    for (std::size_t n = 0; n < 1000; ++n) device_bytes += store::encode(device(n), probe).size();
  }
  auto t0 = Clock::now();
  for (std::size_t base = 0; base < records; base += batch_size) {
    store::Batch b;
    for (std::size_t n = base; n < std::min(records, base + batch_size); ++n) {
      b.devices.push_back(device(n));
      b.identities.push_back(identity(n));
    }
    check(s.apply(b), "fill");
  }
  const double fill_ms = ms_since(t0);

  // Baseline: raw LMDB with opaque values of the average encoded device size, same keys.
  const std::size_t value_size = device_bytes / 1000;
  MDB_env* env = nullptr;
  check_rc(mdb_env_create(&env), "raw create");
  mdb_env_set_mapsize(env, kMaxMap);
  check_rc(mdb_env_open(env, raw_dir.c_str(), MDB_NOTLS | (no_sync ? MDB_NOSYNC : 0U), 0600),
           "raw open");
  MDB_dbi dbi = 0;
  std::vector<std::uint8_t> value(value_size, 0x5a);
  std::vector<platform::MacAddress> macs(records);
  for (std::size_t n = 0; n < records; ++n) macs[n] = device(n).mac;
  auto raw_batch = [&](std::size_t from, std::size_t to, std::size_t stride, std::size_t offset) {
    MDB_txn* txn = nullptr;
    check_rc(mdb_txn_begin(env, nullptr, 0, &txn), "raw begin");
    check_rc(mdb_dbi_open(txn, nullptr, 0, &dbi), "raw dbi");
    for (std::size_t n = from; n < to; ++n) {
      const auto& mac = macs[(n * stride + offset) % records];
      MDB_val k{6, const_cast<std::uint8_t*>(mac.bytes().data())};
      MDB_val v{value.size(), value.data()};
      check_rc(mdb_put(txn, dbi, &k, &v, 0), "raw put");
    }
    check_rc(mdb_txn_commit(txn), "raw commit");
  };
  for (std::size_t base = 0; base < records; base += batch_size) {
    raw_batch(base, std::min(records, base + batch_size), 1, 0);
  }

  // One transaction of batch_size changed records (the flush after a busy interval), in
  // interleaved rounds; round r changes every 7th record from offset r.
  std::vector<double> update_ms, update_cpu_ms, encode_ms, raw_ms, raw_cpu_ms;
  for (std::size_t r = 0; r < rounds; ++r) {
    store::Batch changed;
    for (std::size_t n = 0; n < batch_size; ++n) {
      auto d = device((n * 7 + r) % records);
      d.packets += 10;
      d.last_seen = d.last_seen + std::chrono::seconds(5);
      d.version += 1;
      changed.devices.push_back(std::move(d));
    }
    {
      // The codec alone, for the breakdown (the store encodes inside the transaction).
      store::StringTable strings;
      const double c0 = thread_cpu_ms();
      std::size_t bytes = 0;
      for (const auto& d : changed.devices) bytes += store::encode(d, strings).size();
      encode_ms.push_back(thread_cpu_ms() - c0);
      if (bytes == 0) return 1;
    }
    double c0 = thread_cpu_ms();
    t0 = Clock::now();
    check(s.apply(changed), "update");
    update_ms.push_back(ms_since(t0));
    update_cpu_ms.push_back(thread_cpu_ms() - c0);

    c0 = thread_cpu_ms();
    t0 = Clock::now();
    raw_batch(0, batch_size, 7, r);
    raw_ms.push_back(ms_since(t0));
    raw_cpu_ms.push_back(thread_cpu_ms() - c0);
  }

  // Point look-ups in random order, the same keys for both.
  std::mt19937_64 rng(7);
  std::vector<platform::MacAddress> keys(lookups);
  for (auto& k : keys) k = device(rng() % records).mac;
  t0 = Clock::now();
  std::size_t found = 0;
  for (const auto& k : keys) {
    std::error_code ec;
    if (s.device(k, ec)) ++found;
  }
  const double lookup_ms = ms_since(t0);
  if (found != keys.size()) {
    std::fprintf(stderr, "store-bench: %zu of %zu look-ups missed\n", keys.size() - found,
                 keys.size());
    return 1;
  }
  t0 = Clock::now();
  {
    MDB_txn* txn = nullptr;
    std::size_t raw_found = 0;
    for (const auto& k : keys) {
      MDB_val key{6, const_cast<std::uint8_t*>(k.bytes().data())};
      MDB_val v;
      if (txn == nullptr) {
        check_rc(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "raw rbegin");
      } else {
        check_rc(mdb_txn_renew(txn), "raw renew");
      }
      if (mdb_get(txn, dbi, &key, &v) == 0) ++raw_found;
      mdb_txn_reset(txn);
    }
    mdb_txn_abort(txn);
    if (raw_found != keys.size()) return 1;
  }
  const double raw_lookup_ms = ms_since(t0);
  mdb_env_close(env);
  s.close();

  t0 = Clock::now();
  check(store::Store::compact(dir), "compact");
  const double compact_ms = ms_since(t0);
  check(s.open(o), "reopen");
  store::StoreStats st;
  check(s.stats(st), "stats");
  s.close();
  std::filesystem::remove_all(root);

  const double bytes_per_device = static_cast<double>(st.file_bytes) / static_cast<double>(records);
  const double device_table = static_cast<double>(st.devices_bytes) / static_cast<double>(records);
  std::printf("records                      %llu devices + %llu identities%s\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(records),
              no_sync ? " (MDB_NOSYNC)" : "");
  std::printf("encoded device value         %zu B (average)\n", value_size);
  std::printf(
      "file after compaction        %llu B = %.1f B per device (device + identity + index)\n",
      static_cast<unsigned long long>(st.file_bytes), bytes_per_device);
  std::printf("devices table                %.1f B per device record\n", device_table);
  std::printf("fill                         %.0f ms (%.0f records/s)\n", fill_ms,
              static_cast<double>(records) / fill_ms * 1000);
  std::printf("compaction                   %.0f ms\n", compact_ms);
  const double u = median(update_ms);
  const double ru = median(raw_ms);
  std::printf(
      "txn of %llu changed records  %.1f ms   raw LMDB %.1f ms   ratio %.2f   "
      "(median of %zu rounds)\n",
      static_cast<unsigned long long>(batch_size), u, ru, u / ru, rounds);
  std::printf("  of which CPU               %.1f ms   raw LMDB %.1f ms   (codec alone %.1f ms)\n",
              median(update_cpu_ms), median(raw_cpu_ms), median(encode_ms));
  std::printf("point look-ups               %.0f /s   raw LMDB %.0f /s   ratio %.2f\n",
              static_cast<double>(lookups) / lookup_ms * 1000,
              static_cast<double>(lookups) / raw_lookup_ms * 1000, lookup_ms / raw_lookup_ms);
  return 0;
}
