// The interpreter's hot loop. One label per Op; every handler ends by jumping straight to the next
// slot's handler (`goto *pc->handler`), so there is no central switch and no per-instruction
// check in the unchecked engine. Semantics follow Linux's interpreter (kernel/bpf/core.c) after
// the verifier's rewrites (division by zero, signed division by -1, LD_ABS/LD_IND).
#include "vm/execute.hpp"

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "vm/packet_read.hpp"

namespace userbpf::vm::detail {
namespace {

template <class T>
inline T load(uint64_t addr) {
  T value;
  std::memcpy(&value, reinterpret_cast<const void*>(addr), sizeof(T));
  return value;
}

template <class T>
inline void store(uint64_t addr, T value) {
  std::memcpy(reinterpret_cast<void*>(addr), &value, sizeof(T));
}

template <class T>
inline T* ptr(uint64_t addr) {
  return reinterpret_cast<T*>(addr);
}

template <class T>
inline auto as_signed(T v) {
  return static_cast<std::make_signed_t<T>>(v);
}

// Division semantics after Linux's verifier fixups: x / 0 = 0, x % 0 = x (the 32-bit forms see the
// 32-bit dividend), signed x / -1 = -x (so INT_MIN / -1 = INT_MIN) and signed x % -1 = 0.
template <class T>
inline T udiv(T a, T b) {
  return b ? static_cast<T>(a / b) : T{0};
}
template <class T>
inline T umod(T a, T b) {
  return b ? static_cast<T>(a % b) : a;
}
template <class T>
inline T sdiv(T a, T b) {
  if (b == 0) return 0;
  if (as_signed(b) == -1) return static_cast<T>(T{0} - a);
  return static_cast<T>(as_signed(a) / as_signed(b));
}
template <class T>
inline T smod(T a, T b) {
  if (b == 0) return a;
  if (as_signed(b) == -1) return 0;
  return static_cast<T>(as_signed(a) % as_signed(b));
}

template <class T>
inline constexpr unsigned kShiftMask = sizeof(T) * 8 - 1;

// The engine. With `handlers_out` set it only publishes its label table.
template <bool Checked>
uint64_t engine(RunState* state, size_t entry, uint32_t entry_depth, const uint64_t* args,
                const void* const** handlers_out) {
  static const void* const kHandlers[] = {
#define USERBPF_VM_LABEL(name) &&op_##name,
      USERBPF_VM_OPS(USERBPF_VM_LABEL)
#undef USERBPF_VM_LABEL
  };
  static_assert(sizeof(kHandlers) / sizeof(kHandlers[0]) == kOpCount);
  if (handlers_out) {
    *handlers_out = kHandlers;
    return 0;
  }

  RunState& s = *state;
  uint64_t R[11];
  R[0] = 0;
  for (int i = 0; i < 5; ++i) R[1 + i] = args[i];
  R[6] = R[7] = R[8] = R[9] = 0;
  uint32_t depth = entry_depth;
  R[10] = s.stack_top() - static_cast<uint64_t>(depth) * isa::kStackSize;
  s.frames[depth].loops_left = kMayGotoLoops;
  const Slot* pc = s.code + entry;
  [[maybe_unused]] uint64_t count = s.executed;
  [[maybe_unused]] const uint64_t limit = s.limit;
  uint64_t packet_offset = 0;
  unsigned packet_size = 0;

// Checked mode counts every instruction it starts against the budget.
#define DISPATCH()                      \
  do {                                  \
    if constexpr (Checked) {            \
      if (++count > limit) [[unlikely]] \
        goto budget_exceeded;           \
    }                                   \
    goto * pc->handler;                 \
  } while (0)
#define NEXT()  \
  do {          \
    ++pc;       \
    DISPATCH(); \
  } while (0)
#define DST R[pc->dst]
#define SRC R[pc->src]
#define IMM64 static_cast<uint64_t>(static_cast<int64_t>(pc->imm))
#define IMM32 static_cast<uint32_t>(pc->imm)
#define CHECK_ACCESS(addr, n, write)                          \
  do {                                                        \
    if constexpr (Checked) {                                  \
      if (!s.access_ok(addr, n, write, depth)) [[unlikely]] { \
        s.fail_access(pc, addr, n, write, depth);             \
        goto failed;                                          \
      }                                                       \
    }                                                         \
  } while (0)
// Atomics must also be naturally aligned (Linux checks them with strict alignment).
#define CHECK_ATOMIC(addr, n, write)       \
  do {                                     \
    CHECK_ACCESS(addr, n, write);          \
    if constexpr (Checked) {               \
      if ((addr) & ((n)-1)) [[unlikely]] { \
        s.fail_misaligned(pc, addr, n);    \
        goto failed;                       \
      }                                    \
    }                                      \
  } while (0)

  DISPATCH();

  // ALU: `a` is the destination, `b` the source operand, both at the operation's width; a 32-bit
  // result is zero-extended into the 64-bit register.
#define ALU4(name, expr)                                                           \
  op_##name##64_reg : {                                                            \
    const uint64_t a = DST, b = SRC;                                               \
    DST = static_cast<uint64_t>(expr);                                             \
    NEXT();                                                                        \
  }                                                                                \
  op_##name##64_imm : {                                                            \
    const uint64_t a = DST, b = IMM64;                                             \
    DST = static_cast<uint64_t>(expr);                                             \
    NEXT();                                                                        \
  }                                                                                \
  op_##name##32_reg : {                                                            \
    const uint32_t a = static_cast<uint32_t>(DST), b = static_cast<uint32_t>(SRC); \
    DST = static_cast<uint32_t>(expr);                                             \
    NEXT();                                                                        \
  }                                                                                \
  op_##name##32_imm : {                                                            \
    const uint32_t a = static_cast<uint32_t>(DST), b = IMM32;                      \
    DST = static_cast<uint32_t>(expr);                                             \
    NEXT();                                                                        \
  }

  ALU4(add, a + b)
  ALU4(sub, a - b)
  ALU4(mul, a * b)
  ALU4(div, udiv(a, b))
  ALU4(sdiv, sdiv(a, b))
  ALU4(bor, a | b)
  ALU4(band, a & b)
  ALU4(lsh, a << (b & kShiftMask<decltype(a)>))
  ALU4(rsh, a >> (b & kShiftMask<decltype(a)>))
  ALU4(mod, umod(a, b))
  ALU4(smod, smod(a, b))
  ALU4(bxor, a ^ b)
  ALU4(mov, (static_cast<void>(a), b))
  ALU4(arsh, as_signed(a) >> (b & kShiftMask<decltype(a)>))
