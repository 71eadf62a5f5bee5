// libFuzzer target: capture::decode_cdp on arbitrary bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::payload(edgeid::capture::decode_cdp, data, size, false);
  return 0;
}
