// Conditional jumps: deciding branches from what is known (Linux's is_branch_taken), refining
// both branches' scalars (reg_set_min_max), NULL checks that follow an id to every copy
// (mark_ptr_or_null_regs), and packet ranges learned from comparisons with the packet end
// (try_match_pkt_pointers / find_good_pkt_pointers).
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

struct View {
  int64_t smin, smax;
  uint64_t umin, umax;
  Tnum t;
};

View view(const RegState& r, bool is64) {
  if (is64) return {r.smin, r.smax, r.umin, r.umax, r.var_off};
  return {r.s32_min, r.s32_max, r.u32_min, r.u32_max, r.var_off.subreg()};
}

void store(RegState& r, const View& v, bool is64) {
  if (is64) {
    r.smin = v.smin;
    r.smax = v.smax;
    r.umin = v.umin;
    r.umax = v.umax;
    r.var_off = v.t;
  } else {
    r.s32_min = static_cast<int32_t>(v.smin);
    r.s32_max = static_cast<int32_t>(v.smax);
    r.u32_min = static_cast<uint32_t>(v.umin);
    r.u32_max = static_cast<uint32_t>(v.umax);
    r.var_off = r.var_off.with_subreg(v.t);
  }
  sync_bounds(r);
}

// The condition that holds when `op` does not. JSET's negation is marked by returning 0xff.
uint8_t negated(uint8_t op) {
  switch (op) {
    case BPF_JEQ: return BPF_JNE;
    case BPF_JNE: return BPF_JEQ;
    case BPF_JGT: return BPF_JLE;
    case BPF_JGE: return BPF_JLT;
    case BPF_JLT: return BPF_JGE;
    case BPF_JLE: return BPF_JGT;
    case BPF_JSGT: return BPF_JSLE;
    case BPF_JSGE: return BPF_JSLT;
    case BPF_JSLT: return BPF_JSGE;
    case BPF_JSLE: return BPF_JSGT;
    case BPF_JSET: return 0xff;
    default: return 0xff;
  }
}

// 1: always true, 0: always false, -1: unknown.
int branch_taken(const View& a, const View& b, uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      if (a.t.is_const() && b.t.is_const()) return a.t.value == b.t.value;
      if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin) return 0;
      if ((a.t.value ^ b.t.value) & ~(a.t.mask | b.t.mask)) return 0;
      return -1;
    case BPF_JNE: {
      const int eq = branch_taken(a, b, BPF_JEQ);
      return eq < 0 ? -1 : !eq;
    }
    case BPF_JSET:
      if (a.t.value & b.t.value) return 1;
      if (((a.t.value | a.t.mask) & (b.t.value | b.t.mask)) == 0) return 0;
      return -1;
    case 0xff: {  // !JSET
      const int set = branch_taken(a, b, BPF_JSET);
      return set < 0 ? -1 : !set;
    }
    case BPF_JGT:
      if (a.umin > b.umax) return 1;
      if (a.umax <= b.umin) return 0;
      return -1;
    case BPF_JGE:
      if (a.umin >= b.umax) return 1;
      if (a.umax < b.umin) return 0;
      return -1;
    case BPF_JLT: return branch_taken(b, a, BPF_JGT);
    case BPF_JLE: return branch_taken(b, a, BPF_JGE);
    case BPF_JSGT:
      if (a.smin > b.smax) return 1;
      if (a.smax <= b.smin) return 0;
      return -1;
    case BPF_JSGE:
      if (a.smin >= b.smax) return 1;
      if (a.smax < b.smin) return 0;
      return -1;
    case BPF_JSLT: return branch_taken(b, a, BPF_JSGT);
    case BPF_JSLE: return branch_taken(b, a, BPF_JSGE);
  }
  return -1;
}

