// Precision tracking, as Linux's mark_chain_precision: a checkpoint prunes a later state when the
// scalars some decision depended on (a branch decided by their value, a pointer offset, a helper's
// size argument, a checked return value) match; other scalars may differ. Which scalars those are
// is found backwards: from the decision, through the instructions the path executed (its history)
// to each checkpoint it passed, marking there the registers and spilled stack slots the value came
// from. Where an instruction cannot be followed backwards (a callback, LD_ABS clobbering
// arguments), every scalar of every earlier checkpoint becomes precise: always sound.
//
// Unprivileged programs compare every scalar (Linux marks all their scalars precise), so nothing
// is tracked for them.
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

constexpr uint16_t kArgRegs = 0x3e;  // r1..r5

void set_reg(Precision& bt, size_t frame, int r) {
  bt.regs[frame] = static_cast<uint16_t>(bt.regs[frame] | (1u << r));
}
void clear_reg(Precision& bt, size_t frame, int r) {
  bt.regs[frame] = static_cast<uint16_t>(bt.regs[frame] & ~(1u << r));
}
bool has_reg(const Precision& bt, size_t frame, int r) {
  return bt.regs[frame] >> r & 1;
}

// linked set members: frame << 8 | 0x80 for a stack slot | register or slot index.
uint16_t encode_member(size_t frame, bool slot, size_t index) {
  return static_cast<uint16_t>(frame << 8 | (slot ? 0x80 : 0) | index);
}

}  // namespace

uint32_t Env::record_linked_scalars(const VerifierState& st, const isa::Insn& insn) {
  if (!tracks_precision()) return 0;
  const auto& regs = st.regs();
  uint32_t ids[2] = {0, 0};
  if (regs[insn.dst].type == RegType::scalar) ids[0] = regs[insn.dst].id;
  if (isa::uses_reg_source(insn.opcode) && regs[insn.src].type == RegType::scalar)
    ids[1] = regs[insn.src].id;
  if (!ids[0] && !ids[1]) return 0;
  std::vector<uint16_t> members;
  auto linked = [&](const RegState& r) {
    return r.type == RegType::scalar && r.id != 0 && (r.id == ids[0] || r.id == ids[1]);
  };
  for (size_t f = 0; f < st.frames.size(); ++f) {
    const FuncFrame& frame = st.frames[f];
    for (size_t r = 0; r < frame.regs.size(); ++r)
      if (linked(frame.regs[r])) members.push_back(encode_member(f, false, r));
    for (size_t s = 0; s < frame.stack.size() && s < 64; ++s)
      if (frame.stack[s].is_spill() && linked(frame.stack[s].spilled))
        members.push_back(encode_member(f, true, s));
  }
  if (members.size() < 2) return 0;  // nothing else is refined with the compared registers
  linked_sets_.push_back(std::move(members));
  return static_cast<uint32_t>(linked_sets_.size());
}

