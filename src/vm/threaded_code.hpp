// The pre-decoded ("threaded") form the interpreter executes: one 16-byte Slot per eBPF slot plus
// a sentinel, each holding the address of the handler that executes it. Handlers are selected once,
// at load, per (opcode, operand form), so the hot loop never looks at opcode bits.
#pragma once

#include <cstdint>

namespace userbpf::vm::detail {

// Every handler the interpreter has, one per (operation, operand width, operand source). The
// execution engine defines a label for each and a table of their addresses in this order.
// Naming: <op><64|32>_<reg|imm>; `bor`, `band`, `bxor` because `or`/`and`/`xor` are C++ tokens.
#define USERBPF_VM_ALU_OPS(X, W, F) \
  X(add##W##_##F)                   \
  X(sub##W##_##F)                   \
  X(mul##W##_##F)                   \
  X(div##W##_##F)                   \
  X(sdiv##W##_##F)                  \
  X(bor##W##_##F)                   \
  X(band##W##_##F)                  \
  X(lsh##W##_##F)                   \
  X(rsh##W##_##F)                   \
  X(mod##W##_##F)                   \
  X(smod##W##_##F)                  \
  X(bxor##W##_##F)                  \
  X(mov##W##_##F)                   \
  X(arsh##W##_##F)

#define USERBPF_VM_JCC_OPS(X, W, F) \
  X(jeq##W##_##F)                   \
  X(jgt##W##_##F)                   \
  X(jge##W##_##F)                   \
  X(jset##W##_##F)                  \
  X(jne##W##_##F)                   \
  X(jsgt##W##_##F)                  \
  X(jsge##W##_##F)                  \
  X(jlt##W##_##F)                   \
  X(jle##W##_##F)                   \
  X(jslt##W##_##F)                  \
  X(jsle##W##_##F)

#define USERBPF_VM_ATOMIC_OPS(X, W) \
  X(atomic_add##W)                  \
  X(atomic_bor##W)                  \
  X(atomic_band##W)                 \
  X(atomic_bxor##W)                 \
  X(fetch_add##W)                   \
  X(fetch_bor##W)                   \
  X(fetch_band##W)                  \
  X(fetch_bxor##W)                  \
  X(xchg##W)                        \
  X(cmpxchg##W)

// clang-format off
#define USERBPF_VM_OPS(X)                                                                  \
  USERBPF_VM_ALU_OPS(X, 64, reg) USERBPF_VM_ALU_OPS(X, 64, imm)                            \
  USERBPF_VM_ALU_OPS(X, 32, reg) USERBPF_VM_ALU_OPS(X, 32, imm)                            \
  X(neg64) X(neg32) X(movsx64_8) X(movsx64_16) X(movsx64_32) X(movsx32_8) X(movsx32_16)    \
  X(nop) X(trunc16) X(trunc32) X(swap16) X(swap32) X(swap64)                               \
  X(ja)                                                                                    \
  USERBPF_VM_JCC_OPS(X, 64, reg) USERBPF_VM_JCC_OPS(X, 64, imm)                            \
  USERBPF_VM_JCC_OPS(X, 32, reg) USERBPF_VM_JCC_OPS(X, 32, imm)                            \
  X(may_goto) X(call_helper) X(call_local) X(exit)                                         \
  X(ldx8) X(ldx16) X(ldx32) X(ldx64) X(ldxsx8) X(ldxsx16) X(ldxsx32)                       \
  X(st8) X(st16) X(st32) X(st64) X(stx8) X(stx16) X(stx32) X(stx64)                        \
  USERBPF_VM_ATOMIC_OPS(X, 32) USERBPF_VM_ATOMIC_OPS(X, 64)                                \
  X(load_acq8) X(load_acq16) X(load_acq32) X(load_acq64)                                   \
  X(store_rel8) X(store_rel16) X(store_rel32) X(store_rel64)                               \
  X(lddw) X(ld_abs8) X(ld_abs16) X(ld_abs32) X(ld_ind8) X(ld_ind16) X(ld_ind32)            \
  X(fell_off) X(lddw_tail) X(core_poisoned)
// clang-format on

enum class Op : uint16_t {
#define USERBPF_VM_ENUM(name) name,
  USERBPF_VM_OPS(USERBPF_VM_ENUM)
#undef USERBPF_VM_ENUM
      count
};

inline constexpr size_t kOpCount = static_cast<size_t>(Op::count);

// One executable slot. The second slot of an lddw is never executed; it carries the 64-bit value
// the lddw loads (plain immediate, resolved pseudo form, or function handle) in `value`.
struct Slot {
  union {
    const void* handler;
    uint64_t value;
  };
  uint8_t dst;
  uint8_t src;
  int16_t off;  // memory offset; for conditional jumps and may_goto: relative target
  int32_t imm;  // immediate; ja/gotol and local calls: relative target; helper calls: table index
};
static_assert(sizeof(Slot) == 16, "slots are kept at 16 bytes for the dispatch loop");

// A slot before it is bound to one engine's handler addresses.
struct TranslatedSlot {
  Op op = Op::fell_off;
  uint8_t dst = 0;
  uint8_t src = 0;
  int16_t off = 0;
  int32_t imm = 0;
  uint64_t value = 0;  // lddw tail only
};

}  // namespace userbpf::vm::detail