// Narrows a and b to the values for which `a op b` holds. Returns false when none do.
bool refine(View& a, View& b, uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      a.umin = b.umin = std::max(a.umin, b.umin);
      a.umax = b.umax = std::min(a.umax, b.umax);
      a.smin = b.smin = std::max(a.smin, b.smin);
      a.smax = b.smax = std::min(a.smax, b.smax);
      if ((a.t.value ^ b.t.value) & ~(a.t.mask | b.t.mask)) return false;
      a.t = b.t = tnum_intersect(a.t, b.t);
      break;
    case BPF_JNE:
      // Only a constant can trim an end of the other's range.
      for (int pass = 0; pass < 2; ++pass) {
        View& x = pass ? b : a;
        const View& c = pass ? a : b;
        if (!c.t.is_const()) continue;
        const uint64_t v = c.t.value;
        if (x.t.is_const() && x.t.value == v) return false;
        if (x.umin == v) ++x.umin;
        if (x.umax == v) --x.umax;
        if (static_cast<uint64_t>(x.smin) == v) ++x.smin;
        if (static_cast<uint64_t>(x.smax) == v) --x.smax;
      }
      break;
    case BPF_JSET:
      if (b.t.is_const() && b.t.value && (b.t.value & (b.t.value - 1)) == 0)
        a.t = tnum_or(a.t, b.t);
      break;
    case 0xff:
      if (b.t.is_const()) a.t = tnum_and(a.t, Tnum::constant(~b.t.value));
      break;
    case BPF_JGT:
      if (b.umin == UINT64_MAX || a.umax == 0) return false;
      a.umin = std::max(a.umin, b.umin + 1);
      b.umax = std::min(b.umax, a.umax - 1);
      break;
    case BPF_JGE:
      a.umin = std::max(a.umin, b.umin);
      b.umax = std::min(b.umax, a.umax);
      break;
    case BPF_JLT: return refine(b, a, BPF_JGT);
    case BPF_JLE: return refine(b, a, BPF_JGE);
    case BPF_JSGT:
      if (b.smin == INT64_MAX || a.smax == INT64_MIN) return false;
      a.smin = std::max(a.smin, b.smin + 1);
      b.smax = std::min(b.smax, a.smax - 1);
      break;
    case BPF_JSGE:
      a.smin = std::max(a.smin, b.smin);
      b.smax = std::min(b.smax, a.smax);
      break;
    case BPF_JSLT: return refine(b, a, BPF_JSGT);
    case BPF_JSLE: return refine(b, a, BPF_JSGE);
  }
  return a.umin <= a.umax && a.smin <= a.smax && b.umin <= b.umax && b.smin <= b.smax;
}

// Applies `a op b` to the registers of one branch. Returns false when the branch is impossible.
bool apply_condition(RegState& a, RegState& b, uint8_t op, bool is64) {
  View va = view(a, is64), vb = view(b, is64);
  if (!is64) {
    // 32-bit views hold 32-bit quantities; give signed ones their 64-bit sign so comparisons work.
    va.smin = static_cast<int32_t>(va.smin);
    va.smax = static_cast<int32_t>(va.smax);
    vb.smin = static_cast<int32_t>(vb.smin);
    vb.smax = static_cast<int32_t>(vb.smax);
  }
  if (!refine(va, vb, op)) return false;
  store(a, va, is64);
  store(b, vb, is64);
  return bounds_consistent(a) && bounds_consistent(b);
}

// Every register and spilled register of every frame.
template <typename F>
void for_each_reg(VerifierState& st, F&& f) {
  for (FuncFrame& frame : st.frames) {
    for (RegState& r : frame.regs) f(r);
    for (StackSlot& slot : frame.stack)
      if (slot.is_spill()) f(slot.spilled);
  }
}

// Copies the bounds of `reg` to every scalar that shares its id (copies made by mov).
void sync_linked(VerifierState& st, const RegState reg) {
  if (reg.type != RegType::scalar || reg.id == 0) return;
  for_each_reg(st, [&](RegState& r) {
    if (r.type == RegType::scalar && r.id == reg.id) r = reg;
  });
}

// Pointers known not to be NULL, so that a comparison with 0 decides the branch (Linux 6.12's
// reg_not_null: not the context or the stack).
bool reg_not_null(const RegState& r) {
  if (r.maybe_null) return false;
  constexpr int64_t kMaxVarOff = 1 << 29;  // an unbounded offset could wrap the base to 0
  if (r.smin <= -kMaxVarOff || r.smax >= kMaxVarOff) return false;
  switch (r.type) {
    case RegType::ptr_to_socket:
    case RegType::ptr_to_tcp_sock:
    case RegType::ptr_to_xdp_sock:
    case RegType::ptr_to_map_value:
    case RegType::ptr_to_map_key:
    case RegType::ptr_to_sock_common:
    case RegType::ptr_to_mem:
    case RegType::const_ptr_to_map: return true;
    case RegType::ptr_to_btf_id: return r.trusted;
    default: return false;
  }
}

