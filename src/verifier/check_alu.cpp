// ALU instructions: scalar arithmetic with bounds (Linux's adjust_scalar_min_max_vals), pointer
// arithmetic with Linux's rules (adjust_ptr_min_max_vals), moves, sign extension and byte swaps.
#include <array>

#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

// Linux's bpf_alu_string, indexed by BPF_OP >> 4.
constexpr std::array<const char*, 16> kAluString = {"+=",   "-=",     "*=",  "/=", "|=", "&=",
                                                    "<<=",  ">>=",    "neg", "%=", "^=", "=",
                                                    "s>>=", "endian", "?",   "?"};

const char* alu_string(uint8_t op) {
  return kAluString[op >> 4];
}

// One width's view of a scalar: bounds stored in 64-bit variables, tnum restricted to the width.
struct Range {
  int64_t smin, smax;
  uint64_t umin, umax;
  Tnum t;
};

Range view(const RegState& r, bool alu64) {
  if (alu64) return {r.smin, r.smax, r.umin, r.umax, r.var_off};
  return {r.s32_min, r.s32_max, r.u32_min, r.u32_max, r.var_off.subreg()};
}

Range unbounded(int width, Tnum t) {
  if (width == 64)
    return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0, ~0ull, t};
  return {INT32_MIN, INT32_MAX, 0, 0xffffffffull, t.subreg()};
}

bool fits_signed(__int128 v, int width) {
  if (width == 64)
    return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
  return v >= INT32_MIN && v <= INT32_MAX;
}

bool fits_unsigned(__int128 v, int width) {
  const __int128 max =
      width == 64 ? static_cast<__int128>(~0ull) : static_cast<__int128>(0xffffffffull);
  return v >= 0 && v <= max;
}

// The result bounds of `a op b` in `width` bits. Where an operation may wrap, the bounds of that
// signedness become unbounded; sync_bounds later recovers what the tnum and the other ranges say.
Range scalar_op(const Range& a, const Range& b, uint8_t op, int width, Tnum t) {
  Range r = unbounded(width, t);
  switch (op) {
    case BPF_ADD: {
      const __int128 s1 = static_cast<__int128>(a.smin) + b.smin;
      const __int128 s2 = static_cast<__int128>(a.smax) + b.smax;
      if (fits_signed(s1, width) && fits_signed(s2, width)) {
        r.smin = static_cast<int64_t>(s1);
        r.smax = static_cast<int64_t>(s2);
      }
      const __int128 u1 = static_cast<__int128>(a.umin) + b.umin;
      const __int128 u2 = static_cast<__int128>(a.umax) + b.umax;
      if (fits_unsigned(u1, width) && fits_unsigned(u2, width)) {
        r.umin = static_cast<uint64_t>(u1);
        r.umax = static_cast<uint64_t>(u2);
      }
      break;
    }
    case BPF_SUB: {
      const __int128 s1 = static_cast<__int128>(a.smin) - b.smax;
      const __int128 s2 = static_cast<__int128>(a.smax) - b.smin;
      if (fits_signed(s1, width) && fits_signed(s2, width)) {
        r.smin = static_cast<int64_t>(s1);
        r.smax = static_cast<int64_t>(s2);
      }
      if (a.umin >= b.umax) {
        r.umin = a.umin - b.umax;
        r.umax = a.umax - b.umin;
      }
      break;
    }
    case BPF_MUL: {
      // Unsigned 128-bit: the product of two u64 may reach 2^128 - 2^65 + 1, beyond __int128.
      const unsigned __int128 u2 = static_cast<unsigned __int128>(a.umax) * b.umax;
      if (u2 <= (width == 64 ? ~0ull : 0xffffffffull)) {
        r.umin = a.umin * b.umin;
        r.umax = static_cast<uint64_t>(u2);
      }
      break;
    }
    case BPF_AND:
      r.umin = t.value;
      r.umax = std::min(a.umax, b.umax);
      break;
    case BPF_OR:
      r.umin = std::max(a.umin, b.umin);
      r.umax = t.value | t.mask;
      break;
    case BPF_XOR:
      r.umin = t.value;
      r.umax = t.value | t.mask;
      break;
    case BPF_LSH:
      if (b.t.is_const()) {
        const uint64_t s = b.t.value;
        const __int128 u2 = static_cast<__int128>(a.umax) << s;
        if (fits_unsigned(u2, width)) {
          r.umin = a.umin << s;
          r.umax = static_cast<uint64_t>(u2);
        }
      }
      break;
    case BPF_RSH:
      if (b.t.is_const()) {
        r.umin = a.umin >> b.t.value;
        r.umax = a.umax >> b.t.value;
      }
      break;
    case BPF_ARSH:
      if (b.t.is_const()) {
        r.smin = a.smin >> b.t.value;
        r.smax = a.smax >> b.t.value;
      }
      break;
    default: break;
  }
  return r;
}

