// Linux's rule for instructions that can leave a subprogram without its exit (check_btf_func and
// check_abnormal_return): LD_ABS/LD_IND, which return 0 from the function when the packet is too
// short, and bpf_tail_call, which never returns. In a subprogram (not the entry function) they
// need the function's BTF to say it returns an integer, so that the caller may use r0.
#pragma once

#include <optional>

#include "isa/instruction.hpp"
#include "verifier/cfg.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {

// The first subprogram that breaks the rule, with Linux's message ("LD_ABS is only allowed in
// functions that return 'int'."); nullopt when none does. Subprograms start at the targets of
// bpf-to-bpf calls and BPF_PSEUDO_FUNC references; without func info (Program::funcs empty) the
// program has no BTF, and any subprogram with LD_ABS or a tail call is refused.
std::optional<CfgError> check_subprog_returns(const Program& program, const isa::Program& decoded);

}  // namespace userbpf::verifier
