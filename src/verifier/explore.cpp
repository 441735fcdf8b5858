// Path exploration: one path at a time, the other side of each undecided branch kept on a work
// list, as Linux's do_check does. At prune points (jump targets and the instructions after
// conditional jumps) a state covered by a completely explored state ends its path (state pruning
// by subsumption); an exact repeat of a state whose exploration is still open is an infinite loop.
#include <unordered_map>

#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

// Ids of the old state must map one to one onto ids of the current one (Linux's check_ids).
struct IdMap {
  std::unordered_map<uint32_t, uint32_t> old_to_cur, cur_to_old;
  uint32_t next_fresh = 0x80000000u;  // ids no state uses
  // Scalars must be equal, not merely covered (Linux's explore_alu_limits: once unprivileged
  // pointer arithmetic was masked by an unknown offset, every path must see its own masking).
  bool exact_scalars = false;
  uint32_t fresh() { return ++next_fresh; }
  bool same(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0 || cur_id == 0) return old_id == cur_id;
    auto [a, fresh_a] = old_to_cur.emplace(old_id, cur_id);
    auto [b, fresh_b] = cur_to_old.emplace(cur_id, old_id);
    return a->second == cur_id && b->second == old_id;
  }
};

bool range_within(const RegState& old, const RegState& cur) {
  return old.umin <= cur.umin && cur.umax <= old.umax && old.smin <= cur.smin &&
         cur.smax <= old.smax && old.u32_min <= cur.u32_min && cur.u32_max <= old.u32_max &&
         old.s32_min <= cur.s32_min && cur.s32_max <= old.s32_max;
}

// Whether every value `cur` may hold is one `old` may hold, so old's exploration covers cur.
// A scalar no decision depended on (not `precise`, precision.cpp) covers every scalar.
bool reg_safe(const RegState& old, const RegState& cur, IdMap& ids, bool precise = true) {
  if (old.type == RegType::not_init) return true;
  if (old.type != cur.type) return false;
  if (old.type == RegType::scalar) {
    if (!precise && !ids.exact_scalars) return true;
    // Scalars linked in the old state must be linked the same way now (Linux's
    // check_scalar_ids); an unlinked current scalar gets a fresh id of its own.
    if (old.id != 0 && !ids.same(old.id, cur.id != 0 ? cur.id : ids.fresh())) return false;
    if (ids.exact_scalars)
      return old.var_off == cur.var_off && old.smin == cur.smin && old.smax == cur.smax &&
             old.umin == cur.umin && old.umax == cur.umax && old.s32_min == cur.s32_min &&
             old.s32_max == cur.s32_max && old.u32_min == cur.u32_min && old.u32_max == cur.u32_max;
    return range_within(old, cur) && old.var_off.contains(cur.var_off);
  }
  if (old.maybe_null != cur.maybe_null || old.rdonly != cur.rdonly || old.ringbuf != cur.ringbuf ||
      old.trusted != cur.trusted || old.untrusted != cur.untrusted || old.btf_name != cur.btf_name)
    return false;
  if (old.off != cur.off || old.map_index != cur.map_index || old.mem_size != cur.mem_size ||
      old.frameno != cur.frameno || old.func_insn != cur.func_insn)
    return false;
  if (old.is_packet() && cur.range < old.range) return false;
  if (!range_within(old, cur) || !old.var_off.contains(cur.var_off)) return false;
  return ids.same(old.id, cur.id) && ids.same(old.ref_obj_id, cur.ref_obj_id);
}

// A slot read as a whole 8-byte scalar: a spilled 64-bit scalar, all misc (unknown) or all zero
// (Linux's scalar_reg_for_stack); false for anything else.
bool slot_as_scalar(const StackSlot& slot, RegState& out) {
  auto all = [&](SlotByte kind) {
    for (SlotByte b : slot.bytes)
      if (b != kind) return false;
    return true;
  };
  if (all(SlotByte::spill) && slot.spilled.type == RegType::scalar) {
    out = slot.spilled;
    return true;
  }
  if (all(SlotByte::misc)) {
    out = scalar_unknown();
    return true;
  }
  if (all(SlotByte::zero)) {
    out = scalar_const(0);
    return true;
  }
  return false;
}

