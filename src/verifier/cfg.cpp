#include "verifier/cfg.hpp"

#include <fmt/format.h>

#include <vector>

namespace userbpf::verifier {

std::optional<CfgError> check_cfg(const isa::Program& program, bool allow_loops) {
  const size_t n = program.size();
  const isa::Insn& last = program.insns[n - 1];
  const size_t last_index = last.is_lddw_tail() ? n - 2 : n - 1;
  const isa::Kind last_kind = program.insns[last_index].kind;
  if (last_kind != isa::Kind::exit && last_kind != isa::Kind::jump)
    return CfgError{static_cast<uint32_t>(last_index), "last insn is not an exit or jmp"};

  // Iterative depth-first search; an edge to an instruction still on the stack is a back-edge.
  enum : uint8_t { unseen, on_stack, done };
  std::vector<uint8_t> mark(n, unseen);
  struct Frame {
    uint32_t insn;
    uint8_t next_edge;
  };
  auto successors = [&](uint32_t i, std::vector<uint32_t>& out) {
    out.clear();
    const isa::Insn& insn = program.insns[i];
    const uint32_t next = i + (insn.kind == isa::Kind::lddw ? 2 : 1);
    switch (insn.kind) {
      case isa::Kind::exit: break;
      case isa::Kind::jump: out.push_back(static_cast<uint32_t>(insn.target)); break;
      case isa::Kind::jump_cond:
      case isa::Kind::may_goto:
        out.push_back(next);
        out.push_back(static_cast<uint32_t>(insn.target));
        break;
      case isa::Kind::call:
        out.push_back(next);
        if (insn.call == isa::CallKind::local) out.push_back(static_cast<uint32_t>(insn.target));
        break;
      case isa::Kind::lddw:
        out.push_back(next);
        if (insn.src == BPF_PSEUDO_FUNC) out.push_back(static_cast<uint32_t>(insn.target));
        break;
      default: out.push_back(next); break;
    }
  };
  std::vector<Frame> stack{{0, 0}};
  mark[0] = on_stack;
  std::vector<uint32_t> succ;
  while (!stack.empty()) {
    Frame& f = stack.back();
    successors(f.insn, succ);
    if (f.next_edge >= succ.size()) {
      mark[f.insn] = done;
      stack.pop_back();
      continue;
    }
    const uint32_t from = f.insn;
    const uint32_t to = succ[f.next_edge++];
    const bool call_edge = program.insns[from].kind == isa::Kind::call ||
                           (program.insns[from].kind == isa::Kind::lddw && to != from + 2);
    if (to >= n)
      return CfgError{from, fmt::format("jump out of range from insn {} to {}", from, to)};
    if (mark[to] == on_stack && !call_edge) {
      if (!allow_loops)
        return CfgError{from, fmt::format("back-edge from insn {} to {}", from, to)};
      continue;
    }
    if (mark[to] != unseen) continue;
    mark[to] = on_stack;
    stack.push_back({to, 0});
  }
  for (size_t i = 0; i < n; ++i)
    if (mark[i] == unseen && !program.insns[i].is_lddw_tail())
      return CfgError{static_cast<uint32_t>(i), fmt::format("unreachable insn {}", i)};
  return std::nullopt;
}

}  // namespace userbpf::verifier
