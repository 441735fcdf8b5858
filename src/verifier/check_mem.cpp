// Loads, stores and atomics: the access is checked against what the pointer points into (stack
// slots, map values and keys, the context, packet ranges, sized memory), and stack slots track
// spilled registers, zeros and uninitialized bytes (Linux's check_mem_access and the stack code).
#include "verifier/alignment.hpp"
#include "verifier/context.hpp"
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

// The value a `size`-byte load gives when nothing more is known: zero-extended, so bounded.
RegState loaded_scalar(int size, bool sign_extend) {
  RegState r = scalar_unknown();
  if (size < 8) {
    if (sign_extend) {
      r.smin = -(int64_t{1} << (size * 8 - 1));
      r.smax = (int64_t{1} << (size * 8 - 1)) - 1;
    } else {
      r.var_off = Tnum::range(0, (uint64_t{1} << (size * 8)) - 1);
    }
    sync_bounds(r);
  }
  return r;
}

FuncFrame& frame_of(VerifierState& st, const RegState& ptr) {
  return st.frames[ptr.frameno];
}

StackSlot& slot_at(FuncFrame& frame, int64_t byte_off) {
  const size_t index = static_cast<size_t>((-byte_off - 1) / 8);
  if (frame.stack.size() <= index) frame.stack.resize(index + 1);
  return frame.stack[index];
}

// Offsets beyond 2^29 could overflow the checks that follow (Linux's BPF_MAX_VAR_OFF).
constexpr int64_t kMaxVarOff = int64_t{1} << 29;

// The byte of its slot a stack offset names: 0 is the slot's lowest address (Linux's
// slot_type[BPF_REG_SIZE - 1]).
size_t byte_in_slot(int64_t byte_off) {
  return static_cast<size_t>(((byte_off % 8) + 8) % 8);
}

bool is_const_zero(const RegState& r) {
  return r.type == RegType::scalar && r.is_const() && r.const_value() == 0;
}

// How many bits the value needs (Linux's get_reg_width: fls64 of the unsigned maximum).
int reg_width(const RegState& r) {
  return r.umax == 0 ? 0 : 64 - __builtin_clzll(r.umax);
}

// Truncates a scalar to its low `size` bytes, zero-extended (Linux's coerce_reg_to_size).
void coerce_reg_to_size(RegState& reg, int size) {
  const uint64_t mask = (uint64_t{1} << (size * 8)) - 1;
  reg.var_off = reg.var_off.cast(size);
  if ((reg.umin & ~mask) == (reg.umax & ~mask)) {
    reg.umin &= mask;
    reg.umax &= mask;
  } else {
    reg.umin = 0;
    reg.umax = mask;
  }
  reg.smin = static_cast<int64_t>(reg.umin);
  reg.smax = static_cast<int64_t>(reg.umax);
  // Narrower than 32 bits: the 32-bit bounds follow from the 64-bit ones.
  if (size < 4) {
    reg.s32_min = INT32_MIN;
    reg.s32_max = INT32_MAX;
    reg.u32_min = 0;
    reg.u32_max = UINT32_MAX;
  }
  sync_bounds(reg);
}

// A register spilled into the low `size` bytes of the slot (Linux's save_register_state): the
// bytes above keep a zero or an invalid mark, anything else becomes misc.
void save_register_state(StackSlot& slot, const RegState& reg, int size) {
  slot.spilled = reg;
  for (int i = 0; i < 8; ++i) {
    SlotByte& b = slot.bytes[static_cast<size_t>(i)];
    if (i < size)
      b = SlotByte::spill;
    else if (b != SlotByte::zero && b != SlotByte::invalid)
      b = SlotByte::misc;
  }
}

// A plain write into a slot destroys a spilled register: its written bytes become misc
// (Linux's scrub_special_slot).
void scrub_special_slot(StackSlot& slot) {
  if (slot.is_spill())
    for (SlotByte& b : slot.bytes)
      if (b != SlotByte::invalid) b = SlotByte::misc;
  slot.spilled = RegState{};
}

}  // namespace

void Env::record_stack_access(const RegState& ptr, int64_t off) {
  // Loads, stores and atomics only: what helpers read is not a value moved between registers.
  const isa::Kind kind = decoded().insns[cur_insn()].kind;
  if (kind != isa::Kind::load && kind != isa::Kind::store_reg && kind != isa::Kind::store_imm &&
      kind != isa::Kind::atomic)
    return;
  const int64_t slot = (-off - 1) / 8;
  if (slot < 0 || slot >= 64) return;
  hist_cur_.stack_frame = static_cast<uint8_t>(ptr.frameno);
  hist_cur_.stack_slot = static_cast<uint8_t>(slot);
}

