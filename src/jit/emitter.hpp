// The code generator behind jit::compile: one Emitter per compilation, emitting into xbyak's
// growable buffer (plain heap memory, never executed; code_memory.hpp maps the result).
//
// Register assignment (Linux's x86-64 JIT's, so helper arguments r1..r5 are already where the C
// calling convention wants them and r6..r9 survive helper calls):
//   r0 rax, r1 rdi, r2 rsi, r3 rdx, r4 rcx, r5 r8, r6 rbx, r7 r13, r8 r14, r9 r15, r10 rbp;
//   r12 = vm::NativeState* for the whole run; r9, r10, r11 are scratch (r9 carries the
//   CallContext& as the helper's sixth argument).
// Frames: every eBPF function pushes rbp, rbx, r13, r14, r15 (the caller's r6..r10) and reserves
// 528 bytes: 512 of eBPF stack [rsp, rsp+512) with r10 = rsp+512, then the may_goto counter at
// [r10] and 8 bytes of padding: vm::kNativeFrameBytes in all, 16-byte aligned for helper calls.
#pragma once

#define XBYAK_NO_OP_NAMES
#include <xbyak/xbyak.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "jit/jit.hpp"
#include "vm/loaded_program.hpp"
#include "vm/threaded_code.hpp"

namespace userbpf::jit::detail {

using vm::detail::Op;
using vm::detail::TranslatedSlot;

// Heap memory for the buffer being emitted; xbyak must not change its protection.
struct HeapAllocator : Xbyak::Allocator {
  bool useProtect() const override { return false; }
};

class Emitter : public Xbyak::CodeGenerator {
 public:
  Emitter(const vm::detail::LoadedProgram& program, const CompileOptions& options,
          HeapAllocator* allocator);

  // Emits the trampoline and the whole program. Offsets are valid after this returns.
  void emit_all();

  size_t trampoline_offset = 0;
  std::vector<size_t> function_offsets;  // by instruction index; SIZE_MAX when not an entry
  std::vector<uint32_t> insn_offsets;    // by instruction index

 private:
  // Program layout
  void emit_trampoline();
  void emit_prologue();
  void emit_epilogue();
  void emit_insn(size_t index);
  void emit_cold_stubs();

  // Lowering (emit_alu.cpp)
  void emit_alu(const TranslatedSlot& s);
  void emit_div(const TranslatedSlot& s, bool is64, bool reg, bool is_signed, bool modulo);
  void emit_shift(const TranslatedSlot& s, bool is64, bool reg, int kind);
  void emit_other_alu(const TranslatedSlot& s);

  // Control flow (emitter.cpp)
  bool emit_jump(const TranslatedSlot& s, size_t index);
  void emit_helper_call(const TranslatedSlot& s, size_t index);
  void emit_local_call(const TranslatedSlot& s, size_t index);
  void emit_fault(uint32_t reason, size_t index);

  // Inlined helpers (emit_inline_helpers.cpp): true when the call was emitted inline (with the
  // helper call as its slow path).
  bool emit_inline_helper(const TranslatedSlot& s, size_t index);
  const InlineArrayMap* array_map_at(size_t index);
  void emit_helper_fallback(const TranslatedSlot& s, size_t index);
  void emit_array_element(const InlineArrayMap& map);
  void emit_inline_array_lookup(const TranslatedSlot& s, size_t index, const InlineArrayMap& map);
  void emit_inline_array_update(const TranslatedSlot& s, size_t index, const InlineArrayMap& map);
  size_t known_callback(size_t index) const;
  void emit_inline_loop(const TranslatedSlot& s, size_t index, size_t callback);
  std::vector<const InlineArrayMap*> array_map_by_insn_;  // by instruction, built on first use
  bool emitting_helper_fallback_ = false;

  // Memory (emit_memory.cpp)
  bool emit_memory(const TranslatedSlot& s, size_t index);
  void emit_fetch_logic(const TranslatedSlot& s, bool is64, int logic);
  void emit_packet_load(const TranslatedSlot& s, bool indirect, unsigned size);

  const Xbyak::Reg64& reg(uint8_t bpf_reg) const { return regs_[bpf_reg]; }
  Xbyak::Address mem(unsigned bytes, uint8_t base, int16_t off) const;

  const vm::detail::LoadedProgram& program_;
  const CompileOptions options_;
  const bool bmi2_;
  bool has_may_goto_ = false;
  Xbyak::Reg64 regs_[11];
  std::vector<Xbyak::Label> body_;      // per instruction: its first machine instruction
  std::vector<Xbyak::Label> function_;  // per function entry: the prologue
  std::vector<bool> is_target_;
  std::vector<bool> is_function_;
  Xbyak::Label abort_;  // leave the program: back to the innermost trampoline
  Xbyak::Label trampoline_exit_;
  Xbyak::Label return_zero_;  // r0 = 0 and return from the current function
  struct CallStub {
    Xbyak::Label label;
    size_t index;
  };
  std::deque<CallStub> depth_stubs_;  // call-depth faults, emitted after the program
};

}  // namespace userbpf::jit::detail
