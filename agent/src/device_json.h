#pragma once
// Text renderings of capture::DeviceRecord: the §10 JSON object (one line) and the cells of the
// human table. Strings from the wire are arbitrary bytes: JSON escaping keeps valid UTF-8, escapes
// control characters and writes every byte of an invalid sequence as \u00XX (its Latin-1
// reading), so the output is always valid JSON and no byte is silently lost.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "capture/device_table.h"

namespace edgeid::agent {

/// Appends @p bytes as a quoted JSON string.
void append_json_string(std::string& out, std::string_view bytes);

/// Appends the device record to @p out as one JSON object without a trailing newline. Absent
/// facts are omitted. Writes straight into @p out (no per-field temporaries), so a caller that
/// prints many records reuses one buffer.
void append_device_json(std::string& out, const capture::DeviceRecord& device);
/// The same as a new string.
std::string device_to_json(const capture::DeviceRecord& device);

/// @p bytes made safe for a terminal: valid printable UTF-8 kept, anything else as \xNN.
std::string printable(std::string_view bytes);

/// IPv4/IPv6 text forms, the same as inet_ntop()'s: dotted quad; RFC 5952 (lower case, the
/// first longest run of zero groups as "::", IPv4-mapped and -compatible addresses in dotted
/// form). The format_ forms write at most kAddressTextMax bytes (no terminator) and return the
/// length.
inline constexpr std::size_t kAddressTextMax = 46;  // INET6_ADDRSTRLEN
std::size_t format_ipv4(const std::uint8_t* a, char* out) noexcept;
std::size_t format_ipv6(const std::uint8_t* a, char* out) noexcept;
std::string ipv4_text(const std::uint8_t* a);
std::string ipv6_text(const std::uint8_t* a);

}  // namespace edgeid::agent
