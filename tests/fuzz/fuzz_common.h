#pragma once
// Shared body of the libFuzzer targets: every input is decoded, and every frame target also
// feeds a DeviceTable, so the aggregation code sees hostile facts too.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "capture/decode.h"
#include "capture/device_table.h"

namespace edgeid::fuzz {

inline void frame(capture::LinkType link, const std::uint8_t* data, std::size_t size) {
  static auto facts = std::make_unique<capture::FrameFacts>();
  static capture::DecodeCounters counters;
  static capture::DeviceTable table(capture::TableOptions{.max_devices = 256});
  // The first bytes choose the wire length, so both "complete" and "snaplen cut" paths run.
  std::uint32_t wire = static_cast<std::uint32_t>(size);
  if (size > 0 && (data[0] & 1U) != 0) wire += data[0];
  capture::decode_frame(link, std::span<const std::uint8_t>(data, size), wire, *facts, counters);
  table.apply(*facts, platform::Timestamp::from_unix_seconds(1'700'000'000 + (size % 600)));
}

/// Runs a protocol decoder on @p data with a fixed, plausible context.
template <class Decoder>
void payload(Decoder decode, const std::uint8_t* data, std::size_t size, bool ipv6 = false) {
  static auto facts = std::make_unique<capture::FrameFacts>();
  static capture::DecodeCounters counters;
  capture::L3Context ctx;
  ctx.eth_src = platform::MacAddress::from_u64(0x3c22fb000001);
  ctx.eth_dst = platform::MacAddress::from_u64(0x3c22fb000002);
  ctx.has_eth_src = ctx.has_eth_dst = true;
  ctx.ip_src = {10, 0, 0, 2};
  ctx.ipv6 = ipv6;
  facts->reset();
  decode(std::span<const std::uint8_t>(data, size), ctx, *facts, counters);
  // Touch every fact's view: ASan reports a view that points outside its buffer.
  std::size_t sum = 0;
  for (const auto& f : facts->view()) {
    for (const auto b : f.text) sum += b;
  }
  volatile std::size_t keep = sum;  // the reads must not be optimised away
  static_cast<void>(keep);
}

}  // namespace edgeid::fuzz