#undef ALU4

op_neg64 : {
  DST = uint64_t{0} - DST;
  NEXT();
}
op_neg32 : {
  DST = static_cast<uint32_t>(0u - static_cast<uint32_t>(DST));
  NEXT();
}
op_movsx64_8 : {
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(SRC)));
  NEXT();
}
op_movsx64_16 : {
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(SRC)));
  NEXT();
}
op_movsx64_32 : {
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(SRC)));
  NEXT();
}
op_movsx32_8 : {
  DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(SRC)));
  NEXT();
}
op_movsx32_16 : {
  DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(SRC)));
  NEXT();
}

  // Byte order (translate() picked swap or truncate for the host).
op_nop : { NEXT(); }
op_trunc16 : {
  DST = static_cast<uint16_t>(DST);
  NEXT();
}
op_trunc32 : {
  DST = static_cast<uint32_t>(DST);
  NEXT();
}
op_swap16 : {
  DST = __builtin_bswap16(static_cast<uint16_t>(DST));
  NEXT();
}
op_swap32 : {
  DST = __builtin_bswap32(static_cast<uint32_t>(DST));
  NEXT();
}
op_swap64 : {
  DST = __builtin_bswap64(DST);
  NEXT();
}

  // Jumps: translate() stored relative targets (imm for ja/gotol, off for conditional jumps).
