#include "agent/inventory.h"

#include <algorithm>

#include "agent/record_json.h"

namespace edgeid::agent {

std::uint64_t first_outbox_seq(platform::Timestamp now) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(now.unix_seconds(), 1)) * 1'000'000;
}

store::StoreOptions store_options(const std::filesystem::path& data_dir, bool read_only,
                                  std::size_t max_map_bytes) {
  store::StoreOptions so;
  so.environment.directory = data_dir;
  so.environment.read_only = read_only;
  if (read_only) {
    so.environment.initial_map_size = 0;  // the size the writer left
  } else {
    so.environment.max_map_size = max_map_bytes;
    so.environment.initial_map_size = std::min(so.environment.initial_map_size, max_map_bytes);
  }
  return so;
}

std::error_code load_merge_state(store::Store& store, MergeState& out, std::string& detail) {
  out = MergeState{};
  std::size_t corrupt = 0;
  const auto on_corrupt = [&](store::Bytes, std::error_code) { ++corrupt; };
  auto ec = store.for_each_device(
      [&](const store::DeviceRecord& d) {
        out.devices.emplace(d.mac, d);
        return true;
      },
      on_corrupt);
  if (ec) {
    detail = "reading devices: " + ec.message();
    return ec;
  }
  std::vector<std::pair<platform::Guid, IdentitySummary>> identities;
  ec = store.for_each_identity(
      [&](const store::IdentityRecord& id) {
        identities.emplace_back(identity_key(id), IdentitySummary(id));
        return true;
      },
      on_corrupt);
  if (ec) {
    detail = "reading identities: " + ec.message();
    return ec;
  }
  out.identities = FlatMap<platform::Guid, IdentitySummary>::from(std::move(identities));
  for (const auto& [key, id] : out.identities) {
    const auto value = store.cache(identity_only_cache_key(key), ec);
    if (ec) {
      detail = "reading identity_only versions: " + ec.message();
      return ec;
    }
    if (!value) continue;
    if (const auto io = decode_identity_only(*value)) out.identity_only.emplace(key, *io);
  }
  // Corrupt values were skipped (the store reports them); the next round rewrites what it
  // still knows about them.
  if (corrupt > 0) detail = std::to_string(corrupt) + " corrupt values skipped";
  return {};
}

std::error_code read_inventory(store::Store& store, std::vector<InventoryRecord>& out,
                               std::string& detail) {
  MergeState state;
  if (auto ec = load_merge_state(store, state, detail)) return ec;
  std::error_code ec;
  const auto sensor = store.meta(kMetaSensorId, ec).value_or("");
  if (ec) {
    detail = "reading meta: " + ec.message();
    return ec;
  }
  out.clear();
  const auto read_failed = [&](std::error_code e) {
    detail = "reading identities: " + e.message();
    return e;
  };
  for (const auto& [mac, d] : state.devices) {
    InventoryRecord r;
    r.state = static_cast<RecordState>(d.state);
    r.device = store.device(mac, ec);
    if (ec) {
      detail = "reading devices: " + ec.message();
      return ec;
    }
    if (!r.device) continue;
    r.version = d.version;
    if (!d.intune_id.is_nil() && state.identities.contains(d.intune_id)) {
      r.identity = store.identity(d.intune_id, ec);
      if (ec) return read_failed(ec);
    }
    r.json = device_record_json(*r.device, r.identity ? &*r.identity : nullptr, sensor);
    out.push_back(std::move(r));
  }
  for (const auto& [key, io] : state.identity_only) {
    if (!io.active) continue;
    if (!state.identities.contains(key)) continue;
    InventoryRecord r;
    r.state = RecordState::identity_only;
    r.identity = store.identity(key, ec);
    if (ec) return read_failed(ec);
    if (!r.identity) continue;
    r.version = io.version;
    r.json = identity_only_json(*r.identity, io.version, sensor);
    out.push_back(std::move(r));
  }
  return {};
}

}  // namespace edgeid::agent
