// libFuzzer target: capture::decode_dhcpv6 on arbitrary bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::payload(edgeid::capture::decode_dhcpv6, data, size, true);
  return 0;
}