void Env::note_stack_depth(FuncFrame& frame, int64_t bytes) {
  // Linux's grow_stack_state: whole 8-byte slots, remembered per subprogram for the combined
  // depth of call chains (call_depth.cpp).
  const auto rounded = static_cast<uint32_t>((bytes + 7) / 8 * 8);
  frame.stack_depth = std::max(frame.stack_depth, static_cast<uint32_t>(bytes));
  uint32_t& known = subprog_stack_depth_[frame.subprog_start];
  known = std::max(known, rounded);
}

bool Env::check_stack_write(VerifierState& st, const RegState& ptr, int regno, int32_t off,
                            int size, const RegState* value, int value_regno) {
  FuncFrame& frame = frame_of(st, ptr);
  const isa::Insn& insn = decoded().insns[cur_insn()];
  const bool store_imm = insn.kind == isa::Kind::store_imm;
  const int32_t fixed_off = ptr.off + off;
  int64_t min_off = fixed_off, max_off = fixed_off;
  if (!ptr.is_const()) {
    if (ptr.smin <= -kMaxVarOff || ptr.smax >= kMaxVarOff)
      return reject("invalid unbounded variable-offset write to stack R{}", regno);
    min_off += ptr.smin;
    max_off += ptr.smax;
  } else {
    min_off = max_off = min_off + static_cast<int64_t>(ptr.var_off.value);
  }
  if (min_off < -isa::kStackSize || max_off + size > 0) {
    if (ptr.is_const())
      return reject("invalid write to stack R{} off={} size={}", regno, min_off, size);
    return reject("invalid variable-offset write to stack R{} var_off={} off={} size={}", regno,
                  to_string(ptr.var_off), fixed_off, size);
  }
  note_stack_depth(frame, -min_off);
  const RegState* reg = value_regno >= 0 ? value : nullptr;
  const bool writing_zero = (reg && is_const_zero(*reg)) || (!reg && store_imm && insn.imm == 0);
  // Zero bytes are compared as such, never loosely: the register that wrote them must be
  // precisely zero on every path pruned against this one.
  const bool spills_scalar = reg && ptr.is_const() && (min_off % 8) == 0 &&
                             reg->type == RegType::scalar && privileged();
  if (reg && writing_zero && !spills_scalar) mark_precise(st, value_regno);
  if (ptr.is_const()) record_stack_access(ptr, min_off);

  if (!ptr.is_const()) {
    // check_stack_write_var_off: any byte in the window may be written.
    for (int64_t b = min_off; b < max_off + size; ++b) {
      StackSlot& slot = slot_at(frame, b);
      SlotByte& kind = slot.bytes[byte_in_slot(b)];
      if (!privileged() && kind != SlotByte::misc && kind != SlotByte::zero)
        return reject("spilled ptr in range of var-offset stack write; insn {}, ptr off: {}",
                      cur_insn(), b);
      // Writing zero over a spilled zero keeps the spill.
      if (writing_zero && kind == SlotByte::spill && slot.spilled.type == RegType::scalar &&
          is_const_zero(slot.spilled))
        continue;
      scrub_special_slot(slot);
      if (kind == SlotByte::invalid && !privileged())
        return reject(
            "uninit stack in range of var-offset write prohibited for !root; insn {}, "
            "off: {}",
            cur_insn(), b);
      kind = writing_zero && kind == SlotByte::zero ? SlotByte::zero : SlotByte::misc;
    }
    return true;
  }

  // check_stack_write_fixed_off.
  StackSlot& slot = slot_at(frame, min_off);
  if (!privileged() && slot.is_spill() && slot.spilled.type != RegType::scalar && size != 8)
    return reject("attempt to corrupt spilled pointer on stack");
  const bool aligned8 = (min_off % 8) == 0;
  if (reg && aligned8 && reg->type == RegType::scalar && privileged()) {
    // A scalar spill keeps what is known of the value; a value that fits the stored bytes stays
    // linked (by id) to the register it came from.
    const bool fits = reg_width(*reg) <= 8 * size;
    RegState saved = *reg;
    if (fits) {
      RegState& src = st.cur().regs[value_regno];
      if (src.type == RegType::scalar && src.id == 0 && !src.is_const()) src.id = new_id();
      saved.id = src.id;
    } else {
      saved.id = 0;
    }
    save_register_state(slot, saved, size);
    return true;
  }
  if (!reg && aligned8 && store_imm && privileged()) {
    // A stored immediate is a spilled constant (sign-extended as an ALU64 immediate).
    save_register_state(slot, scalar_const(static_cast<uint64_t>(int64_t{insn.imm})), size);
    return true;
  }
  if (reg && reg->is_pointer()) {
    if (size != 8) return reject("invalid size of register spill");
    if (!aligned8) return reject("misaligned stack access off {}+{} size {}", min_off, 0, size);
    if (ptr.frameno != st.frames.size() - 1 && reg->type == RegType::ptr_to_stack)
      return reject("cannot spill pointers to stack into stack frame of the caller");
    save_register_state(slot, *reg, size);
    return true;
  }
  // Plain data: the bytes become a known zero or misc; a spill in the slot is gone.
  scrub_special_slot(slot);
  const SlotByte kind = writing_zero ? SlotByte::zero : SlotByte::misc;
  for (int64_t b = min_off; b < min_off + size; ++b) slot.bytes[byte_in_slot(b)] = kind;
  return true;
}