Tnum tnum_op(Tnum a, Tnum b, uint8_t op, int width, bool& known_op) {
  known_op = true;
  switch (op) {
    case BPF_ADD: return tnum_add(a, b);
    case BPF_SUB: return tnum_sub(a, b);
    case BPF_MUL: return tnum_mul(a, b);
    case BPF_AND: return tnum_and(a, b);
    case BPF_OR: return tnum_or(a, b);
    case BPF_XOR: return tnum_xor(a, b);
    case BPF_LSH:
      if (b.is_const()) return tnum_lshift(a, static_cast<uint8_t>(b.value));
      break;
    case BPF_RSH:
      if (b.is_const()) return tnum_rshift(a, static_cast<uint8_t>(b.value));
      break;
    case BPF_ARSH:
      if (b.is_const()) return tnum_arshift(a, static_cast<uint8_t>(b.value), width);
      break;
    default: break;
  }
  known_op = false;
  return Tnum::unknown();
}

// Linux's alu_state flags: how the kernel masks a pointer's register offset on this instruction.
constexpr uint32_t kAluSanitizeSrc = 1u << 0;
constexpr uint32_t kAluSanitizeDst = 1u << 1;
constexpr uint32_t kAluNegValue = 1u << 2;
constexpr uint32_t kAluNonPointer = 1u << 3;
constexpr uint32_t kAluImmediate = 1u << 4;

// Why unprivileged pointer arithmetic cannot be masked (Linux's REASON_*).
enum class Unsafe : uint8_t { none, bounds, type, paths, limit };

// How far the pointer may move in the masked direction (Linux's retrieve_ptr_limit).
Unsafe ptr_limit(const Program& program, const RegState& ptr, bool mask_to_left, uint32_t& limit) {
  uint32_t max = 0, value = 0;
  switch (ptr.type) {
    case RegType::ptr_to_stack:
      // Offset 0 is out of bounds but a valid start to the left (the frame pointer).
      max = isa::kStackSize + (mask_to_left ? 1 : 0);
      value = static_cast<uint32_t>(-(static_cast<int64_t>(ptr.var_off.value) + ptr.off));
      break;
    case RegType::ptr_to_map_value:
      max = program.maps[ptr.map_index].value_size;
      value = static_cast<uint32_t>((mask_to_left ? ptr.smin : static_cast<int64_t>(ptr.umax)) +
                                    ptr.off);
      break;
    default: return Unsafe::type;
  }
  if (value >= max) return Unsafe::limit;
  limit = value;
  return Unsafe::none;
}

}  // namespace

bool Env::update_alu_sanitation(uint32_t state, uint32_t limit) {
  if (alu_aux_.empty()) alu_aux_.resize(decoded_.size());
  AluSanitation& aux = alu_aux_[cur_insn_];
  if (aux.state != 0 && (aux.state != state || aux.limit != limit)) return false;
  aux = {state, limit};
  return true;
}

bool Env::check_reg_read(const VerifierState& st, int regno) {
  if (st.cur().regs[regno].type == RegType::not_init) return reject("R{} !read_ok", regno);
  return true;
}

