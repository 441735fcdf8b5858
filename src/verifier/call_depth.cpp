// The static call-graph check Linux runs after a program verified (check_max_stack_depth): every
// chain of bpf-to-bpf calls and synchronous callbacks reachable from the entry is walked
// instruction by instruction, so recursion shows as a chain longer than 8 frames (even when path
// exploration proved it bounded), and the stack of the frames of a chain, each rounded up to 16
// bytes as for JITed programs, may not exceed 512 bytes.
#include <algorithm>
#include <array>
#include <set>

#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

constexpr uint32_t kJitStackAlign = 16;  // round_up_stack_depth with jit_requested

// Where a call goes: bpf-to-bpf calls and function pointers (callbacks) both count as frames.
bool is_call_site(const isa::Insn& insn) {
  return (insn.kind == isa::Kind::call && insn.call == isa::CallKind::local) ||
         (insn.kind == isa::Kind::lddw && insn.src == BPF_PSEUDO_FUNC);
}

// The stack a subprogram [start, end) keeps once the kernel removed the spills and fills around
// inlined bpf_fastcall helper calls (mark_fastcall_pattern_for_call, check_fastcall_stack_contract
// and remove_fastcall_spills_fills of Linux 6.12, where x86's JIT inlines
// bpf_get_smp_processor_id, the one helper marked allow_fastcall): `depth` when nothing is
// removed. Any other stack access below the pattern's slots keeps the stack, and so, as this
// check is made before exploration knows where pointers go, does any use of r10 other than as
// the base of a load or store.
uint32_t fastcall_depth(const std::vector<isa::Insn>& insns, uint32_t start, uint32_t end,
                        uint32_t depth) {
  auto is_dw_spill = [](const isa::Insn& i) {
    return i.kind == isa::Kind::store_reg && i.width == 8 && BPF_MODE(i.opcode) == BPF_MEM &&
           i.dst == isa::kFramePointer;
  };
  auto is_dw_fill = [](const isa::Insn& i) {
    return i.kind == isa::Kind::load && i.width == 8 && BPF_MODE(i.opcode) == BPF_MEM &&
           i.src == isa::kFramePointer;
  };
  int32_t lowest_off = 0;
  for (uint32_t i = start; i < end; ++i)
    if (is_dw_spill(insns[i])) lowest_off = std::min<int32_t>(lowest_off, insns[i].off);
  std::vector<bool> in_pattern(end - start, false);
  int32_t fastcall_off = INT16_MAX;
  bool removed = false;
  for (uint32_t c = start; c < end; ++c) {
    const isa::Insn& call = insns[c];
    if (call.kind != isa::Kind::call || call.call != isa::CallKind::helper ||
        call.imm != BPF_FUNC_get_smp_processor_id)
      continue;
    uint32_t expected = 0x3e;  // r1..r5: the helper clobbers only r0
    uint32_t n = 1;
    int32_t off = lowest_off;
    for (; n <= 5; ++n, off += 8) {
      if (c < start + n || c + n >= end) break;
      const isa::Insn& stx = insns[c - n];
      const isa::Insn& ldx = insns[c + n];
      if (!is_dw_spill(stx) || !is_dw_fill(ldx) || stx.src != ldx.dst) break;
      if (!(expected & (1u << stx.src)) || stx.off != off || ldx.off != off) break;
      expected &= ~(1u << stx.src);
      in_pattern[c - n - start] = in_pattern[c + n - start] = true;
    }
    if (n == 1) continue;
    removed = true;
    fastcall_off = std::min(fastcall_off, off);
  }
  if (!removed) return depth;
  for (uint32_t i = start; i < end; ++i) {
    const isa::Insn& insn = insns[i];
    if (in_pattern[i - start]) continue;
    const bool direct = (insn.kind == isa::Kind::load && insn.src == isa::kFramePointer) ||
                        ((insn.kind == isa::Kind::store_reg || insn.kind == isa::Kind::store_imm ||
                          insn.kind == isa::Kind::atomic) &&
                         insn.dst == isa::kFramePointer);
    if (direct) {
      if (insn.off < fastcall_off) return depth;
      continue;
    }
    const bool reads_fp = (insn.kind == isa::Kind::alu && isa::uses_reg_source(insn.opcode) &&
                           insn.src == isa::kFramePointer) ||
                          (insn.kind == isa::Kind::store_reg && insn.src == isa::kFramePointer) ||
                          (insn.kind == isa::Kind::jump_cond &&
                           (insn.dst == isa::kFramePointer ||
                            (isa::uses_reg_source(insn.opcode) && insn.src == isa::kFramePointer)));
    if (reads_fp) return depth;
  }
  return static_cast<uint32_t>(-fastcall_off);
}

}  // namespace

bool Env::check_max_stack_depth() {
  const auto& insns = decoded_.insns;
  // Subprogram starts: the entry and every call or function-pointer target.
  std::set<uint32_t> starts{0};
  for (const isa::Insn& insn : insns)
    if (is_call_site(insn) && insn.target >= 0) starts.insert(static_cast<uint32_t>(insn.target));
  auto end_of = [&](uint32_t start) {
    auto next = starts.upper_bound(start);
    return next == starts.end() ? static_cast<uint32_t>(insns.size()) : *next;
  };
  auto depth_of = [&](uint32_t start) {
    auto it = subprog_stack_depth_.find(start);
    uint32_t d = it == subprog_stack_depth_.end() ? 0 : it->second;
    d = fastcall_depth(insns, start, end_of(start), d);
    return (d + kJitStackAlign - 1) / kJitStackAlign * kJitStackAlign;
  };

  std::array<uint32_t, isa::kMaxCallDepth> ret_insn{}, ret_prog{};
  uint32_t frame = 0, prog = 0, i = 0, depth = 0;
  bool entering = true;
  for (;;) {
    if (entering) {
      depth += depth_of(prog);
      if (depth > static_cast<uint32_t>(isa::kStackSize)) {
        cur_insn_ = prog;
        return reject("combined stack size of {} calls is {}. Too large", frame + 1, depth);
      }
      entering = false;
    }
    const uint32_t end = end_of(prog);
    for (; i < end; ++i)
      if (is_call_site(insns[i]) && insns[i].target >= 0) break;
    if (i < end) {
      ret_insn[frame] = i + 1;
      ret_prog[frame] = prog;
      prog = static_cast<uint32_t>(insns[i].target);
      i = prog;
      ++frame;
      if (frame >= static_cast<uint32_t>(isa::kMaxCallDepth)) {
        cur_insn_ = ret_insn[frame - 1] - 1;
        return reject("the call stack of {} frames is too deep !", frame);
      }
      entering = true;
      continue;
    }
    if (frame == 0) return true;
    depth -= depth_of(prog);
    --frame;
    i = ret_insn[frame];
    prog = ret_prog[frame];
  }
}

}  // namespace userbpf::verifier
