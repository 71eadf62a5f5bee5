#pragma once
/// @file
/// mix64(): splitmix64's finaliser, a bijection on 64-bit words in which every input bit
/// reaches every output bit. The one bit mixer of the project: MAC address hashing, the capture
/// table's index and the merge state's digests.
/// Thread safety: a pure function. Errors: none.

#include <cstdint>

namespace edgeid::platform {

constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace edgeid::platform
