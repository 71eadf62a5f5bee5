// libFuzzer target: capture::decode_lldp on arbitrary bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::payload(edgeid::capture::decode_lldp, data, size, false);
  return 0;
}
