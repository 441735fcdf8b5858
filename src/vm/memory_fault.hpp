// Words for a checked-mode memory fault: what was accessed and how it relates to the nearest
// memory the program was allowed to touch.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vm/interpreter.hpp"

namespace userbpf::vm::detail {

// "invalid read of 4 bytes at 0x7ffc0010 (8 bytes past the end of ctx)". `regions` are all the
// regions the access was checked against (the live stack included).
std::string describe_bad_access(uint64_t addr, uint64_t size, bool write,
                                std::span<const Region> regions);

}  // namespace userbpf::vm::detail
