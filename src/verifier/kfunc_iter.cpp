// Open-coded iterators (bpf_iter_<type>_new/next/destroy), as Linux's process_iter_arg,
// mark_stack_slots_iter, is_iter_reg_valid_uninit/init and process_iter_next_call do it: the
// iterator struct lives in stack slots of kind `iter` whose `spilled` state holds the iterator's
// type, reference, state and depth. new() needs slots that hold no iterator and acquires a
// reference, next() and destroy() need an initialized iterator of the same type, destroy()
// releases it. next() forks: the path where it returned an element is queued one level deeper,
// the current one sees the iterator drained and NULL. explore.cpp makes next() a checkpoint
// where an active iterator's loop converges (states covered by an earlier iteration still being
// explored end their path).
#include "verifier/env.hpp"
#include "verifier/kfunc_table.hpp"

namespace userbpf::verifier {
namespace {

// "bpf_iter_num" -> "num" (iter_type_str).
std::string_view iter_type_str(std::string_view name) {
  constexpr std::string_view kPrefix = "bpf_iter_";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  return name;
}

}  // namespace

bool Env::process_iter_arg(VerifierState& st, int regno, const KfuncDef& kfunc,
                           uint32_t& ref_obj_id, uint32_t& iter_frame, size_t& iter_spi) {
  const RegState reg = st.regs()[regno];
  const int argno = regno - 1;
  if (reg.type != RegType::ptr_to_stack)
    return reject("arg#{} expected pointer to an iterator on stack", argno);
  const KfuncParam& param = kfunc.proto.params[static_cast<size_t>(argno)];
  const uint32_t nr_slots = param.size / 8;
  if (!param.pointer || !param.is_struct || nr_slots == 0)
    return reject("expected valid iter pointer as arg #{}", argno);
  const std::string_view type = iter_type_str(param.type);

  // stack_slot_obj_get_spi(..., "iter", nr_slots)
  if (!reg.is_const()) return reject("iter has to be at a constant offset");
  const int64_t off = reg.off + static_cast<int64_t>(reg.var_off.value);
  if (off % 8 != 0) return reject("cannot pass in iter at an offset={}", off);
  const int64_t spi = (-off - 1) / 8;
  if (off >= 0 || spi + 1 < static_cast<int64_t>(nr_slots))
    return reject("cannot pass in iter at an offset={}", off);
  FuncFrame& frame = st.frames[reg.frameno];
  const bool allocated = static_cast<size_t>(spi) < frame.stack.size();

  if (kfunc.flags & kf::kIterNew) {
    if (allocated) {
      for (uint32_t i = 0; i < nr_slots; ++i)
        for (SlotByte b : frame.stack[static_cast<size_t>(spi) - i].bytes)
          if (b == SlotByte::iter)
            return reject("expected uninitialized iter_{} as arg #{}", type, argno);
    }
    for (uint32_t i = 0; i < nr_slots * 8; i += 8)
      if (!check_mem_access(st, regno, static_cast<int32_t>(i), 8, Access::write, nullptr, -1,
                            nullptr))
        return false;
    FuncFrame& f = st.frames[reg.frameno];  // check_mem_access may have grown the stack
    const uint32_t id = acquire_reference(st);
    for (uint32_t i = 0; i < nr_slots; ++i) {
      StackSlot& slot = f.stack[static_cast<size_t>(spi) - i];
      slot.bytes.fill(SlotByte::iter);
      slot.spilled = RegState{};
      slot.spilled.type = RegType::ptr_to_stack;  // Linux has no dedicated register type either
      slot.spilled.btf_name = param.type;
      slot.spilled.ref_obj_id = i == 0 ? id : 0;
      slot.spilled.iter_state = RegState::IterState::active;
      slot.spilled.iter_depth = 0;
    }
    ref_obj_id = 0;
    return true;
  }

  // next(), destroy() and kfuncs taking an "__iter" argument: an initialized iterator.
  bool valid = allocated;
  for (uint32_t i = 0; valid && i < nr_slots; ++i) {
    const StackSlot& slot = frame.stack[static_cast<size_t>(spi) - i];
    for (SlotByte b : slot.bytes) valid = valid && b == SlotByte::iter;
    valid =
        valid && (i == 0) == (slot.spilled.ref_obj_id != 0) && slot.spilled.btf_name == param.type;
  }
  if (!valid) return reject("expected an initialized iter_{} as arg #{}", type, argno);
  ref_obj_id = frame.stack[static_cast<size_t>(spi)].spilled.ref_obj_id;
  iter_frame = reg.frameno;
  iter_spi = static_cast<size_t>(spi);
  if (kfunc.flags & kf::kIterDestroy) {
    if (!release_reference(st, ref_obj_id))
      return reject("verifier internal error: iterator reference {} is not held", ref_obj_id);
    for (uint32_t i = 0; i < nr_slots; ++i) {
      StackSlot& slot = st.frames[reg.frameno].stack[static_cast<size_t>(spi) - i];
      slot.bytes.fill(SlotByte::invalid);
      slot.spilled = RegState{};
    }
    ref_obj_id = 0;
  }
  return true;
}

bool Env::process_iter_next(VerifierState& st, uint32_t iter_frame, size_t iter_spi) {
  RegState& iter = st.frames[iter_frame].stack[iter_spi].spilled;
  if (iter.iter_state != RegState::IterState::active &&
      iter.iter_state != RegState::IterState::drained)
    return reject("verifier internal error: unexpected iterator state");
  if (iter.iter_state == RegState::IterState::active) {
    VerifierState queued = st;
    RegState& queued_iter = queued.frames[iter_frame].stack[iter_spi].spilled;
    ++queued_iter.iter_depth;
    queued.regs()[0].maybe_null = false;  // next() returned an element
    if (!push_branch(queued, cur_insn() + 1)) return false;
  }
  iter.iter_state = RegState::IterState::drained;  // the depth stays
  st.regs()[0] = scalar_const(0);
  return true;
}

bool Env::iter_next_active(const VerifierState& st) const {
  const RegState& r1 = st.cur().regs[1];
  if (r1.type != RegType::ptr_to_stack || !r1.is_const() || r1.frameno >= st.frames.size())
    return false;
  const int64_t off = r1.off + static_cast<int64_t>(r1.var_off.value);
  if (off >= 0 || off % 8 != 0) return false;
  const auto spi = static_cast<size_t>((-off - 1) / 8);
  const FuncFrame& frame = st.frames[r1.frameno];
  if (spi >= frame.stack.size()) return false;
  const StackSlot& slot = frame.stack[spi];
  return slot.bytes[0] == SlotByte::iter && slot.spilled.iter_state == RegState::IterState::active;
}

}  // namespace userbpf::verifier