// Moves `bt` from after the instruction of `e` to before it (Linux's backtrack_insn). `next_*`
// is where the path went after `e`. Returns false when it cannot say.
bool Env::backtrack_insn(const HistEntry& e, uint32_t next_insn, uint32_t next_frame,
                         Precision& bt) const {
  const isa::Insn& insn = decoded_.insns[e.insn];
  const size_t f = e.frame;
  if (next_frame != f) {
    // Into a bpf-to-bpf call: the callee's arguments were the caller's r1..r5.
    if (insn.kind == isa::Kind::call && insn.call == isa::CallKind::local && next_frame == f + 1 &&
        next_insn == static_cast<uint32_t>(insn.target)) {
      if ((bt.regs[f + 1] & ~kArgRegs) || bt.slots[f + 1]) return false;
      bt.regs[f] = static_cast<uint16_t>(bt.regs[f] | bt.regs[f + 1]);
      bt.regs[f + 1] = 0;
      return true;
    }
    // Out of a bpf-to-bpf call: the caller's r0 was the callee's; r1..r5 were cleared.
    if (insn.kind == isa::Kind::exit && f > 0 && next_frame == f - 1 && next_insn > 0) {
      const isa::Insn& call = decoded_.insns[next_insn - 1];
      if (call.kind != isa::Kind::call || call.call != isa::CallKind::local) return false;
      if ((bt.regs[f - 1] & kArgRegs) || bt.regs[f] || bt.slots[f]) return false;
      if (has_reg(bt, f - 1, 0)) {
        clear_reg(bt, f - 1, 0);
        set_reg(bt, f, 0);
      }
      return true;
    }
    return false;  // callbacks: entered from a helper, left back into it
  }
  const bool reg_src = isa::uses_reg_source(insn.opcode);
  const bool stack = e.stack_slot != HistEntry::kNoSlot;
  auto slot_set = [&] { return stack && (bt.slots[e.stack_frame] >> e.stack_slot & 1); };
  auto set_slot = [&] { bt.slots[e.stack_frame] |= uint64_t{1} << e.stack_slot; };
  auto clear_slot = [&] { bt.slots[e.stack_frame] &= ~(uint64_t{1} << e.stack_slot); };
  switch (insn.kind) {
    case isa::Kind::alu: {
      if (!has_reg(bt, f, insn.dst)) return true;
      if (BPF_OP(insn.opcode) == BPF_MOV) {
        clear_reg(bt, f, insn.dst);  // the value is the source's, or a constant
        if (reg_src) set_reg(bt, f, insn.src);
      } else if (reg_src && BPF_OP(insn.opcode) != BPF_NEG) {
        set_reg(bt, f, insn.src);  // dst op= src: both inputs decide the result
      }
      return true;
    }
    case isa::Kind::endian: return true;
    case isa::Kind::load:
      if (!has_reg(bt, f, insn.dst)) return true;
      clear_reg(bt, f, insn.dst);
      if (stack) set_slot();  // a fill: the value is the spilled one
      return true;
    case isa::Kind::store_reg:
      if (!slot_set()) return true;
      if (insn.width == 8) clear_slot();
      set_reg(bt, f, insn.src);  // a spill
      return true;
    case isa::Kind::store_imm:
      if (slot_set() && insn.width == 8) clear_slot();
      return true;
    case isa::Kind::atomic: {
      const bool cmpxchg = insn.imm == BPF_CMPXCHG;
      const bool fetch = !cmpxchg && (insn.imm & BPF_FETCH);
      if (stack) {
        if (slot_set() || (fetch && has_reg(bt, f, insn.src)) || (cmpxchg && has_reg(bt, f, 0))) {
          set_slot();
          set_reg(bt, f, insn.src);
          if (cmpxchg) set_reg(bt, f, 0);
        }
        return true;
      }
      if (fetch) clear_reg(bt, f, insn.src);  // loaded from memory
      if (cmpxchg) clear_reg(bt, f, 0);
      return true;
    }
    case isa::Kind::lddw: clear_reg(bt, f, insn.dst); return true;
    case isa::Kind::packet_load:
      if (bt.regs[f] & kArgRegs) return false;
      clear_reg(bt, f, 0);
      return true;
    case isa::Kind::jump:
    case isa::Kind::may_goto: return true;
    case isa::Kind::jump_cond: {
      if (e.linked) {
        // The comparison refined every scalar linked to the compared ones: if one of them
        // matters, they all do (Linux's bt_sync_linked_regs).
        const std::vector<uint16_t>& members = linked_sets_[e.linked - 1];
        bool any = false;
        for (uint16_t m : members) {
          const size_t mf = m >> 8, index = m & 0x7f;
          any |= (m & 0x80) ? (bt.slots[mf] >> index & 1) != 0 : has_reg(bt, mf, int(index));
        }
        if (any) {
          for (uint16_t m : members) {
            const size_t mf = m >> 8, index = m & 0x7f;
            if (m & 0x80)
              bt.slots[mf] |= uint64_t{1} << index;
            else
              set_reg(bt, mf, static_cast<int>(index));
          }
        }
      }
      // Then the operands (a linked register may be one): each bounded the other.
      if (reg_src && (has_reg(bt, f, insn.dst) || has_reg(bt, f, insn.src))) {
        set_reg(bt, f, insn.dst);
        set_reg(bt, f, insn.src);
      }
      return true;
    }
    case isa::Kind::call:
      if (insn.call == isa::CallKind::local) return false;
      if (bt.regs[f] & kArgRegs) return false;  // read after the call that clobbered them
      clear_reg(bt, f, 0);                      // the helper's result
      return true;
    default: return false;
  }
}

