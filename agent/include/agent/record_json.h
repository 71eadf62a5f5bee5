#pragma once
/// @file
/// The merged device record as DESIGN.md §10 JSON (one line, absent facts omitted), rendered from
/// what the store keeps: the observed part through agent's device_json (the `edgeid ingest`
/// renderer), then identity, match, state, sensor_id and version.
/// Thread safety: reentrant.

#include <cstdint>
#include <string>
#include <string_view>

#include "capture/device_table.h"
#include "store/records.h"

namespace edgeid::agent {

/// A stored device back in capture's form (the observed facts the store keeps).
capture::DeviceRecord to_capture_record(const store::DeviceRecord& device);

/// The §10 `identity` object.
std::string identity_object_json(const store::IdentityRecord& identity);

/// A MAC's record. @p identity is the identity it matched (nullptr when unmanaged).
std::string device_record_json(const store::DeviceRecord& device,
                               const store::IdentityRecord* identity, std::string_view sensor_id);

/// An identity_only record (keyed by the Intune id; mac = Wi-Fi, else Ethernet MAC if any).
std::string identity_only_json(const store::IdentityRecord& identity, std::uint64_t version,
                               std::string_view sensor_id);

}  // namespace edgeid::agent