bool Env::check_stack_read(VerifierState& st, const RegState& ptr, int regno, int32_t off, int size,
                           RegState* result) {
  FuncFrame& frame = frame_of(st, ptr);
  const int32_t fixed_off = ptr.off + off;
  int64_t min_off = fixed_off, max_off = fixed_off;
  if (!ptr.is_const()) {
    if (ptr.smin <= -kMaxVarOff || ptr.smax >= kMaxVarOff)
      return reject("invalid unbounded variable-offset read from stack R{}", regno);
    min_off += ptr.smin;
    max_off += ptr.smax;
  } else {
    min_off = max_off = min_off + static_cast<int64_t>(ptr.var_off.value);
  }
  if (min_off < -isa::kStackSize || max_off + size > 0) {
    if (ptr.is_const())
      return reject("invalid read from stack R{} off={} size={}", regno, min_off, size);
    return reject("invalid variable-offset read from stack R{} var_off={} off={} size={}", regno,
                  to_string(ptr.var_off), fixed_off, size);
  }
  note_stack_depth(frame, -min_off);
  if (ptr.is_const()) record_stack_access(ptr, min_off);
  // Root may read stack never written (Linux's allow_uninit_stack); others may not.
  const bool uninit_ok = privileged();
  const StackSlot empty;
  auto slot_of = [&](int64_t b) -> const StackSlot& {
    const size_t index = static_cast<size_t>((-b - 1) / 8);
    return index < frame.stack.size() ? frame.stack[index] : empty;
  };
  // Zeros everywhere read give a zero, anything else an unknown value (mark_reg_stack_read).
  auto stack_data = [&](int64_t from, int64_t to) {
    for (int64_t b = from; b < to; ++b)
      if (slot_of(b).bytes[byte_in_slot(b)] != SlotByte::zero) return scalar_unknown();
    return scalar_const(0);
  };
  if (!ptr.is_const()) {
    // check_stack_range_initialized: every byte that may be read must be readable.
    for (int64_t b = min_off; b < max_off + size; ++b) {
      const StackSlot& slot = slot_of(b);
      const SlotByte kind = slot.bytes[byte_in_slot(b)];
      if (kind == SlotByte::misc || kind == SlotByte::zero) continue;
      if (kind == SlotByte::invalid && uninit_ok) continue;
      if (slot.is_spill() && (slot.spilled.type == RegType::scalar || privileged())) continue;
      return reject("invalid read from stack R{} var_off {}+{} size {}", regno,
                    to_string(ptr.var_off), b - min_off, size);
    }
    if (result) *result = stack_data(min_off, max_off + size);
    return true;
  }

  // check_stack_read_fixed_off.
  const StackSlot& slot = slot_of(min_off);
  if (slot.is_spill()) {
    int spill_size = 1;
    while (spill_size < 8 && slot.bytes[static_cast<size_t>(spill_size)] == SlotByte::spill)
      ++spill_size;
    if (size == 8 && spill_size == 8) {
      if (result) {
        *result = slot.spilled;
      } else if (slot.spilled.is_pointer() && !privileged()) {
        return reject("leaking pointer from stack off {}", min_off);
      }
      return true;
    }
    if (slot.spilled.type != RegType::scalar) return reject("invalid size of register fill");
    if (!result) return true;
    if (size <= spill_size && min_off % 8 == 0) {
      // The low bytes of a spilled scalar: its state, cut to the size by the load
      // (coerce_reg_to_size); a value wider than the fill is no longer the same value.
      *result = slot.spilled;
      if (reg_width(slot.spilled) > 8 * size) result->id = 0;
      return true;
    }
    int spill_cnt = 0, zero_cnt = 0;
    for (int i = 0; i < size; ++i) {
      const SlotByte kind = slot.bytes[byte_in_slot(min_off + i)];
      if (kind == SlotByte::spill) {
        ++spill_cnt;
      } else if (kind == SlotByte::zero) {
        ++zero_cnt;
      } else if (kind == SlotByte::invalid && !uninit_ok) {
        return reject("invalid read from stack off {}+{} size {}", min_off, i, size);
      }
    }
    if ((spill_cnt == size && is_const_zero(slot.spilled)) || zero_cnt == size) {
      *result = scalar_const(0);
    } else {
      *result = scalar_unknown();
    }
    return true;
  }
  for (int i = 0; i < size; ++i) {
    const int64_t b = min_off + i;
    const SlotByte kind = slot_of(b).bytes[byte_in_slot(b)];
    if ((kind == SlotByte::invalid && !uninit_ok) || kind == SlotByte::iter)
      return reject("invalid read from stack off {}+{} size {}", min_off, i, size);
  }
  if (result) *result = stack_data(min_off, min_off + size);
  return true;
}