// Linux's stacksafe (without liveness): every byte the old state could read gives, in the
// current state, a value the old state's exploration covered. `precise` tells which spilled
// scalars must match (nullptr: all).
bool stack_safe(const FuncFrame& old, const FuncFrame& cur, IdMap& ids, bool privileged,
                const Precision* precise, size_t frame) {
  const StackSlot empty;
  for (size_t s = 0; s < old.stack.size(); ++s) {
    const StackSlot& o = old.stack[s];
    const StackSlot& c = s < cur.stack.size() ? cur.stack[s] : empty;
    // Iterator slots (kfunc_iter.cpp): the same iterator in the same state; the depth may differ.
    if (o.bytes[0] == SlotByte::iter || c.bytes[0] == SlotByte::iter) {
      if (o.bytes != c.bytes || o.spilled.btf_name != c.spilled.btf_name ||
          o.spilled.iter_state != c.spilled.iter_state ||
          !ids.same(o.spilled.ref_obj_id, c.spilled.ref_obj_id))
        return false;
      continue;
    }
    // Root reads uninitialized stack as an unknown value: old misc bytes cover those too, unless
    // the current slot holds a pointer.
    auto ignorable = [&](size_t i) {
      return o.bytes[i] == SlotByte::invalid ||
             (privileged && o.bytes[i] == SlotByte::misc &&
              !(c.is_spill() && c.spilled.type != RegType::scalar));
    };
    bool relevant = false;
    for (size_t i = 0; i < 8; ++i) relevant |= !ignorable(i);
    if (!relevant) continue;
    RegState old_scalar, cur_scalar;
    // Only a spilled scalar can be imprecise; zero bytes always compare.
    const bool slot_precise = !precise || !o.is_spill() || precise->slot(frame, s);
    if (slot_as_scalar(o, old_scalar) && slot_as_scalar(c, cur_scalar)) {
      if (!reg_safe(old_scalar, cur_scalar, ids, slot_precise)) return false;
      continue;
    }
    for (size_t i = 0; i < 8; ++i) {
      if (ignorable(i)) continue;
      // Code safe with misc data is safe with zeros; nothing else may differ.
      if (o.bytes[i] == SlotByte::misc && c.bytes[i] == SlotByte::zero) continue;
      if (o.bytes[i] != c.bytes[i]) return false;
    }
    if (o.is_spill() && !reg_safe(o.spilled, c.spilled, ids, slot_precise)) return false;
  }
  return true;
}

// Whether `cur` is covered by `old`, comparing only the registers some path from the
// instruction reads (`live`: per instruction, liveness.cpp) and, where `precise` is given, only
// the scalars it marks.
bool states_cover(const VerifierState& old, const VerifierState& cur, bool privileged,
                  bool exact_scalars, const Precision* precise,
                  const std::vector<uint16_t>& live) {
  if (old.frames.size() != cur.frames.size() || old.refs.size() != cur.refs.size()) return false;
  if (old.lock.map_index != cur.lock.map_index) return false;
  if (old.active_rcu_lock != cur.active_rcu_lock) return false;
  if (old.active_preempt_lock != cur.active_preempt_lock) return false;
  if (old.speculative && !cur.speculative) return false;
  IdMap ids;
  ids.exact_scalars = exact_scalars;
  if (old.lock.held() && !ids.same(old.lock.id, cur.lock.id)) return false;
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const FuncFrame& o = old.frames[f];
    const FuncFrame& c = cur.frames[f];
    if (o.callsite != c.callsite) return false;
    // The innermost frame needs the registers read from here on; a caller's r0..r5 are replaced
    // when the callee returns, so it needs the r6..r9 read after the call (callbacks return into
    // their helper call, which reads r1..r5 again: all of them).
    uint16_t needed = 0xffff;
    if (f + 1 == old.frames.size()) {
      needed = live[old.insn];
    } else if (old.frames[f + 1].callback == FuncFrame::Callback::none) {
      needed = live[old.frames[f + 1].callsite + 1] & 0xffc0;
    }
    for (size_t r = 0; r < o.regs.size(); ++r) {
      if (!(needed >> r & 1)) continue;
      const bool reg_precise = !precise || precise->reg(f, static_cast<int>(r));
      if (!reg_safe(o.regs[r], c.regs[r], ids, reg_precise)) return false;
    }
    if (!stack_safe(o, c, ids, privileged, precise, f)) return false;
  }
  for (size_t i = 0; i < old.refs.size(); ++i)
    if (!ids.same(old.refs[i].id, cur.refs[i].id)) return false;
  return true;
}

