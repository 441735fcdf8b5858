// bpftool's ways of printing map entries and reading key/value bytes from the command line.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "runtime/records.hpp"

namespace userbpf::cli {

// "01 00 00 00": fprint_hex with a space between bytes.
std::string hex_bytes(std::span<const uint8_t> bytes);
// ["0x01","0x00",...]: bpftool's print_hex_data_json.
nlohmann::ordered_json hex_bytes_json(std::span<const uint8_t> bytes);

// An entry as bpftool's print_entry_plain prints it (per-CPU maps: one value line per CPU;
// maps without a key, queue and stack, print only the value), newline included.
std::string entry_plain(const maps::MapSpec& spec, uint32_t ncpus, std::span<const uint8_t> key,
                        std::span<const uint8_t> value);
// {"key":[...],"value":[...]} or, per-CPU, {"key":[...],"values":[{"cpu":0,"value":[...]},...]}.
nlohmann::ordered_json entry_json(const maps::MapSpec& spec, uint32_t ncpus,
                                  std::span<const uint8_t> key, std::span<const uint8_t> value);

// Reads `size` bytes after the word `what` ("key"/"value") at args[*pos]: bpftool's parse_bytes,
// `[hex] BYTE...` where a byte is any strtoul base-0 number (0x2a, 42, 052) or, after `hex`,
// base-16 digits. Advances *pos past them. Errors: "key expected 4 bytes got 2",
// "error parsing byte: zz".
Result<std::vector<uint8_t>> parse_bytes(Args args, size_t* pos, const char* what, uint32_t size);

}  // namespace userbpf::cli