bool Env::check_mem_access(VerifierState& st, int regno, int32_t off, int size, Access access,
                           const RegState* value, int value_regno, RegState* result) {
  const RegState ptr = st.regs()[regno];
  const bool write = access == Access::write;
  const bool leaks = write && value && value->is_pointer() && !privileged();
  if (auto misaligned = misaligned_access(ptr, off, size, options().strict_alignment))
    return reject("{}", *misaligned);

  // Bounds of the variable part, shared by map values, keys, packets and memory.
  auto region_ok = [&](int64_t limit, const char* what) -> bool {
    if (ptr.smin < 0 && !ptr.is_const())
      return reject(
          "R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
          regno);
    const int64_t lo = static_cast<int64_t>(ptr.off) + off + ptr.smin;
    if (lo < 0 || lo + size > limit) {
      (void)what;
      return false;
    }
    if (ptr.umax >= (1ull << 29))
      return reject("R{} unbounded memory access, make sure to bounds check any such access",
                    regno);
    const int64_t hi = static_cast<int64_t>(ptr.off) + off + static_cast<int64_t>(ptr.umax);
    return hi + size <= limit;
  };
  auto access_off = [&](bool hi) {
    return ptr.off + off + static_cast<int32_t>(hi ? ptr.umax : ptr.smin);
  };

  switch (ptr.type) {
    case RegType::ptr_to_stack:
      if (!ptr.maybe_null) {
        if (write) return check_stack_write(st, ptr, regno, off, size, value, value_regno);
        return check_stack_read(st, ptr, regno, off, size, result);
      }
      break;
    case RegType::ptr_to_map_value:
    case RegType::ptr_to_map_key: {
      if (ptr.maybe_null) break;
      const MapInfo& map = program().maps[ptr.map_index];
      const bool key = ptr.type == RegType::ptr_to_map_key;
      const int64_t limit = key ? map.key_size : map.value_size;
      if (write && !key && (map.map_flags & BPF_F_RDONLY_PROG))
        return reject("write into map forbidden, value_size={} off={} size={}", map.value_size,
                      ptr.off + off, size);
      if (!write && !key && (map.map_flags & BPF_F_WRONLY_PROG))
        return reject("read from map forbidden, value_size={} off={} size={}", map.value_size,
                      ptr.off + off, size);
      if (leaks) return reject("R{} leaks addr into map", value_regno);
      if (!region_ok(limit, "map")) {
        if (error_) return false;
        const bool low_bad = static_cast<int64_t>(ptr.off) + off + ptr.smin < 0 ||
                             static_cast<int64_t>(ptr.off) + off + ptr.smin + size > limit;
        const int32_t shown = low_bad ? access_off(false) : access_off(true);
        if (key)
          return reject("invalid access to map key, key_size={} off={} size={}", map.key_size,
                        shown, size);
        return reject("invalid access to map value, value_size={} off={} size={}", map.value_size,
                      shown, size);
      }
      // Special fields are reached only through their helpers (Linux's check_map_access).
      if (!key) {
        const int64_t lo = static_cast<int64_t>(ptr.off) + off + ptr.smin;
        const int64_t hi = static_cast<int64_t>(ptr.off) + off + static_cast<int64_t>(ptr.umax);
        auto overlaps = [&](int32_t field_off, int field_size) {
          return field_off >= 0 && lo < field_off + field_size && field_off < hi + size;
        };
        if (overlaps(map.spin_lock_off, 4))
          return reject("bpf_spin_lock cannot be accessed directly by load/store");
        if (overlaps(map.timer_off, 16))
          return reject("bpf_timer cannot be accessed directly by load/store");
      }
      if (result) *result = loaded_scalar(size, false);
      // A frozen read-only map (.rodata: `const volatile` knobs) reads as the constant it holds
      // (Linux's bpf_map_direct_read), so code its values switch off is dead.
      if (result && !key && !write && map.frozen && (map.map_flags & BPF_F_RDONLY_PROG) &&
          ptr.is_const()) {
        const int64_t at = static_cast<int64_t>(ptr.off) + off + ptr.smin;
        if (at >= 0 && at + size <= static_cast<int64_t>(map.frozen_contents.size())) {
          uint64_t v = 0;
          for (int i = size - 1; i >= 0; --i) v = v << 8 | map.frozen_contents[at + i];
          *result = scalar_const(v);
        }
      }
      return true;
    }
    case RegType::ptr_to_ctx: {
      if (leaks) return reject("R{} leaks addr into ctx", value_regno);
      const isa::Insn& insn = decoded().insns[cur_insn()];
      const bool sign_extend = insn.kind == isa::Kind::load && BPF_MODE(insn.opcode) == BPF_MEMSX;
      if (!check_ctx_access(st, ptr, regno, off, size, access, sign_extend, result)) return false;
      if (result && result->type == RegType::scalar) *result = loaded_scalar(size, false);
      return true;
    }
    case RegType::ptr_to_packet:
    case RegType::ptr_to_packet_meta: {
      if (write && !may_access_packet(program().prog_type, access))
        return reject("cannot write into packet");
      if (leaks) return reject("R{} leaks addr into packet", value_regno);
      if (!check_packet_access(ptr, regno, off, size, access)) return false;
      if (result) *result = loaded_scalar(size, false);
      return true;
    }
    case RegType::ptr_to_sock_common:
    case RegType::ptr_to_socket:
    case RegType::ptr_to_tcp_sock:
    case RegType::ptr_to_xdp_sock: {
      if (ptr.maybe_null) break;
      if (!check_sock_access(ptr, regno, off, size, access)) return false;
      if (result) *result = loaded_scalar(size, false);
      return true;
    }
    case RegType::ptr_to_mem: {
      if (ptr.maybe_null) break;
      if (write && ptr.rdonly) return reject("R{} cannot write into {}", regno, reg_type_name(ptr));
      if (leaks) return reject("R{} leaks addr into mem", value_regno);
      if (!region_ok(ptr.mem_size, "mem")) {
        if (error_) return false;
        return reject("invalid access to memory, mem_size={} off={} size={}", ptr.mem_size,
                      access_off(false), size);
      }
      if (result) *result = loaded_scalar(size, false);
      return true;
    }
    default: break;
  }
  return reject("R{} invalid mem access '{}'", regno, reg_type_name(ptr));
}

