// Static register liveness: for each instruction, the registers some path from it reads before
// writing them, within the function the instruction belongs to. A register no path reads cannot
// change what exploring on from there checks, so state pruning ignores it (what Linux's
// REG_LIVE_READ marks, and its later compute_live_registers, give). Calls are not followed: a
// call reads the argument registers r1..r5 and writes r0..r5.
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

constexpr uint16_t bit(int r) {
  return static_cast<uint16_t>(1u << r);
}
constexpr uint16_t kArgs = 0x3e;         // r1..r5
constexpr uint16_t kCallerSaved = 0x3f;  // r0..r5
constexpr uint16_t kFp = bit(isa::kFramePointer);

struct UseDef {
  uint16_t use = 0;
  uint16_t def = 0;
};

UseDef use_def(const isa::Insn& insn) {
  UseDef u;
  const bool reg_src = isa::uses_reg_source(insn.opcode);
  switch (insn.kind) {
    case isa::Kind::alu: {
      const uint8_t op = BPF_OP(insn.opcode);
      if (op == BPF_MOV) {
        if (reg_src) u.use = bit(insn.src);
      } else {
        u.use = bit(insn.dst);
        if (reg_src && op != BPF_NEG) u.use |= bit(insn.src);
      }
      u.def = bit(insn.dst);
      break;
    }
    case isa::Kind::endian: u.use = u.def = bit(insn.dst); break;
    case isa::Kind::load:
      u.use = bit(insn.src);
      u.def = bit(insn.dst);
      break;
    case isa::Kind::store_reg: u.use = bit(insn.dst) | bit(insn.src); break;
    case isa::Kind::store_imm: u.use = bit(insn.dst); break;
    case isa::Kind::atomic:
      u.use = bit(insn.dst) | bit(insn.src);
      if (insn.imm == BPF_CMPXCHG) {
        u.use |= bit(0);
        u.def = bit(0);
      } else if (insn.imm & BPF_FETCH) {
        u.def = bit(insn.src);
      }
      break;
    case isa::Kind::lddw: u.def = bit(insn.dst); break;
    case isa::Kind::packet_load:
      u.use = bit(6) | (BPF_MODE(insn.opcode) == BPF_IND ? bit(insn.src) : 0);
      u.def = kCallerSaved;
      break;
    case isa::Kind::jump_cond: u.use = bit(insn.dst) | (reg_src ? bit(insn.src) : 0); break;
    case isa::Kind::call:
      u.use = kArgs;
      u.def = kCallerSaved;
      break;
    case isa::Kind::exit: u.use = bit(0); break;
    default: break;
  }
  return u;
}

}  // namespace

std::vector<uint16_t> compute_live_regs(const isa::Program& decoded) {
  const size_t n = decoded.size();
  std::vector<UseDef> ud(n);
  for (size_t i = 0; i < n; ++i) ud[i] = use_def(decoded.insns[i]);
  std::vector<uint16_t> live(n, 0);
  auto live_at = [&](size_t i) -> uint16_t { return i < n ? live[i] : 0; };
  // Backward data flow to the fixed point; visiting in reverse order converges in a few passes
  // (one more per loop nesting level).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = n; i-- > 0;) {
      const isa::Insn& insn = decoded.insns[i];
      uint16_t out = 0;
      switch (insn.kind) {
        case isa::Kind::invalid: continue;  // an lddw tail is never executed
        case isa::Kind::exit: break;
        case isa::Kind::jump: out = live_at(static_cast<size_t>(insn.target)); break;
        case isa::Kind::jump_cond:
        case isa::Kind::may_goto:
          out = live_at(i + 1) | live_at(static_cast<size_t>(insn.target));
          break;
        case isa::Kind::lddw: out = live_at(i + 2); break;
        default: out = live_at(i + 1); break;
      }
      const uint16_t in = static_cast<uint16_t>(ud[i].use | (out & ~ud[i].def) | kFp);
      if (in != live[i]) {
        live[i] = in;
        changed = true;
      }
    }
  }
  return live;
}

}  // namespace userbpf::verifier