// A pointer known not to be NULL (Linux's mark_ptr_not_null_reg): a valid map value of a
// map-in-map is the inner map, of a sockmap a socket.
void mark_ptr_not_null_reg(const Program& program, RegState& r) {
  r.maybe_null = false;
  if (r.type != RegType::ptr_to_map_value || r.map_index >= program.maps.size()) return;
  const MapInfo& map = program.maps[r.map_index];
  if (map.inner_map_index < program.maps.size()) {
    r.type = RegType::const_ptr_to_map;
    r.map_index = map.inner_map_index;
  } else if (map.type == BPF_MAP_TYPE_XSKMAP) {
    r.type = RegType::ptr_to_xdp_sock;
  } else if (map.type == BPF_MAP_TYPE_SOCKMAP || map.type == BPF_MAP_TYPE_SOCKHASH) {
    r.type = RegType::ptr_to_socket;
  }
}

// After a NULL check of the pointer with `id`: NULL in one branch, valid in the other
// (Linux's mark_ptr_or_null_regs). A valid map value of a map-in-map is the inner map, of a
// sockmap a socket.
void mark_ptr_or_null(const Program& program, VerifierState& st, uint32_t id, bool is_null) {
  bool acquired_here = false;
  for_each_reg(st, [&](RegState& r) {
    if (!r.maybe_null || r.id != id) return;
    if (is_null) {
      if (r.ref_obj_id == id) acquired_here = true;
      r = scalar_const(0);
      return;
    }
    r.maybe_null = false;
    bool keep_id = false;
    if (r.type == RegType::ptr_to_map_value && r.map_index < program.maps.size()) {
      const MapInfo& map = program.maps[r.map_index];
      if (map.inner_map_index < program.maps.size()) {
        r.type = RegType::const_ptr_to_map;
        r.map_index = map.inner_map_index;
      } else if (map.type == BPF_MAP_TYPE_XSKMAP) {
        r.type = RegType::ptr_to_xdp_sock;
      } else if (map.type == BPF_MAP_TYPE_SOCKMAP || map.type == BPF_MAP_TYPE_SOCKHASH) {
        r.type = RegType::ptr_to_socket;
      } else {
        keep_id = map.spin_lock_off >= 0;  // the lock's identity
      }
    }
    if (!keep_id) r.id = 0;
  });
  // A NULL result was never acquired: the reference is gone on that path (only the acquired
  // pointer itself, not a cast of it, tells that).
  if (is_null && acquired_here)
    std::erase_if(st.refs, [&](const Reference& x) { return x.id == id; });
}

void find_good_pkt_pointers(VerifierState& st, const RegState& reg, bool right_open) {
  // pkt < pkt_end with no offset tells nothing; offsets past MAX_PACKET_OFF could overflow.
  if (reg.off < 0 || (reg.off == 0 && right_open)) return;
  if (reg.umax > 0xffff || reg.umax + static_cast<uint64_t>(reg.off) > 0xffff) return;
  int32_t new_range = reg.off;
  if (right_open) ++new_range;
  for_each_reg(st, [&](RegState& r) {
    if (r.type == reg.type && r.id == reg.id) r.range = std::max(r.range, new_range);
  });
}

bool try_match_pkt_pointers(uint8_t op, const RegState& dst, const RegState& src,
                            VerifierState& fall, VerifierState& taken) {
  // Meta pointers are compared with the packet start itself (reg_is_init_pkt_pointer).
  auto pkt_vs_end = [](const RegState& p, const RegState& e) {
    return (p.type == RegType::ptr_to_packet && e.type == RegType::ptr_to_packet_end) ||
           (p.type == RegType::ptr_to_packet_meta && e.type == RegType::ptr_to_packet &&
            e.off == 0 && e.is_const() && e.const_value() == 0);
  };
  const bool dst_pkt = pkt_vs_end(dst, src);
  const bool src_pkt = pkt_vs_end(src, dst);
  if (!dst_pkt && !src_pkt) return false;
  switch (op) {
    case BPF_JGT:
      if (dst_pkt)
        find_good_pkt_pointers(fall, dst, false);
      else
        find_good_pkt_pointers(taken, src, true);
      return true;
    case BPF_JLT:
      if (dst_pkt)
        find_good_pkt_pointers(taken, dst, true);
      else
        find_good_pkt_pointers(fall, src, false);
      return true;
    case BPF_JGE:
      if (dst_pkt)
        find_good_pkt_pointers(fall, dst, true);
      else
        find_good_pkt_pointers(taken, src, false);
      return true;
    case BPF_JLE:
      if (dst_pkt)
        find_good_pkt_pointers(taken, dst, false);
      else
        find_good_pkt_pointers(fall, src, true);
      return true;
    default: return false;
  }
}

}  // namespace