bool Env::check_load(VerifierState& st, const isa::Insn& insn) {
  if (!check_reg_read(st, insn.src)) return false;
  RegState result = scalar_unknown();
  if (!check_mem_access(st, insn.src, insn.off, insn.width, Access::read, nullptr, -1, &result))
    return false;
  if (BPF_MODE(insn.opcode) == BPF_MEMSX && result.type == RegType::scalar) {
    if (result.is_const()) {
      const int shift = 64 - insn.width * 8;
      result = scalar_const(
          static_cast<uint64_t>(static_cast<int64_t>(result.const_value() << shift) >> shift));
    } else {
      result = loaded_scalar(insn.width, true);
    }
  } else if (result.type == RegType::scalar && insn.width < 8) {
    // A narrow load zero-extends the low bytes (of a spilled scalar, say).
    coerce_reg_to_size(result, insn.width);
  }
  st.regs()[insn.dst] = result;
  return true;
}

bool Env::check_store(VerifierState& st, const isa::Insn& insn) {
  if (!check_reg_read(st, insn.dst)) return false;
  if (insn.kind == isa::Kind::store_imm) {
    const RegState value = scalar_const(static_cast<uint64_t>(static_cast<int64_t>(insn.imm)) &
                                        (insn.width == 8 ? ~0ull : (1ull << (insn.width * 8)) - 1));
    return check_mem_access(st, insn.dst, insn.off, insn.width, Access::write, &value, -1, nullptr);
  }
  if (!check_reg_read(st, insn.src)) return false;
  const RegState value = st.regs()[insn.src];
  return check_mem_access(st, insn.dst, insn.off, insn.width, Access::write, &value, insn.src,
                          nullptr);
}

