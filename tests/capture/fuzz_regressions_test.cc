// Replays every input under tests/data/fuzz-regressions/<fuzz target>/ through the code that
// target fuzzes. A file there is a past crash (or a hand-made hostile input): it must decode
// without a sanitizer report, and the decoder must stay within its bounds.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include "capture/decode.h"
#include "capture/device_table.h"

namespace edgeid::capture {
namespace {

namespace fs = std::filesystem;
using Decode = void (*)(std::span<const std::uint8_t>, const L3Context&, FrameFacts&,
                        DecodeCounters&) noexcept;

std::vector<std::uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_CASE("fuzz regressions replay without faults") {
  const fs::path root = fs::path(EDGEID_SOURCE_DIR) / "tests/data/fuzz-regressions";
  REQUIRE(fs::is_directory(root));
  const std::map<std::string, LinkType> frames = {{"fuzz_frame_ethernet", LinkType::ethernet},
                                                  {"fuzz_frame_sll", LinkType::linux_sll},
                                                  {"fuzz_frame_sll2", LinkType::linux_sll2}};
  const std::map<std::string, Decode> payloads = {
      {"fuzz_dhcpv4", decode_dhcpv4}, {"fuzz_dhcpv6", decode_dhcpv6}, {"fuzz_mdns", decode_mdns},
      {"fuzz_nbns", decode_nbns},     {"fuzz_lldp", decode_lldp},     {"fuzz_cdp", decode_cdp}};
  auto facts = std::make_unique<FrameFacts>();
  DecodeCounters counters;
  DeviceTable table;
  std::size_t replayed = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    const std::string target = dir.path().filename().string();
    const bool known = frames.count(target) != 0 || payloads.count(target) != 0;
    CHECK_MESSAGE(known, "unknown fuzz target directory " << target);
    for (const auto& file : fs::directory_iterator(dir.path())) {
      CAPTURE(file.path().string());
      // An exact-size heap copy, so that ASan catches any read past the input.
      const auto bytes = read_all(file.path());
      std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[bytes.size() + 1]);
      std::copy(bytes.begin(), bytes.end(), copy.get());
      const std::span<const std::uint8_t> input(copy.get(), bytes.size());
      if (const auto f = frames.find(target); f != frames.end()) {
        decode_frame(f->second, input, static_cast<std::uint32_t>(input.size()), *facts, counters);
        table.apply(*facts, platform::Timestamp::from_unix_seconds(1));
      } else if (const auto p = payloads.find(target); p != payloads.end()) {
        L3Context ctx;
        ctx.eth_src = platform::MacAddress::from_u64(0x3c22fb000001);
        ctx.has_eth_src = true;
        ctx.ipv6 = target == "fuzz_dhcpv6";
        facts->reset();
        p->second(input, ctx, *facts, counters);
      }
      CHECK(facts->fact_count <= FrameFacts::kMaxFacts);
      CHECK(facts->scratch_used <= FrameFacts::kScratchSize);
      ++replayed;
    }
  }
  CHECK(replayed > 0);
  MESSAGE("replayed " << replayed << " inputs");
}

}  // namespace
}  // namespace edgeid::capture
