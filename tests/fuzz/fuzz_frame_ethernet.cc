// libFuzzer target: one frame of link type LinkType::ethernet.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::frame(edgeid::capture::LinkType::ethernet, data, size);
  return 0;
}
