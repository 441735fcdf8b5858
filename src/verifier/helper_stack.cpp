// Stack memory given to a helper (Linux's check_stack_range_initialized with ACCESS_HELPER and
// the byte writes check_helper_call simulates for raw-mode arguments): the range must lie in the
// frame, at a fixed offset or, for root, a bounded variable one; what the helper reads must be
// initialized (root may read never-written bytes) and may not hold a spilled pointer unless
// pointers may leak (root); what a helper that writes was given may have been overwritten.
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

// Offsets beyond 2^29 could overflow the checks that follow (Linux's BPF_MAX_VAR_OFF).
constexpr int64_t kMaxVarOff = int64_t{1} << 29;

StackSlot& slot_of(FuncFrame& frame, int64_t byte_off) {
  const auto index = static_cast<size_t>((-byte_off - 1) / 8);
  if (frame.stack.size() <= index) frame.stack.resize(index + 1);
  return frame.stack[index];
}

size_t byte_of(int64_t byte_off) {
  return static_cast<size_t>(((byte_off % 8) + 8) % 8);
}

// A spilled register's slot after something other than a spill wrote into it
// (scrub_spilled_slot): what was initialized becomes misc.
void scrub(StackSlot& slot) {
  for (SlotByte& b : slot.bytes)
    if (b != SlotByte::invalid) b = SlotByte::misc;
  slot.spilled = RegState{};
}

}  // namespace

bool Env::check_helper_stack(VerifierState& st, int regno, int64_t size, Access access,
                             bool raw_mode, bool zero_ok) {
  const RegState ptr = st.regs()[regno];
  if (size == 0 && !zero_ok) return reject("invalid zero-sized read");
  // check_stack_access_within_bounds: a helper may write, so the bounds are those of a write.
  const bool var = !ptr.is_const();
  int64_t min_off = 0, max_off = 0;
  if (var) {
    if (ptr.smax >= kMaxVarOff || ptr.smin <= -kMaxVarOff)
      return reject("invalid unbounded variable-offset indirect access to stack R{}", regno);
    min_off = ptr.smin + ptr.off;
    max_off = ptr.smax + ptr.off;
  } else {
    min_off = max_off = static_cast<int64_t>(ptr.var_off.value) + ptr.off;
  }
  if (min_off < -isa::kStackSize || min_off > -1 || max_off + size > 0 || size < 0) {
    if (var)
      return reject(
          "invalid variable-offset indirect access to stack R{} var_off={} off={} size={}", regno,
          to_string(ptr.var_off), ptr.off, size);
    return reject("invalid indirect access to stack R{} off={} size={}", regno, min_off, size);
  }
  if (var) {
    // Spectre masking of stack arithmetic has no variable offsets (retrieve_ptr_limit).
    if (!privileged())
      return reject("R{} indirect variable offset stack access prohibited for !root, var_off={}",
                    regno, to_string(ptr.var_off));
    // The helper may fill only part of a window it does not know: it must be initialized.
    raw_mode = false;
  }
  FuncFrame& frame = st.frames[ptr.frameno];
  note_stack_depth(frame, -min_off);
  if (raw_mode) {
    // The helper writes every byte (check_helper_call's byte stores after the call): a spilled
    // pointer may not be partly overwritten by unprivileged programs (check_stack_write's
    // "attempt to corrupt spilled pointer"); everything written becomes misc.
    for (int64_t b = min_off; b < min_off + size; ++b) {
      StackSlot& slot = slot_of(frame, b);
      if (!privileged() && slot.is_spill() && slot.spilled.type != RegType::scalar)
        return reject("attempt to corrupt spilled pointer on stack");
    }
    for (int64_t b = min_off; b < min_off + size; ++b) {
      StackSlot& slot = slot_of(frame, b);
      if (slot.is_spill()) scrub(slot);
      slot.bytes[byte_of(b)] = SlotByte::misc;
    }
    return true;
  }
  // Every byte the helper may read, for every offset the pointer may have.
  for (int64_t b = min_off; b < max_off + size; ++b) {
    StackSlot& slot = slot_of(frame, b);
    SlotByte& byte = slot.bytes[byte_of(b)];
    if (byte == SlotByte::misc) continue;
    // A helper that writes may leave anything there. Linux 6.12 assumes that of every helper
    // (its clobber for ACCESS_HELPER); for helpers that only read, userbpf keeps what the stack
    // held, as the kernel's log shows it (the clobber marks no slot as changed).
    const bool clobber = access == Access::write;
    if (byte == SlotByte::zero || (byte == SlotByte::invalid && privileged())) {
      if (clobber) byte = SlotByte::misc;
      continue;
    }
    if (slot.is_spill() && (slot.spilled.type == RegType::scalar || privileged())) {
      if (clobber) scrub(slot);
      continue;
    }
    if (var)
      return reject("invalid indirect read from stack R{} var_off {}+{} size {}", regno,
                    to_string(ptr.var_off), b - min_off, size);
    return reject("invalid indirect read from stack R{} off {}+{} size {}", regno, min_off,
                  b - min_off, size);
  }
  return true;
}

}  // namespace userbpf::verifier