op_ja : {
  pc += 1 + pc->imm;
  DISPATCH();
}
#define JCC4(name, cond)                                                           \
  op_##name##64_reg : {                                                            \
    const uint64_t a = DST, b = SRC;                                               \
    pc += 1 + ((cond) ? pc->off : 0);                                              \
    DISPATCH();                                                                    \
  }                                                                                \
  op_##name##64_imm : {                                                            \
    const uint64_t a = DST, b = IMM64;                                             \
    pc += 1 + ((cond) ? pc->off : 0);                                              \
    DISPATCH();                                                                    \
  }                                                                                \
  op_##name##32_reg : {                                                            \
    const uint32_t a = static_cast<uint32_t>(DST), b = static_cast<uint32_t>(SRC); \
    pc += 1 + ((cond) ? pc->off : 0);                                              \
    DISPATCH();                                                                    \
  }                                                                                \
  op_##name##32_imm : {                                                            \
    const uint32_t a = static_cast<uint32_t>(DST), b = IMM32;                      \
    pc += 1 + ((cond) ? pc->off : 0);                                              \
    DISPATCH();                                                                    \
  }

  JCC4(jeq, a == b)
  JCC4(jgt, a > b)
  JCC4(jge, a >= b)
  JCC4(jset, (a & b) != 0)
  JCC4(jne, a != b)
  JCC4(jsgt, as_signed(a) > as_signed(b))
  JCC4(jsge, as_signed(a) >= as_signed(b))
  JCC4(jlt, a < b)
  JCC4(jle, a <= b)
  JCC4(jslt, as_signed(a) < as_signed(b))
  JCC4(jsle, as_signed(a) <= as_signed(b))
#undef JCC4

  // may_goto, as Linux rewrites it: each frame starts with BPF_MAX_LOOPS; while the counter is
  // non-zero the instruction decrements it and falls through, at zero it jumps.
op_may_goto : {
  uint64_t& left = s.frames[depth].loops_left;
  if (left == 0) {
    pc += 1 + pc->off;
  } else {
    --left;
    ++pc;
  }
  DISPATCH();
}

op_call_helper : {
  const HelperFn fn = s.program.helpers[static_cast<size_t>(pc->imm)];
  if constexpr (Checked) s.executed = count;
  s.depth = depth;
  s.call_site = pc;
  R[0] = fn(R[1], R[2], R[3], R[4], R[5], s);
  if (s.failed) [[unlikely]]
    goto failed;  // a callback the helper ran faulted
  if (s.tail_target) [[unlikely]]
    goto done;  // bpf_tail_call: Interpreter::run continues in the target program
  if constexpr (Checked) count = s.executed;
  NEXT();
}

  // bpf-to-bpf call: r1..r5 pass through, the callee gets a fresh 512-byte frame below the
  // caller's, the caller's r6..r9 come back on exit.
op_call_local : {
  if (depth + 1 >= static_cast<uint32_t>(isa::kMaxCallDepth)) [[unlikely]] {
    s.fail(Errc::fault, pc,
           fmt::format("call exceeds the limit of {} call frames", isa::kMaxCallDepth));
    goto failed;
  }
  Frame& caller = s.frames[depth];
  caller.saved[0] = R[6];
  caller.saved[1] = R[7];
  caller.saved[2] = R[8];
  caller.saved[3] = R[9];
  caller.ret = pc + 1;
  ++depth;
  s.frames[depth].loops_left = kMayGotoLoops;
  R[10] -= isa::kStackSize;
  pc += 1 + pc->imm;
  DISPATCH();
}
op_exit : {
  if (depth == entry_depth) goto done;
  --depth;
  const Frame& caller = s.frames[depth];
  R[6] = caller.saved[0];
  R[7] = caller.saved[1];
  R[8] = caller.saved[2];
  R[9] = caller.saved[3];
  R[10] += isa::kStackSize;
  pc = caller.ret;
  DISPATCH();
}

