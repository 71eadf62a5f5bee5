// libFuzzer target: one frame of link type LinkType::linux_sll.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeid::fuzz::frame(edgeid::capture::LinkType::linux_sll, data, size);
  return 0;
}
