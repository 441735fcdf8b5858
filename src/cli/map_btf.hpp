// A map key or value formatted from its BTF type, as bpftool's btf_dumper writes the "formatted"
// member of `map dump -j` / `map lookup -j`: integers as numbers (chars as one-character strings,
// bools as true/false), enums by name, char arrays holding a printable C string as strings, other
// arrays as arrays, structs and unions as objects of their members, typedefs and modifiers
// looked through, pointers as numbers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

struct btf;

namespace userbpf::cli {

// nullopt when a type cannot be formatted (unknown kind, size beyond the data).
std::optional<nlohmann::ordered_json> btf_format(const btf* b, uint32_t type_id,
                                                 std::span<const uint8_t> data);

}  // namespace userbpf::cli