#define LOAD(name, T, extend)             \
  op_##name : {                           \
    const uint64_t addr = SRC + pc->off;  \
    CHECK_ACCESS(addr, sizeof(T), false); \
    DST = extend(load<T>(addr));          \
    NEXT();                               \
  }
#define ZX(v) static_cast<uint64_t>(v)
#define SX(v) static_cast<uint64_t>(static_cast<int64_t>(as_signed(v)))
  LOAD(ldx8, uint8_t, ZX)
  LOAD(ldx16, uint16_t, ZX)
  LOAD(ldx32, uint32_t, ZX)
  LOAD(ldx64, uint64_t, ZX)
  LOAD(ldxsx8, uint8_t, SX)
  LOAD(ldxsx16, uint16_t, SX)
  LOAD(ldxsx32, uint32_t, SX)
#undef LOAD

#define STORE(name, T, value)              \
  op_##name : {                            \
    const uint64_t addr = DST + pc->off;   \
    CHECK_ACCESS(addr, sizeof(T), true);   \
    store<T>(addr, static_cast<T>(value)); \
    NEXT();                                \
  }
  STORE(st8, uint8_t, pc->imm)
  STORE(st16, uint16_t, pc->imm)
  STORE(st32, uint32_t, pc->imm)
  STORE(st64, uint64_t, IMM64)
  STORE(stx8, uint8_t, SRC)
  STORE(stx16, uint16_t, SRC)
  STORE(stx32, uint32_t, SRC)
  STORE(stx64, uint64_t, SRC)
#undef STORE

  // Atomics. Like Linux, the plain forms are relaxed read-modify-writes and the fetching forms,
  // xchg and cmpxchg are fully ordered. Fetching forms put the old value (zero-extended) in src.
#define ATOMIC(W, T)                                                                 \
  op_atomic_add##W : {                                                               \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    __atomic_fetch_add(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_RELAXED);         \
    NEXT();                                                                          \
  }                                                                                  \
  op_atomic_bor##W : {                                                               \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    __atomic_fetch_or(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_RELAXED);          \
    NEXT();                                                                          \
  }                                                                                  \
  op_atomic_band##W : {                                                              \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    __atomic_fetch_and(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_RELAXED);         \
    NEXT();                                                                          \
  }                                                                                  \
  op_atomic_bxor##W : {                                                              \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    __atomic_fetch_xor(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_RELAXED);         \
    NEXT();                                                                          \
  }                                                                                  \
  op_fetch_add##W : {                                                                \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    SRC = __atomic_fetch_add(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST);   \
    NEXT();                                                                          \
  }                                                                                  \
  op_fetch_bor##W : {                                                                \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    SRC = __atomic_fetch_or(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST);    \
    NEXT();                                                                          \
  }                                                                                  \
  op_fetch_band##W : {                                                               \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    SRC = __atomic_fetch_and(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST);   \
    NEXT();                                                                          \
  }                                                                                  \
  op_fetch_bxor##W : {                                                               \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    SRC = __atomic_fetch_xor(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST);   \
    NEXT();                                                                          \
  }                                                                                  \
  op_xchg##W : {                                                                     \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    SRC = __atomic_exchange_n(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST);  \
    NEXT();                                                                          \
  }                                                                                  \
  op_cmpxchg##W : {                                                                  \
    const uint64_t addr = DST + pc->off;                                             \
    CHECK_ATOMIC(addr, sizeof(T), true);                                             \
    T expected = static_cast<T>(R[0]);                                               \
    __atomic_compare_exchange_n(ptr<T>(addr), &expected, static_cast<T>(SRC), false, \
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                 \
    R[0] = expected; /* the old value, whether or not it matched */                  \
    NEXT();                                                                          \
  }
  ATOMIC(32, uint32_t)
  ATOMIC(64, uint64_t)
#undef ATOMIC

  // Load-acquire: dst = *(src + off); store-release: *(dst + off) = src.