// Widening: every scalar of `cur` that `old` does not cover becomes unknown.
void widen_regs(const RegState& old, RegState& cur) {
  IdMap ids;
  if (old.type == RegType::scalar && cur.type == RegType::scalar && !reg_safe(old, cur, ids))
    mark_unknown(cur);
}

bool states_equal_exact(const VerifierState& a, const VerifierState& b) {
  return a.frames == b.frames && a.refs == b.refs && a.lock == b.lock &&
         a.may_goto_depth == b.may_goto_depth && a.active_rcu_lock == b.active_rcu_lock &&
         a.active_preempt_lock == b.active_preempt_lock;
}

}  // namespace

void Env::widen(const VerifierState& old, VerifierState& cur) {
  if (old.frames.size() != cur.frames.size()) return;
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const FuncFrame& o = old.frames[f];
    FuncFrame& c = cur.frames[f];
    for (size_t r = 0; r < o.regs.size(); ++r) widen_regs(o.regs[r], c.regs[r]);
    for (size_t s = 0; s < std::min(o.stack.size(), c.stack.size()); ++s)
      if (o.stack[s].is_spill() && c.stack[s].is_spill())
        widen_regs(o.stack[s].spilled, c.stack[s].spilled);
  }
}

Env::Env(const Program& program, const isa::Program& decoded, const Options& options)
    : program_(program), decoded_(decoded), options_(options) {
  prune_point_.assign(decoded.size(), false);
  converge_point_.assign(decoded.size(), false);
  explored_.resize(decoded.size());
  live_regs_ = compute_live_regs(decoded);
  call_map_.assign(decoded.size(), Verdict::kNoMap);
  for (size_t i = 0; i < decoded.size(); ++i) {
    const isa::Insn& insn = decoded.insns[i];
    if (insn.kind == isa::Kind::jump_cond || insn.kind == isa::Kind::may_goto) {
      prune_point_[insn.target] = true;
      if (i + 1 < decoded.size()) prune_point_[i + 1] = true;
      // may_goto loops converge where the may_goto is (Linux's force checkpoint there).
      if (insn.kind == isa::Kind::may_goto) {
        prune_point_[i] = true;
        converge_point_[i] = true;
      }
    } else if (insn.kind == isa::Kind::jump) {
      prune_point_[insn.target] = true;
    } else if (insn.kind == isa::Kind::call && insn.call == isa::CallKind::local) {
      prune_point_[insn.target] = true;
    } else if (insn.kind == isa::Kind::call && insn.call == isa::CallKind::helper &&
               calls_callback(static_cast<uint32_t>(insn.imm))) {
      // Iterating callbacks come back to their call: iterations converge there.
      prune_point_[i] = true;
      converge_point_[i] = true;
    } else if (insn.kind == isa::Kind::call && insn.call == isa::CallKind::kfunc &&
               is_iter_next_call(static_cast<uint32_t>(i))) {
      // Iterator loops converge at next() (Linux's checkpoint at is_iter_next_insn).
      prune_point_[i] = true;
      converge_point_[i] = true;
    } else if (insn.kind == isa::Kind::lddw && insn.src == BPF_PSEUDO_FUNC) {
      prune_point_[insn.target] = true;  // a callback's entry
    }
  }
}

bool Env::push_branch(const VerifierState& st, uint32_t insn) {
  VerifierState copy = st;
  copy.insn = insn;
  copy.history.push_back(hist_cur_);  // the instruction that branched
  ++copy.history_jumps;
  if (copy.parent >= 0) ++checkpoints_[copy.parent].branches;
  pending_.push_back(std::move(copy));
  vlog_.pushed(cur_insn_);  // log.hpp: level 1 truncates back to here when the branch is taken
  if (pending_.size() > 8192)
    return reject("The sequence of {} jumps is too complex.", pending_.size());
  return true;
}

void Env::path_finished(const VerifierState& st) {
  int32_t cp = st.parent;
  while (cp >= 0) {
    Checkpoint& c = checkpoints_[cp];
    if (c.branches > 0) --c.branches;
    if (c.branches > 0) break;
    cp = c.parent;
  }
}

