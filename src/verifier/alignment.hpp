// Pointer alignment of memory accesses, as Linux's check_ptr_alignment decides it: stack accesses
// are always checked (the spill tracking relies on aligned slots), atomics always (the CPU needs
// it), everything else only under BPF_F_STRICT_ALIGNMENT; byte accesses never. Packet pointers
// count NET_IP_ALIGN (2) the way the kernel does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "verifier/reg_state.hpp"

namespace userbpf::verifier {

// The kernel's message when an access of `size` bytes at `ptr` + `off` is misaligned, e.g.
// "misaligned stack access off 0+-8+4 size 8"; nullopt when it is fine. `strict` is
// BPF_F_STRICT_ALIGNMENT or an atomic instruction (Linux's strict_alignment_once).
std::optional<std::string> misaligned_access(const RegState& ptr, int32_t off, int size,
                                             bool strict);

}  // namespace userbpf::verifier