bool Env::scalar_alu(RegState& dst, const RegState& src, uint8_t op, bool alu64) {
  const int width = alu64 ? 64 : 32;
  const Range a = view(dst, alu64);
  const Range b = view(src, alu64);
  // Shifts by the width or more are undefined; Linux makes the result unknown.
  const bool shift = op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH;
  if (shift && (!b.t.is_const() || b.t.value >= static_cast<uint64_t>(width))) {
    if (alu64) {
      mark_unknown(dst);
    } else {
      mark_unknown(dst);
      zext_32_to_64(dst);
    }
    return true;
  }
  bool known_op = false;
  Tnum t = tnum_op(a.t, b.t, op, width, known_op);
  if (!alu64) t = t.subreg();
  if (!known_op) {
    // div, mod: constants fold exactly; otherwise the result is unknown.
    if (a.t.is_const() && b.t.is_const() && (op == BPF_DIV || op == BPF_MOD)) {
      // Signed division (off == 1) is handled by the caller folding constants.
      const uint64_t x = a.t.value, y = b.t.value;
      uint64_t v = op == BPF_DIV ? (y ? x / y : 0) : (y ? x % y : x);
      if (!alu64) v &= 0xffffffffull;
      mark_known(dst, v);
      return true;
    }
    mark_unknown(dst);
    if (!alu64) zext_32_to_64(dst);
    return true;
  }
  const Range r = scalar_op(a, b, op, width, t);
  const uint32_t keep_id = 0;
  if (alu64) {
    const int32_t low_smin = dst.s32_min, low_smax = dst.s32_max;
    dst = RegState{};
    dst.type = RegType::scalar;
    dst.var_off = t;
    dst.smin = r.smin;
    dst.smax = r.smax;
    dst.umin = r.umin;
    dst.umax = r.umax;
    if (op == BPF_LSH && b.t.value == 32) {
      // Compilers sign-extend a low half as `x <<= 32; x s>>= 32`: a non-negative s32 bound
      // becomes the signed bound of the shifted value (Linux's __scalar64_min_max_lsh).
      if (low_smax >= 0) dst.smax = std::min(dst.smax, static_cast<int64_t>(low_smax) << 32);
      if (low_smin >= 0) dst.smin = std::max(dst.smin, static_cast<int64_t>(low_smin) << 32);
    }
    mark_bounds32_unbounded(dst);
    sync_bounds(dst);
  } else {
    dst = RegState{};
    dst.type = RegType::scalar;
    dst.var_off = t;
    dst.s32_min = static_cast<int32_t>(r.smin);
    dst.s32_max = static_cast<int32_t>(r.smax);
    dst.u32_min = static_cast<uint32_t>(r.umin);
    dst.u32_max = static_cast<uint32_t>(r.umax);
    dst.umin = 0;
    dst.umax = ~0ull;
    dst.smin = std::numeric_limits<int64_t>::min();
    dst.smax = std::numeric_limits<int64_t>::max();
    zext_32_to_64(dst);
  }
  dst.id = keep_id;
  if (!bounds_consistent(dst)) mark_unknown(dst);  // never claim an impossible value
  return true;
}