bool Env::visit_state(VerifierState& st, bool& failed) {
  failed = false;
  bool looping = false;
  std::vector<int32_t>& list = explored_[st.insn];
  bool pruned = false;
  // An iterator's next() converges only while the iterator is active (is_state_visited).
  const isa::Insn& at = decoded_.insns[st.insn];
  const bool converge =
      converge_point_[st.insn] &&
      (at.kind != isa::Kind::call || at.call != isa::CallKind::kfunc || iter_next_active(st));
  int32_t latest_open = -1;
  for (int32_t index : list) {
    Checkpoint& cp = checkpoints_[index];
    // may_goto converges only across iterations (another depth); the same depth loops forever.
    const bool may_goto_same_depth = decoded_.insns[st.insn].kind == isa::Kind::may_goto &&
                                     cp.state.may_goto_depth == st.may_goto_depth;
    if (cp.branches > 0 && converge && !may_goto_same_depth) {
      // A loop of callback calls or may_goto: a state inside an earlier iteration's state is
      // explored by that iteration's continuation (Linux prunes these with RANGE_WITHIN).
      looping = true;
      latest_open = index;
      if (states_cover(cp.state, st, privileged(), explore_alu_limits_, nullptr, live_regs_)) {
        // Covered by a state whose exploration is still open: what it will need precise is not
        // known yet, so everything this path came through is (sound, if coarse).
        ++cp.hits;
        pruned = true;
        mark_all_precise(st.parent);
        break;
      }
      ++cp.misses;
      continue;
    }
    if (cp.branches > 0) {
      // Still being explored: this path came back to it. An identical state loops forever.
      looping = true;
      if (states_equal_exact(cp.state, st) &&
          cp.state.callback_unroll_depth == st.callback_unroll_depth) {
        failed = true;
        return reject("infinite loop detected at insn {}", st.insn);
      }
      ++cp.misses;
      continue;
    }
    if (states_cover(cp.state, st, privileged(), explore_alu_limits_,
                     tracks_precision() ? &cp.precise : nullptr, live_regs_)) {
      ++cp.hits;
      pruned = true;
      // This path relies on what `cp` relied on: the same scalars are precise along it.
      const Precision needed = cp.precise;
      propagate_precision(needed, st);
      break;
    }
    ++cp.misses;
  }
  // States that keep failing to prune only cost time: drop them from the list (Linux's
  // miss_cnt > hit_cnt * 3 + 3 rule); the record stays for the parent chain.
  std::erase_if(list, [&](int32_t index) {
    const Checkpoint& cp = checkpoints_[index];
    return cp.misses > cp.hits * 3 + 3;
  });
  if (pruned) return true;
  if (converge && latest_open >= 0) {
    // Not converged yet: after a few iterations, forget what changed between the last one and
    // this (widening), so the loop converges. This only adds values: sound, maybe less precise.
    if (++iterations_[st.insn] > kWidenAfterIterations) widen(checkpoints_[latest_open].state, st);
  }
  // Linux keeps a new state only after 2 jumps and 8 instructions since the last one (fewer
  // states to compare, the same verdicts), and inside a loop, where every iteration's state
  // differs and rarely helps later pruning, after 20 jumps or 100 instructions; loop heads that
  // must converge (and BPF_F_TEST_STATE_FREQ) always keep theirs.
  // A long history makes every branch's copy and every backtrack costly: Linux forces a state
  // after 40 jumps ("Avoid accumulating infinitely long jmp history").
  const bool force =
      options_.test_state_freq || converge_point_[st.insn] || st.history_jumps > 40;
  const uint64_t jmps = jmps_processed_ - last_checkpoint_jmps_;
  const uint64_t insns = processed_ - last_checkpoint_processed_;
  if (!force && (jmps < 2 || insns < 8)) return false;
  if (!force && looping && jmps < 20 && insns < 100) return false;
  last_checkpoint_processed_ = processed_;
  last_checkpoint_jmps_ = jmps_processed_;
  Checkpoint cp;
  cp.segment = std::move(st.history);
  st.history.clear();
  st.history_jumps = 0;
  cp.state = st;
  cp.parent = st.parent;
  cp.branches = 1;
  checkpoints_.push_back(std::move(cp));
  st.parent = static_cast<int32_t>(checkpoints_.size() - 1);
  list.push_back(st.parent);
  ++total_states_;
  peak_states_ = std::max<uint64_t>(peak_states_, total_states_);
  max_states_per_insn_ = std::max<uint64_t>(max_states_per_insn_, list.size());
  return false;
}