#define ACQ_REL(bits, T)                                                   \
  op_load_acq##bits : {                                                    \
    const uint64_t addr = SRC + pc->off;                                   \
    CHECK_ATOMIC(addr, sizeof(T), false);                                  \
    DST = __atomic_load_n(ptr<T>(addr), __ATOMIC_ACQUIRE);                 \
    NEXT();                                                                \
  }                                                                        \
  op_store_rel##bits : {                                                   \
    const uint64_t addr = DST + pc->off;                                   \
    CHECK_ATOMIC(addr, sizeof(T), true);                                   \
    __atomic_store_n(ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_RELEASE); \
    NEXT();                                                                \
  }
  ACQ_REL(8, uint8_t)
  ACQ_REL(16, uint16_t)
  ACQ_REL(32, uint32_t)
  ACQ_REL(64, uint64_t)
#undef ACQ_REL

op_lddw : {
  DST = pc[1].value;
  pc += 2;
  DISPATCH();
}

  // Legacy packet loads, as Linux's bpf_gen_ld_abs() rewrites them: r2 = offset (imm, or
  // src + imm for LD_IND), r1 = ctx (r6), r0 = the big-endian value; out of bounds, the current
  // function returns 0. r3..r5 are untouched, as in Linux's interpreter.
op_ld_abs8 : {
  packet_offset = IMM64;
  packet_size = 1;
  goto packet_load;
}
op_ld_abs16 : {
  packet_offset = IMM64;
  packet_size = 2;
  goto packet_load;
}
op_ld_abs32 : {
  packet_offset = IMM64;
  packet_size = 4;
  goto packet_load;
}
op_ld_ind8 : {
  packet_offset = SRC + IMM64;
  packet_size = 1;
  goto packet_load;
}
op_ld_ind16 : {
  packet_offset = SRC + IMM64;
  packet_size = 2;
  goto packet_load;
}
op_ld_ind32 : {
  packet_offset = SRC + IMM64;
  packet_size = 4;
  goto packet_load;
}
packet_load : {
  R[2] = packet_offset;
  R[1] = R[6];
  uint64_t value;
  if (!packet_read(s.options.packet, static_cast<int32_t>(packet_offset), packet_size, &value)) {
    R[0] = 0;
    goto op_exit;
  }
  R[0] = value;
  NEXT();
}

op_fell_off : {
  s.fail(Errc::fault, pc - 1, "fell off the end of the program: the last instruction is not exit");
  goto failed;
}
op_lddw_tail : {
  s.fail(Errc::fault, pc, "executed the second slot of an lddw");
  goto failed;
}
op_core_poisoned : {
  // libbpf's poisoning of an unresolvable CO-RE relocation: only reaching it is an error.
  s.fail(Errc::fault, pc,
         "CO-RE relocation failed: the field or type this instruction uses does not exist in the "
         "runtime's BTF");
  goto failed;
}

budget_exceeded:
  __attribute__((unused));
  {
    if constexpr (Checked) {
      s.executed = count - 1;
      s.fail(Errc::budget, pc, fmt::format("instruction budget of {} exceeded", limit));
    }
    return 0;
  }
done:
  if constexpr (Checked) s.executed = count;
  return R[0];
failed:
  if constexpr (Checked) s.executed = count;
  return 0;

#undef DISPATCH
#undef NEXT
#undef DST
#undef SRC
#undef IMM64
#undef IMM32
#undef CHECK_ACCESS
#undef CHECK_ATOMIC
#undef ZX
#undef SX
}

}  // namespace

template <bool Checked>
const void* const* handler_table() {
  const void* const* table = nullptr;
  engine<Checked>(nullptr, 0, 0, nullptr, &table);
  return table;
}

template <bool Checked>
uint64_t execute(RunState& state, size_t entry, uint32_t depth, const uint64_t (&args)[5]) {
  return engine<Checked>(&state, entry, depth, args, nullptr);
}

template const void* const* handler_table<false>();
template const void* const* handler_table<true>();
template uint64_t execute<false>(RunState&, size_t, uint32_t, const uint64_t (&)[5]);
template uint64_t execute<true>(RunState&, size_t, uint32_t, const uint64_t (&)[5]);

}  // namespace userbpf::vm::detail
