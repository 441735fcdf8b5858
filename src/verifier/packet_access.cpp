// Accesses through the context, packet pointers and socket pointers, and LD_ABS/LD_IND (Linux's
// check_mem_access branches for PTR_TO_CTX, packet pointers and socket pointers, check_ctx_access,
// check_packet_access, check_sock_access and check_ld_abs). The per-type rules are in
// context_*.cpp.
#include <linux/bpf.h>

#include "verifier/context.hpp"

namespace userbpf::verifier {

bool Env::check_ctx_access(VerifierState& st, const RegState& ptr, int regno, int32_t off, int size,
                           Access access, bool sign_extend, RegState* result) {
  (void)st;
  // check_ptr_off_reg: only the context pointer itself may be dereferenced.
  if (ptr.off != 0)
    return reject("dereference of modified ctx ptr R{} off={} disallowed", regno, ptr.off);
  if (!ptr.is_const() || ptr.const_value() != 0)
    return reject("variable ctx access var_off={} disallowed", to_string(ptr.var_off));
  CtxAccess query;
  query.off = off;
  query.size = size;
  query.access = access;
  query.sign_extend = sign_extend;
  query.cap_bpf = privileged();
  CtxField field;
  if (!ctx_access_ok(program(), query, field))
    return reject("invalid bpf_context access off={} size={}", off, size);
  if (result) {
    if (field.type == RegType::scalar) {
      *result = scalar_unknown();
    } else {
      // Every load of a pointer field starts a new pointer with nothing known about it (for
      // packets: nothing in range yet); one that may be NULL gets an id for its NULL check.
      *result = pointer_to(field.type);
      result->maybe_null = field.maybe_null;
      result->id = field.maybe_null ? new_id() : 0;
    }
  }
  return true;
}

bool Env::check_packet_access(const RegState& ptr, int regno, int32_t off, int size,
                              Access access) {
  if (access == Access::write && !may_access_packet(program().prog_type, access))
    return reject("cannot write into packet");
  if (ptr.smin < 0)
    return reject(
        "R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
        regno);
  // The range counts the bytes known to follow the pointer including its variable part, so only
  // the fixed offset is checked against it.
  const int64_t start = static_cast<int64_t>(ptr.off) + off;
  if (start >= 0 && size > 0 && start + size <= ptr.range) return true;
  // Linux logs two lines, this one and "R<n> offset is outside of the packet"; the first is the
  // diagnosis (it says by how much), the second goes to the log.
  if (options().log_level > 0) log_line(fmt::format("R{} offset is outside of the packet", regno));
  return reject("invalid access to packet, off={} size={}, R{}(id={},off={},r={})", start, size,
                regno, ptr.id, start, ptr.range);
}

bool Env::check_sock_access(const RegState& ptr, int regno, int32_t off, int size, Access access) {
  if (access == Access::write) return reject("R{} cannot write into {}", regno, reg_type_name(ptr));
  if (ptr.smin < 0)
    return reject(
        "R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
        regno);
  const int64_t total = static_cast<int64_t>(ptr.off) + off;
  if (!ptr.is_const() || total != static_cast<int32_t>(total) ||
      !sock_object_access_ok(ptr.type, static_cast<int32_t>(total), size))
    return reject("R{} invalid {} access off={} size={}", regno, reg_type_name(ptr), total, size);
  return true;
}

void Env::clear_packet_pointers(VerifierState& st) {
  auto clear = [&](RegState& r) {
    if (!r.is_packet() && r.type != RegType::ptr_to_packet_end) return;
    // Root keeps an unknown scalar (pointer leaks are allowed), others nothing readable.
    if (privileged())
      mark_unknown(r);
    else
      r = RegState{};
  };
  for (FuncFrame& frame : st.frames) {
    for (RegState& r : frame.regs) clear(r);
    for (StackSlot& slot : frame.stack) {
      if (!slot.is_spill() || !slot.spilled.is_pointer()) continue;
      if (!slot.spilled.is_packet() && slot.spilled.type != RegType::ptr_to_packet_end) continue;
      // A spilled packet pointer reads back as an unknown value.
      mark_unknown(slot.spilled);
    }
  }
}

Env::Step Env::check_ld_abs(VerifierState& st, const isa::Insn& insn) {
  auto fail = [&](bool ok) { return ok ? Step::next : Step::failed; };
  if (!may_use_ld_abs(program().prog_type))
    return fail(reject("BPF_LD_[ABS|IND] instructions not allowed for this program type"));
  const bool indirect = BPF_MODE(insn.opcode) == BPF_IND;
  if (insn.dst != 0 || insn.off != 0 || insn.width == 8 || (!indirect && insn.src != 0))
    return fail(reject("BPF_LD_[ABS|IND] uses reserved fields"));
  if (!check_reg_read(st, 6)) return Step::failed;
  // The load may end the program at run time (out-of-packet reads return 0), which would leak
  // references.
  if (!st.refs.empty()) {
    if (options().log_level > 0)
      log_line(fmt::format("Unreleased reference id={} alloc_insn={}", st.refs.front().id,
                           st.refs.front().insn));
    return fail(reject("BPF_LD_[ABS|IND] cannot be mixed with socket references"));
  }
  if (st.lock.held())
    return fail(reject("BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region"));
  const RegState& r6 = st.regs()[6];
  if (r6.type != RegType::ptr_to_ctx)
    return fail(reject("at the time of BPF_LD_ABS|IND R6 != pointer to skb"));
  if (indirect && !check_reg_read(st, insn.src)) return Step::failed;
  if (r6.off != 0)
    return fail(reject("dereference of modified ctx ptr R6 off={} disallowed", r6.off));
  if (!r6.is_const() || r6.const_value() != 0)
    return fail(reject("variable ctx access var_off={} disallowed", to_string(r6.var_off)));
  for (int r = 1; r <= 5; ++r) st.regs()[r] = RegState{};
  st.regs()[0] = scalar_unknown();
  if (st.frames.size() == 1) return Step::next;
  // In a subprogram the failing load returns 0 from it (the hidden exit bpf_gen_ld_abs emits):
  // the successful load continues on another branch, this path returns.
  if (!push_branch(st, st.insn + 1)) return Step::failed;
  st.regs()[0] = scalar_const(0);
  bool done = false;
  if (!check_exit(st, done)) return Step::failed;
  return done ? Step::path_done : Step::jumped;
}

}  // namespace userbpf::verifier
