// Hex text <-> bytes for the command line (--data-hex, JSON data_out, bpftool's hex dump).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "userbpf/error.hpp"

namespace userbpf::cli {

// Parses "0011aabb", "00 11 aa bb" or "0x0011aabb" (whitespace allowed between bytes). Errors
// name the 0-based offset of the bad character, or the odd digit count.
Result<std::vector<uint8_t>> parse_hex(std::string_view text);

// "0011aabb": two lowercase digits per byte, nothing between them.
std::string to_hex(std::span<const uint8_t> bytes);

// A dump in bpftool's `prog run ... data_out -` layout: per 16 bytes, the offset, the bytes in
// pairs and the printable characters.
//   0000000	0102 0304 0506 0708 090a 0b0c 0d0e 0f10 | ........ ........
std::string hex_dump(std::span<const uint8_t> bytes);

}  // namespace userbpf::cli