bool Env::check_cond_jmp(VerifierState& st, const isa::Insn& insn, VerifierState& other,
                         int& taken) {
  taken = -1;
  const uint8_t op = BPF_OP(insn.opcode);
  const bool is64 = !isa::is_jmp32(insn.opcode);
  const bool use_src = isa::uses_reg_source(insn.opcode);
  if (!check_reg_read(st, insn.dst)) return false;
  RegState src;
  if (use_src) {
    if (!check_reg_read(st, insn.src)) return false;
    src = st.regs()[insn.src];
    if (src.is_pointer() && !privileged())
      return reject("R{} pointer comparison prohibited", insn.src);
  } else {
    src = scalar_const(is64 ? static_cast<uint64_t>(static_cast<int64_t>(insn.imm))
                            : static_cast<uint32_t>(insn.imm));
  }
  const RegState dst = st.regs()[insn.dst];

  if (dst.is_pointer() || src.is_pointer()) {
    // A pointer that cannot be NULL compared with 0 decides the branch.
    const RegState& ptr = dst.is_pointer() ? dst : src;
    const RegState& other_reg = dst.is_pointer() ? src : dst;
    if (is64 && reg_not_null(ptr) && other_reg.type == RegType::scalar && other_reg.is_const() &&
        other_reg.const_value() == 0 && (op == BPF_JEQ || op == BPF_JNE)) {
      taken = op == BPF_JNE ? 1 : 0;
      return true;
    }
    other = st;
    if (is64 && !use_src && insn.imm == 0 && (op == BPF_JEQ || op == BPF_JNE) && dst.maybe_null) {
      mark_ptr_or_null(program(), st, dst.id, op == BPF_JEQ ? false : true);
      mark_ptr_or_null(program(), other, dst.id, op == BPF_JEQ);
      return true;
    }
    // A maybe-NULL pointer equal to a valid one of the same kind is valid in the equal branch
    // (Linux's check_cond_jmp_op; only that register, not its copies).
    if (is64 && use_src && dst.is_pointer() && src.is_pointer() &&
        dst.maybe_null != src.maybe_null && dst.type != RegType::ptr_to_btf_id &&
        src.type != RegType::ptr_to_btf_id && (op == BPF_JEQ || op == BPF_JNE)) {
      VerifierState& eq_branch = op == BPF_JEQ ? other : st;
      mark_ptr_not_null_reg(program(), eq_branch.regs()[dst.maybe_null ? insn.dst : insn.src]);
    }
    const bool pkt_match = is64 && use_src && try_match_pkt_pointers(op, dst, src, st, other);
    if (!pkt_match && dst.is_pointer() && !privileged())
      return reject("R{} pointer comparison prohibited", insn.dst);
    return true;
  }

  // Scalars: decide if possible, otherwise refine both branches.
  View a = view(dst, is64), b = view(src, is64);
  if (!is64) {
    a.smin = static_cast<int32_t>(a.smin);
    a.smax = static_cast<int32_t>(a.smax);
    b.smin = static_cast<int32_t>(b.smin);
    b.smax = static_cast<int32_t>(b.smax);
  }
  taken = branch_taken(a, b, op);
  if (taken >= 0) return true;
  other = st;
  RegState src_fall = src, src_taken = src;
  const bool taken_ok = apply_condition(other.regs()[insn.dst], src_taken, op, is64);
  const bool fall_ok = apply_condition(st.regs()[insn.dst], src_fall, negated(op), is64);
  if (use_src) {
    other.regs()[insn.src] = src_taken;
    st.regs()[insn.src] = src_fall;
  }
  // A branch no value can take is decided: the path goes on with the other branch's state.
  // When only the jump can be taken, that is `other`'s, not the (contradictory) one left in st.
  if (!taken_ok) {
    taken = 0;
  } else if (!fall_ok) {
    taken = 1;
    st = std::move(other);
  }
  // What a branch tells of a scalar it tells of every copy of it (Linux's sync_linked_regs).
  for (VerifierState* branch : {&st, &other}) {
    if (taken >= 0 && branch == &other) continue;
    sync_linked(*branch, branch->regs()[insn.dst]);
    if (use_src) sync_linked(*branch, branch->regs()[insn.src]);
  }
  return true;
}

}  // namespace userbpf::verifier