bool Env::check_atomic(VerifierState& st, const isa::Insn& insn) {
  if (!check_reg_read(st, insn.src) || !check_reg_read(st, insn.dst)) return false;
  if (insn.imm == BPF_CMPXCHG && !check_reg_read(st, 0)) return false;
  const RegState value = st.regs()[insn.src];
  if (value.is_pointer() && !privileged()) return reject("R{} leaks addr into mem", insn.src);
  const RegState& ptr = st.regs()[insn.dst];
  if (ptr.type == RegType::ptr_to_ctx || ptr.is_packet())
    return reject("BPF_ATOMIC stores into R{} {} is not allowed", insn.dst, reg_type_name(ptr));
  if (auto misaligned = misaligned_access(ptr, insn.off, insn.width, true))  // atomics: always
    return reject("{}", *misaligned);
  RegState loaded = scalar_unknown();
  if (!check_mem_access(st, insn.dst, insn.off, insn.width, Access::read, nullptr, -1, &loaded))
    return false;
  const RegState written = scalar_unknown();
  if (!check_mem_access(st, insn.dst, insn.off, insn.width, Access::write, &written, -1, nullptr))
    return false;
  if (insn.imm == BPF_CMPXCHG) {
    st.regs()[0] = loaded_scalar(insn.width, false);
  } else if (insn.imm & BPF_FETCH) {
    st.regs()[insn.src] = loaded_scalar(insn.width, false);
  }
  return true;
}

bool Env::check_helper_mem(VerifierState& st, int regno, int64_t size, Access access,
                           bool uninit_ok, bool zero_ok) {
  const RegState ptr = st.regs()[regno];
  if (ptr.type == RegType::ptr_to_stack)  // helper_stack.cpp
    return check_helper_stack(st, regno, size, access, access == Access::write && uninit_ok,
                              zero_ok);
  if (size == 0 && zero_ok) return true;
  // Other memory: the same checks as a load of `size` bytes, byte granular.
  if (size <= 0) return reject("R{} invalid zero-sized read", regno);
  const RegState probe = scalar_unknown();
  const int chunk = static_cast<int>(std::min<int64_t>(size, 1));
  (void)chunk;
  // Check the first and last byte: the region checks are range checks.
  if (!check_mem_access(st, regno, 0, 1, access, access == Access::write ? &probe : nullptr, -1,
                        nullptr))
    return false;
  return check_mem_access(st, regno, static_cast<int32_t>(size - 1), 1, access,
                          access == Access::write ? &probe : nullptr, -1, nullptr);
}

bool Env::check_lddw(VerifierState& st, const isa::Insn& insn) {
  RegState& dst = st.regs()[insn.dst];
  switch (insn.src) {
    case 0: dst = scalar_const(static_cast<uint64_t>(insn.imm64)); return true;
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_IDX:
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX_VALUE: {
      const auto index = static_cast<uint32_t>(insn.imm);
      if (index >= program().maps.size())
        return reject("fd {} is not pointing to valid bpf_map", insn.imm);
      const bool value = insn.src == BPF_PSEUDO_MAP_VALUE || insn.src == BPF_PSEUDO_MAP_IDX_VALUE;
      dst = pointer_to(value ? RegType::ptr_to_map_value : RegType::const_ptr_to_map);
      dst.map_index = index;
      if (value) dst.off = insn.next_imm;
      return true;
    }
    case BPF_PSEUDO_FUNC:
      dst = pointer_to(RegType::ptr_to_func);
      dst.func_insn = static_cast<uint32_t>(insn.target);
      return true;
    default: return reject("invalid bpf_ld_imm64 insn");
  }
}

}  // namespace userbpf::verifier