bool Env::pointer_alu(VerifierState& st, const isa::Insn& insn, RegState& dst, const RegState& ptr,
                      const RegState& scalar, int ptr_regno) {
  (void)st;
  const uint8_t op = BPF_OP(insn.opcode);
  const int dst_regno = insn.dst;
  const bool alu64 = isa::is_alu64(insn.opcode);
  if (!alu64) {
    if (op == BPF_SUB && privileged()) {
      mark_unknown(dst);
      return true;
    }
    return reject("R{} 32-bit pointer arithmetic prohibited", dst_regno);
  }
  if (ptr.maybe_null)
    return reject("R{} pointer arithmetic on {} prohibited, null-check it first", dst_regno,
                  reg_type_name(ptr));
  const bool known = scalar.is_const();
  switch (ptr.type) {
    case RegType::ptr_to_ctx:
    case RegType::ptr_to_map_value:
    case RegType::ptr_to_map_key:
    case RegType::ptr_to_stack:
    case RegType::ptr_to_packet_meta:
    case RegType::ptr_to_packet:
    case RegType::ptr_to_mem:
    case RegType::ptr_to_btf_id:  // Linux's PTR_TO_BTF_ID: offsets are checked at the access
    case RegType::ptr_to_func: break;
    case RegType::ptr_to_flow_keys:
      if (known) break;
      [[fallthrough]];
    case RegType::const_ptr_to_map:
      if (known && scalar.smin == 0 && op == BPF_ADD) break;
      [[fallthrough]];
    default:
      return reject("R{} pointer arithmetic on {} prohibited", dst_regno, reg_type_name(ptr));
  }
  // Offsets beyond 2^29 could overflow the checks that follow (Linux's BPF_MAX_VAR_OFF).
  constexpr int64_t kMaxVarOff = 1 << 29;
  const std::string type = reg_type_name(ptr.type);
  if (known && (scalar.smin >= kMaxVarOff || scalar.smin <= -kMaxVarOff))
    return reject("math between {} pointer and {} is not allowed", type, scalar.smin);
  if (scalar.smin == std::numeric_limits<int64_t>::min())
    return reject("math between {} pointer and register with unbounded min value is not allowed",
                  type);
  if (scalar.smin >= kMaxVarOff || scalar.smin <= -kMaxVarOff)
    return reject("value {} makes {} pointer be out of bounds", scalar.smin, type);

  // Unprivileged add/sub of a register offset: the kernel masks the offset against the pointer's
  // limit (Spectre v1), which needs one masking per instruction on every path (sanitize_ptr_alu).
  const bool sanitize =
      !privileged() && isa::uses_reg_source(insn.opcode) && (op == BPF_ADD || op == BPF_SUB);
  const bool off_is_dst = ptr_regno != dst_regno;
  const bool off_is_imm = scalar.is_const();
  const bool off_is_neg = scalar.smin < 0;
  bool mask_to_left = false;
  uint32_t first_limit = 0, alu_state = 0;
  auto sanitize_err = [&](Unsafe reason) {
    constexpr const char* kErr = "pointer arithmetic with it prohibited for !root";
    const char* what = op == BPF_ADD ? "add" : "sub";
    switch (reason) {
      case Unsafe::bounds:
        return reject("R{} has unknown scalar with mixed signed bounds, {}",
                      off_is_dst ? dst_regno : insn.src, kErr);
      case Unsafe::type:
        return reject("R{} has pointer with unsupported alu operation, {}",
                      off_is_dst ? insn.src : dst_regno, kErr);
      case Unsafe::paths:
        return reject("R{} tried to {} from different maps, paths or scalars, {}", dst_regno, what,
                      kErr);
      case Unsafe::limit:
        return reject("R{} tried to {} beyond pointer bounds, {}", dst_regno, what, kErr);
      case Unsafe::none: break;
    }
    return true;
  };
  if (sanitize) {
    if (!st.speculative) {
      if (!off_is_imm && (scalar.smin < 0) != (scalar.smax < 0))
        return sanitize_err(Unsafe::bounds);
      mask_to_left = (op == BPF_ADD && off_is_neg) || (op == BPF_SUB && !off_is_neg);
      if (const Unsafe why = ptr_limit(program(), ptr, mask_to_left, first_limit);
          why != Unsafe::none)
        return sanitize_err(why);
      alu_state = (off_is_neg ? kAluNegValue : 0) | (off_is_imm ? kAluImmediate : 0) |
                  (off_is_dst ? kAluSanitizeDst : kAluSanitizeSrc);
      if (!off_is_imm) explore_alu_limits_ = true;
    }
    if (!off_is_imm) {
      // A masked offset may be truncated to 0 under speculation: that path keeps the pointer.
      VerifierState spec = st;
      spec.speculative = true;
      spec.regs()[dst_regno] = ptr;
      if (!push_branch(spec, cur_insn() + 1)) return false;
    }
  }

  RegState result = ptr;
  switch (op) {
    case BPF_ADD:
      if (known && ptr.is_const()) {
        const int64_t off = static_cast<int64_t>(ptr.off) + scalar.smin;
        if (off >= INT32_MIN && off <= INT32_MAX) {
          result.off = static_cast<int32_t>(off);
          break;
        }
      }
      if (known) {
        const int64_t off = static_cast<int64_t>(ptr.off) + scalar.smin;
        if (off >= INT32_MIN && off <= INT32_MAX) {
          result.off = static_cast<int32_t>(off);
          break;
        }
      }
      {
        RegState sum = ptr;
        sum.type = RegType::scalar;
        scalar_alu(sum, scalar, BPF_ADD, true);
        result.var_off = sum.var_off;
        result.smin = sum.smin;
        result.smax = sum.smax;
        result.umin = sum.umin;
        result.umax = sum.umax;
        result.s32_min = sum.s32_min;
        result.s32_max = sum.s32_max;
        result.u32_min = sum.u32_min;
        result.u32_max = sum.u32_max;
        if (ptr.is_packet()) {
          result.id = new_id();
          result.range = 0;
        }
      }
      break;
    case BPF_SUB:
      if (dst_regno != ptr_regno)
        return reject("R{} tried to subtract pointer from scalar", dst_regno);
      if (ptr.type == RegType::ptr_to_stack)
        return reject("R{} subtraction from stack pointer prohibited", dst_regno);
      if (known && scalar.smin != std::numeric_limits<int64_t>::min()) {
        const int64_t off = static_cast<int64_t>(ptr.off) - scalar.smin;
        if (off >= INT32_MIN && off <= INT32_MAX) {
          result.off = static_cast<int32_t>(off);
          break;
        }
      }
      {
        RegState diff = ptr;
        diff.type = RegType::scalar;
        scalar_alu(diff, scalar, BPF_SUB, true);
        result.var_off = diff.var_off;
        result.smin = diff.smin;
        result.smax = diff.smax;
        result.umin = diff.umin;
        result.umax = diff.umax;
        result.s32_min = diff.s32_min;
        result.s32_max = diff.s32_max;
        result.u32_min = diff.u32_min;
        result.u32_max = diff.u32_max;
        if (ptr.is_packet()) {
          result.id = new_id();
          result.range = 0;
        }
      }
      break;
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR:
      return reject("R{} bitwise operator {} on pointer prohibited", dst_regno, alu_string(op));
    default:
      return reject("R{} pointer arithmetic with {} operator prohibited", dst_regno,
                    alu_string(op));
  }
  if (result.smin <= -kMaxVarOff || result.smin >= kMaxVarOff)
    return reject("value {} makes {} pointer be out of bounds", result.smin, type);
  if (!privileged()) {
    if (result.type == RegType::ptr_to_stack) {
      if (!result.is_const())
        return reject("R{} variable stack access prohibited for !root, var_off={} off={}",
                      dst_regno, to_string(result.var_off), result.off);
      const int64_t off = result.off + static_cast<int64_t>(result.var_off.value);
      if (off >= 0 || off < -isa::kStackSize)
        return reject(
            "R{} stack pointer arithmetic goes out of range, prohibited for !root; "
            "off={}",
            dst_regno, off);
    } else if (result.type == RegType::ptr_to_map_value) {
      // The pointer must be valid for a 1-byte access (check_map_access in
      // sanitize_check_bounds).
      const MapInfo& map = program().maps[result.map_index];
      if (result.off + result.smin < 0 || result.umax >= static_cast<uint64_t>(kMaxVarOff) ||
          result.off + static_cast<int64_t>(result.umax) + 1 > static_cast<int64_t>(map.value_size))
        return reject("R{} pointer arithmetic of map value goes out of range, prohibited for !root",
                      dst_regno);
    }
  }
  if (sanitize && !st.speculative) {
    // The masking window is how far the pointer moved; every path must agree on it.
    uint32_t second_limit = 0;
    if (const Unsafe why = ptr_limit(program(), result, mask_to_left, second_limit);
        why != Unsafe::none)
      return sanitize_err(why);
    const int64_t window = static_cast<int64_t>(first_limit) - second_limit;
    if (!update_alu_sanitation(alu_state, static_cast<uint32_t>(window < 0 ? -window : window)))
      return sanitize_err(Unsafe::paths);
  }
  dst = result;
  return true;
}