void Env::backtrack(const VerifierState& st, Precision bt) {
  const std::vector<HistEntry>* segment = &st.history;
  uint32_t next_insn = st.insn;
  auto next_frame = static_cast<uint32_t>(st.frames.size() - 1);
  int32_t cp = st.parent;
  for (;;) {
    for (size_t k = segment->size(); k-- > 0;) {
      const HistEntry& e = (*segment)[k];
      if (!backtrack_insn(e, next_insn, next_frame, bt)) return mark_all_precise(cp);
      next_insn = e.insn;
      next_frame = e.frame;
      if (bt.empty()) return;
    }
    if (cp < 0) return;  // the program's entry: what is left are its inputs
    Checkpoint& c = checkpoints_[cp];
    if (c.precise.all) return;
    const VerifierState& s = c.state;
    for (size_t f = 0; f < bt.regs.size(); ++f) {
      if (f >= s.frames.size()) {
        if (bt.regs[f] || bt.slots[f]) return mark_all_precise(cp);
        continue;
      }
      const FuncFrame& frame = s.frames[f];
      for (int r = 0; r < 11; ++r) {
        if (!has_reg(bt, f, r)) continue;
        // Only scalars are compared loosely; one already precise here was followed further
        // back when it was marked.
        if (frame.regs[static_cast<size_t>(r)].type != RegType::scalar ||
            has_reg(c.precise, f, r)) {
          clear_reg(bt, f, r);
        } else {
          set_reg(c.precise, f, r);
        }
      }
      for (size_t i = 0; i < 64; ++i) {
        const uint64_t b = uint64_t{1} << i;
        if (!(bt.slots[f] & b)) continue;
        const bool spilled_scalar = i < frame.stack.size() && frame.stack[i].is_spill() &&
                                    frame.stack[i].spilled.type == RegType::scalar;
        // Unknown (misc) bytes are never precise; zero bytes are always compared.
        if (!spilled_scalar || (c.precise.slots[f] & b))
          bt.slots[f] &= ~b;
        else
          c.precise.slots[f] |= b;
      }
    }
    if (bt.empty()) return;
    segment = &c.segment;
    next_insn = s.insn;
    next_frame = static_cast<uint32_t>(s.frames.size() - 1);
    cp = c.parent;
  }
}

void Env::mark_precise(const VerifierState& st, int regno) {
  if (!tracks_precision()) return;
  if (st.cur().regs[static_cast<size_t>(regno)].type != RegType::scalar) return;
  Precision bt;
  set_reg(bt, st.frames.size() - 1, regno);
  backtrack(st, bt);
}

void Env::propagate_precision(const Precision& old, const VerifierState& st) {
  if (!tracks_precision()) return;
  if (old.all) return mark_all_precise(st.parent);
  if (old.empty()) return;
  backtrack(st, old);
}

void Env::mark_all_precise(int32_t checkpoint) {
  for (int32_t cp = checkpoint; cp >= 0; cp = checkpoints_[cp].parent) {
    if (checkpoints_[cp].precise.all) return;  // and so is everything before it
    checkpoints_[cp].precise.all = true;
  }
}

}  // namespace userbpf::verifier
