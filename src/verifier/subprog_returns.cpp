#include "verifier/subprog_returns.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <set>

namespace userbpf::verifier {
namespace {

bool is_ld_abs(const isa::Insn& insn) {
  return insn.kind == isa::Kind::packet_load;
}

bool is_tail_call(const isa::Insn& insn) {
  return insn.kind == isa::Kind::call && insn.call == isa::CallKind::helper &&
         insn.imm == BPF_FUNC_tail_call;
}

}  // namespace

std::optional<CfgError> check_subprog_returns(const Program& program, const isa::Program& decoded) {
  const auto& insns = decoded.insns;
  // Linux's add_subprog_and_kfunc: the entry function and every call or callback target.
  std::set<uint32_t> starts{0};
  for (const isa::Insn& insn : insns) {
    const bool local_call = insn.kind == isa::Kind::call && insn.call == isa::CallKind::local;
    const bool func_ref = insn.kind == isa::Kind::lddw && insn.src == BPF_PSEUDO_FUNC;
    if ((local_call || func_ref) && insn.target >= 0 &&
        static_cast<size_t>(insn.target) < insns.size())
      starts.insert(static_cast<uint32_t>(insn.target));
  }
  const bool have_btf = !program.funcs.empty();
  for (auto it = std::next(starts.begin()); it != starts.end(); ++it) {
    const uint32_t start = *it;
    const uint32_t end =
        std::next(it) == starts.end() ? static_cast<uint32_t>(insns.size()) : *std::next(it);
    bool ld_abs = false, tail_call = false;
    for (uint32_t i = start; i < end; ++i) {
      ld_abs = ld_abs || is_ld_abs(insns[i]);
      tail_call = tail_call || is_tail_call(insns[i]);
    }
    if (!ld_abs && !tail_call) continue;
    if (!have_btf) {
      return CfgError{start, ld_abs ? "LD_ABS is not allowed in subprogs without BTF"
                                    : "tail_call is not allowed in subprogs without BTF"};
    }
    const auto func = std::find_if(program.funcs.begin(), program.funcs.end(),
                                   [&](const FuncInfo& f) { return f.insn == start; });
    // A subprogram func info does not describe is refused by Linux before this check ("number
    // of funcs in func_info doesn't match"); here it counts as not returning an integer.
    if (func != program.funcs.end() && func->returns_scalar) continue;
    return CfgError{start, ld_abs ? "LD_ABS is only allowed in functions that return 'int'."
                                  : "tail_call is only allowed in functions that return 'int'."};
  }
  return std::nullopt;
}

}  // namespace userbpf::verifier