bool Env::check_alu(VerifierState& st, const isa::Insn& insn) {
  auto& regs = st.regs();
  const uint8_t op = BPF_OP(insn.opcode);
  const bool alu64 = isa::is_alu64(insn.opcode);
  const bool use_src = isa::uses_reg_source(insn.opcode);
  RegState& dst = regs[insn.dst];

  if (insn.kind == isa::Kind::endian || op == BPF_NEG) {
    // Linux 6.12 tracks neither: the result is an unknown scalar (check_alu_op marks the
    // destination DST_OP). A pointer may be the operand only for root.
    if (!check_reg_read(st, insn.dst)) return false;
    if (dst.is_pointer() && !privileged())
      return reject("R{} pointer arithmetic prohibited", insn.dst);
    dst = scalar_unknown();
    return true;
  }

  RegState src;
  if (use_src) {
    if (!check_reg_read(st, insn.src)) return false;
    src = regs[insn.src];
  } else {
    src = scalar_const(alu64 ? static_cast<uint64_t>(static_cast<int64_t>(insn.imm))
                             : static_cast<uint32_t>(insn.imm));
  }

  if (op == BPF_MOV) {
    if (insn.off != 0) {  // movsx: sign extension of the low 8/16/32 bits
      if (src.is_pointer()) {
        if (!privileged()) return reject("R{} sign-extension part of pointer", insn.src);
        mark_unknown(dst);
        return true;
      }
      const int bits = insn.off;
      if (src.is_const()) {
        const int shift = 64 - bits;
        uint64_t v =
            static_cast<uint64_t>(static_cast<int64_t>(src.const_value() << shift) >> shift);
        if (!alu64) v &= 0xffffffffull;
        mark_known(dst, v);
      } else {
        mark_unknown(dst);
        const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
        if (alu64) {
          dst.smin = lo;
          dst.smax = hi;
          sync_bounds(dst);
        } else {
          dst.s32_min = static_cast<int32_t>(lo);
          dst.s32_max = static_cast<int32_t>(hi);
          sync_bounds(dst);
          zext_32_to_64(dst);
        }
      }
      return true;
    }
    if (alu64) {
      // A copy of an unknown scalar shares its id, so that bounds learned on one apply to both
      // (Linux assigns the id at the copy).
      if (use_src && src.type == RegType::scalar && src.id == 0 && !src.is_const()) {
        regs[insn.src].id = new_id();
        src.id = regs[insn.src].id;
      }
      dst = src;
      return true;
    }
    if (src.is_pointer()) {
      if (!privileged()) return reject("R{} partial copy of pointer", insn.src);
      mark_unknown(dst);
      zext_32_to_64(dst);
      return true;
    }
    // A value that fits in 32 bits is copied whole: the copy stays linked to its source.
    uint32_t link_id = 0;
    if (use_src && src.type == RegType::scalar && src.umax <= 0xffffffffull && !src.is_const()) {
      if (regs[insn.src].id == 0) regs[insn.src].id = new_id();
      link_id = regs[insn.src].id;
    }
    dst = src;
    dst.id = link_id;
    mark_bounds_unbounded(dst);
    dst.s32_min = src.s32_min;
    dst.s32_max = src.s32_max;
    dst.u32_min = src.u32_min;
    dst.u32_max = src.u32_max;
    dst.var_off = src.var_off.subreg();
    zext_32_to_64(dst);
    return true;
  }

  if ((op == BPF_DIV || op == BPF_MOD) && !use_src && insn.imm == 0) {
    if (!check_reg_read(st, insn.dst)) return false;
    return reject("div by zero");
  }
  if (!use_src && (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)) {
    const int width = alu64 ? 64 : 32;
    if (insn.imm < 0 || insn.imm >= width) return reject("invalid shift {}", insn.imm);
  }
  if (!check_reg_read(st, insn.dst)) return false;

  if (dst.is_pointer() && src.is_pointer()) {
    if (op == BPF_SUB && privileged() && alu64) {
      mark_unknown(dst);
      return true;
    }
    if (!alu64) return reject("R{} 32-bit pointer arithmetic prohibited", insn.dst);
    return reject("R{} pointer {} pointer prohibited", insn.dst, alu_string(op));
  }
  if (dst.is_pointer()) {
    // The offset added decides what the pointer may reach.
    if (use_src) mark_precise(st, insn.src);
    return pointer_alu(st, insn, dst, dst, src, insn.dst);
  }
  if (src.is_pointer()) {
    mark_precise(st, insn.dst);
    const RegState ptr = src;
    const RegState scalar = dst;
    return pointer_alu(st, insn, dst, ptr, scalar, insn.src);
  }

  // Signed division and modulo (off == 1) fold constants; otherwise unknown.
  if ((op == BPF_DIV || op == BPF_MOD) && insn.off == 1) {
    if (dst.is_const() && src.is_const()) {
      uint64_t v = 0;
      if (alu64) {
        const auto x = static_cast<int64_t>(dst.const_value());
        const auto y = static_cast<int64_t>(src.const_value());
        if (y == 0)
          v = op == BPF_DIV ? 0 : static_cast<uint64_t>(x);
        else if (y == -1)
          v = op == BPF_DIV ? 0 - static_cast<uint64_t>(x) : 0;
        else
          v = static_cast<uint64_t>(op == BPF_DIV ? x / y : x % y);
      } else {
        const auto x = static_cast<int32_t>(dst.const_value());
        const auto y = static_cast<int32_t>(src.const_value());
        if (y == 0)
          v = op == BPF_DIV ? 0 : static_cast<uint32_t>(x);
        else if (y == -1)
          v = op == BPF_DIV ? 0u - static_cast<uint32_t>(x) : 0;
        else
          v = static_cast<uint32_t>(op == BPF_DIV ? x / y : x % y);
      }
      mark_known(dst, v);
    } else {
      mark_unknown(dst);
      if (!alu64) zext_32_to_64(dst);
    }
    return true;
  }
  // Unprivileged: an instruction that adds pointers on one path may not add scalars on another
  // (sanitize_val_alu).
  if (!privileged() && use_src && (op == BPF_ADD || op == BPF_SUB) &&
      !update_alu_sanitation(kAluNonPointer, 0))
    return reject(
        "R{} tried to {} from different maps, paths or scalars, pointer arithmetic with it "
        "prohibited for !root",
        insn.dst, op == BPF_ADD ? "add" : "sub");
  return scalar_alu(dst, src, op, alu64);
}

}  // namespace userbpf::verifier
