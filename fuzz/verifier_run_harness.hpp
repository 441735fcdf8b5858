// The soundness oracle of fuzz_verifier: runs a program the verifier accepted in the checked
// interpreter over several inputs (context bytes, packet sizes, map contents) and reports what a
// verified program must never do:
//   - a checked-mode fault (an access outside the context, packet, stack, map values, ringbuf
//     records and the other memory the run or helpers handed out, a misaligned atomic, falling
//     off the end, ...);
//   - not finishing within a generous instruction budget (an unbounded loop the verifier let
//     through);
//   - a helper argument its Linux prototype forbids (memory of the stated size not accessible,
//     a map pointer that is not one of the program's maps, a context argument that is not the
//     context). Helpers in checked runs answer -EFAULT to such arguments instead of faulting, so
//     the harness checks them itself before each call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "verifier_program_gen.hpp"

namespace userbpf::fuzz {

// nullopt when every run was clean (or the program cannot run here at all, e.g. it calls a
// helper the harness leaves out); otherwise what went wrong, in which run, at which instruction.
// `call_map` is the verifier's Verdict::call_map (the JIT inlines or calls maps directly by it).
std::optional<std::string> run_accepted_program(const FuzzCase& fc, uint64_t seed,
                                                std::span<const uint32_t> call_map);

}  // namespace userbpf::fuzz