bool Env::check_exit(VerifierState& st, bool& path_done) {
  path_done = false;
  // R0 must be set only where the program returns to its caller: a subprogram's exit hands
  // whatever r0 holds to the caller, even nothing (void subprograms, Linux's prepare_func_exit),
  // and a callback's r0 is checked as a scalar in callback_exit.
  if (st.frames.size() > 1 && st.cur().callback != FuncFrame::Callback::none)
    return callback_exit(st, path_done);  // callbacks.cpp
  if (st.frames.size() > 1) {
    FuncFrame& callee = st.cur();
    const RegState r0 = callee.regs[0];
    // A global function is checked as Linux checks it on its own: its result is a scalar.
    if (callee.global_func && r0.type != RegType::scalar)
      return reject("At subprogram exit the register R0 is not a scalar value ({})",
                    reg_type_name(r0));
    if (r0.type == RegType::ptr_to_stack && r0.frameno == callee.frameno)
      return reject("cannot return stack pointer to the caller");
    const bool global = callee.global_func;
    const uint32_t callsite = callee.callsite;
    max_stack_depth_ = std::max(max_stack_depth_, callee.stack_depth);
    st.frames.pop_back();
    auto& regs = st.regs();
    for (int r = 1; r <= 5; ++r) regs[r] = RegState{};
    // A global function's caller knows only the prototype's int result.
    regs[0] = global ? scalar_unknown() : r0;
    st.insn = callsite + 1;
    return true;
  }
  if (st.lock.held()) return reject("bpf_spin_unlock is missing");
  if (st.active_rcu_lock) return reject("bpf_rcu_read_unlock is missing");
  if (st.active_preempt_lock)
    return reject("{} bpf_preempt_enable{} missing", st.active_preempt_lock,
                  st.active_preempt_lock == 1 ? " is" : "(s) are");
  if (!st.refs.empty()) {
    // Linux logs every lingering reference; the first is the message.
    for (size_t i = 1; i < st.refs.size(); ++i)
      log_line(
          fmt::format("Unreleased reference id={} alloc_insn={}", st.refs[i].id, st.refs[i].insn));
    return reject("Unreleased reference id={} alloc_insn={}", st.refs.front().id,
                  st.refs.front().insn);
  }
  if (!check_reg_read(st, 0)) return false;
  if (st.regs()[0].is_pointer() && !privileged()) return reject("R0 leaks addr as return value");
  if (!check_return_code(st)) return false;  // return_code.cpp
  max_stack_depth_ = std::max(max_stack_depth_, st.cur().stack_depth);
  path_done = true;
  return true;
}

Env::Step Env::do_insn(VerifierState& st) {
  const isa::Insn& insn = decoded_.insns[st.insn];
  cur_insn_ = st.insn;
  switch (insn.kind) {
    case isa::Kind::alu:
    case isa::Kind::endian: return check_alu(st, insn) ? Step::next : Step::failed;
    case isa::Kind::load: return check_load(st, insn) ? Step::next : Step::failed;
    case isa::Kind::store_reg:
    case isa::Kind::store_imm: return check_store(st, insn) ? Step::next : Step::failed;
    case isa::Kind::atomic: return check_atomic(st, insn) ? Step::next : Step::failed;
    case isa::Kind::lddw:
      if (!check_lddw(st, insn)) return Step::failed;
      st.insn += 2;
      return Step::jumped;
    case isa::Kind::packet_load: return check_ld_abs(st, insn);  // packet_access.cpp
    case isa::Kind::jump: st.insn = static_cast<uint32_t>(insn.target); return Step::jumped;
    case isa::Kind::may_goto: {
      // The path continuing the loop is queued one iteration deeper; this one leaves the loop.
      VerifierState again = st;
      ++again.may_goto_depth;
      if (!push_branch(again, st.insn + 1)) return Step::failed;
      st.insn = static_cast<uint32_t>(insn.target);
      return Step::jumped;
    }
    case isa::Kind::jump_cond: {
      VerifierState other;
      int taken = -1;
      hist_cur_.linked = record_linked_scalars(st, insn);
      if (!check_cond_jmp(st, insn, other, taken)) return Step::failed;
      if (taken >= 0) {
        // The branch was decided by the compared scalars' values.
        mark_precise(st, insn.dst);
        if (isa::uses_reg_source(insn.opcode)) mark_precise(st, insn.src);
      }
      if (taken >= 0 && !privileged()) {
        // Unprivileged: the branch not taken may still run speculatively, with the compared
        // registers unknown (Spectre v1); it must be safe as well.
        VerifierState spec = st;
        spec.speculative = true;
        mark_unknown(spec.regs()[insn.dst]);
        if (isa::uses_reg_source(insn.opcode)) mark_unknown(spec.regs()[insn.src]);
        const uint32_t next = taken == 1 ? st.insn + 1 : static_cast<uint32_t>(insn.target);
        if (!push_branch(spec, next)) return Step::failed;
      }
      if (taken == 1) {
        vlog_.after_cond_jmp(st);
        st.insn = static_cast<uint32_t>(insn.target);
        return Step::jumped;
      }
      if (taken < 0 && !push_branch(other, static_cast<uint32_t>(insn.target))) return Step::failed;
      vlog_.after_cond_jmp(st);
      return Step::next;
    }
    case isa::Kind::call:
      if (insn.call == isa::CallKind::helper) {
        // A callback is entered on its own path (callbacks.cpp).
        return check_helper_call(st, insn) ? Step::next : Step::failed;
      }
      if (insn.call == isa::CallKind::local)
        return check_local_call(st, insn) ? Step::jumped : Step::failed;
      return check_kfunc_call(st, insn) ? Step::next : Step::failed;  // kfunc_check.cpp
    case isa::Kind::exit: {
      bool done = false;
      if (!check_exit(st, done)) return Step::failed;
      return done ? Step::path_done : Step::jumped;
    }
    case isa::Kind::invalid: break;
  }
  reject("invalid BPF_LD_IMM insn");
  return Step::failed;
}

