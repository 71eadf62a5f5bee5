// libFuzzer target: capture::decode_dhcpv4 on arbitrary bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::payload(edgeid::capture::decode_dhcpv4, data, size, false);
  return 0;
}