void Env::run(Verdict& verdict) {
  VerifierState init;
  init.frames.emplace_back();
  FuncFrame& main = init.frames.back();
  main.regs[1] = pointer_to(RegType::ptr_to_ctx);
  main.regs[isa::kFramePointer] = pointer_to(RegType::ptr_to_stack);
  pending_.push_back(std::move(init));

  while (!pending_.empty() && !error_) {
    VerifierState st = std::move(pending_.back());
    pending_.pop_back();
    vlog_.popped(st.insn);
    for (;;) {
      if (is_prune_point(st.insn)) {
        bool failed = false;
        cur_insn_ = st.insn;
        if (visit_state(st, failed)) {
          vlog_.pruned(st.insn);
          path_finished(st);
          break;
        }
        if (failed) break;
      }
      if (++processed_ > options_.insn_limit) {
        cur_insn_ = st.insn;
        reject("BPF program is too large. Processed {} insn", processed_);
        break;
      }
      const uint32_t at = st.insn;
      bool jump_class = false;
      switch (decoded_.insns[at].kind) {
        case isa::Kind::jump:
        case isa::Kind::jump_cond:
        case isa::Kind::may_goto:
        case isa::Kind::call:
        case isa::Kind::exit:
          ++jmps_processed_;
          jump_class = true;
          break;
        default: break;
      }
      vlog_.before_insn(st, at);
      hist_cur_ = HistEntry{};
      hist_cur_.insn = at;
      hist_cur_.frame = static_cast<uint8_t>(st.frames.size() - 1);
      const Step step = do_insn(st);
      if (step == Step::failed) break;
      st.history.push_back(hist_cur_);
      if (jump_class) ++st.history_jumps;
      vlog_.after_insn(st, at);
      if (step == Step::path_done) {
        vlog_.path_ended();
        path_finished(st);
        break;
      }
      if (step == Step::next) st.insn = at + 1;
    }
    if (error_) failed_state_ = st;
  }
  if (!error_) check_max_stack_depth();  // call_depth.cpp

  verdict.accepted = !error_;
  verdict.processed_insns = std::min(processed_, options_.insn_limit + 1);
  verdict.total_states = total_states_;
  verdict.peak_states = peak_states_;
  verdict.max_stack_depth = max_stack_depth_;
  if (!error_) verdict.call_map = std::move(call_map_);
  const uint64_t max_per_insn = max_states_per_insn_;
  if (error_) {
    verdict.diagnosis = diagnose(failed_state_);
    verdict.diagnosis.message = *error_;
    if (options_.log_level > 0) log_line(*error_);
  }
  vlog_.finish(verdict.accepted);
  if (options_.log_level > 0)
    log_line(fmt::format(
        "processed {} insns (limit {}) max_states_per_insn {} total_states {} "
        "peak_states {} mark_read 0",
        verdict.processed_insns, options_.insn_limit, max_per_insn, total_states_, peak_states_));
  verdict.log = vlog_.text();
}

}  // namespace userbpf::verifier
