#include "jit/emitter.hpp"

#include <xbyak/xbyak_util.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "jit/basic_blocks.hpp"
#include "jit/code_memory.hpp"
#include "vm/execute.hpp"
#include "vm/native_code.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::r10;
using Xbyak::util::r11;
using Xbyak::util::r12;
using Xbyak::util::r13;
using Xbyak::util::r14;
using Xbyak::util::r15;
using Xbyak::util::r8;
using Xbyak::util::r9;
using Xbyak::util::rax;
using Xbyak::util::rbp;
using Xbyak::util::rbx;
using Xbyak::util::rcx;
using Xbyak::util::rdi;
using Xbyak::util::rdx;
using Xbyak::util::rsi;
using Xbyak::util::rsp;

constexpr uint32_t kFrameReserve = 528;  // 512 bytes of eBPF stack, may_goto counter, padding
static_assert(8 + 5 * 8 + kFrameReserve == vm::kNativeFrameBytes);
static_assert(vm::kNativeFrameBytes % 16 == 0);

#define STATE_FIELD(field) (r12 + static_cast<int>(offsetof(vm::NativeState, field)))

bool has_cpu_bmi2() {
  static const bool bmi2 = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tBMI2);
  return bmi2;
}

}  // namespace

Emitter::Emitter(const vm::detail::LoadedProgram& program, const CompileOptions& options,
                 uint8_t* buffer, size_t capacity)
    : Xbyak::CodeGenerator(capacity, buffer),
      program_(program),
      options_(options),
      bmi2_(options.use_bmi2 && has_cpu_bmi2()),
      regs_{rax, rdi, rsi, rdx, rcx, r8, rbx, r13, r14, r15, rbp, r10},
      is_function_(program.insn_count, false),
      loop_head_(program.insn_count, false) {
  setDefaultJmpNEAR(true);
  const size_t n = program.insn_count;
  is_function_[0] = true;
  for (size_t i = 0; i < n; ++i) {
    const TranslatedSlot& s = program.translated[i];
    if (s.op == Op::call_local) {
      const auto callee = static_cast<size_t>(static_cast<int64_t>(i) + 1 + s.imm);
      is_function_[callee] = true;
      several_functions_ |= callee != 0;
    } else if (s.op == Op::may_goto)
      has_may_goto_ = true;
    int64_t back = 0;
    jump_delta(s, back);
    if (back < 0 && static_cast<int64_t>(i) + 1 + back >= 0)
      loop_head_[static_cast<size_t>(static_cast<int64_t>(i) + 1 + back)] = true;
  }
  for (size_t i = 0; i < program.function_entry.size(); ++i)
    if (program.function_entry[i]) {
      is_function_[i] = true;
      several_functions_ |= i != 0;
    }
  if (options.blind_constants) blinding_rng_.seed(std::random_device{}());
  find_frameless_functions();
}

// A function that calls nothing, never touches r6..r9 or its stack (r10) and has no may_goto
// needs no frame: its caller's r6..r10 stay in their registers untouched, and with no calls
// below it the call-depth accounting (every frame kNativeFrameBytes) has nothing to count. Its
// code is the body and `ret`, as a C compiler makes of a small leaf function. That needs every
// function to be closed (no jump leaves it, nothing falls into it), which the verifier
// guarantees; an unverified program that breaks it keeps frames everywhere.
void Emitter::find_frameless_functions() {
  const size_t n = program_.insn_count;
  // One pass, with per-function facts in saved_ and frameless_ at the entry and no array by
  // instruction (fresh memory costs a page fault per 4 KiB, which large programs' compile
  // time was made of). A function is [f, next entry): `reach` is its furthest jump target,
  // which must stay below the next entry.
  frameless_.assign(n, false);
  saved_.assign(n, 0);
  const auto give_up = [&] {
    frameless_.assign(n, false);
    std::fill(saved_.begin(), saved_.end(), kSaveAll);
  };
  size_t f = 0, reach = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || is_function_[i]) {
      if (i > 0 && (falls_through(program_.translated[i - 1].op) || reach >= i)) return give_up();
      f = i;
      reach = i;
      frameless_[f] = true;
    }
    const TranslatedSlot& s = program_.translated[i];
    int64_t delta;
    // may_goto needs a frame (its counter): it is counted below.
    if (s.op != Op::may_goto && jump_delta(s, delta)) {
      const int64_t target = static_cast<int64_t>(i) + 1 + delta;
      if (target < static_cast<int64_t>(f) || target >= static_cast<int64_t>(n)) return give_up();
      reach = std::max(reach, static_cast<size_t>(target));
      continue;  // compares only read their registers
    }
    const bool needs_frame = s.op == Op::call_helper || s.op == Op::call_local ||
                             s.op == Op::may_goto ||
                             (s.op >= Op::ld_abs8 && s.op <= Op::ld_ind32) ||
                             // faults call into C, which wants a frame's stack alignment
                             s.op == Op::core_poisoned || s.op == Op::fell_off ||
                             (s.dst >= 6 && s.dst <= 10) || (s.src >= 6 && s.src <= 10);
    if (needs_frame) frameless_[f] = false;
    // What the frame keeps for the caller: the callee-saved registers the function mentions (a
    // verified function reads r6..r9 only after writing them), r10's when it sets its own (any
    // use of r10, may_goto's counter); LD_ABS's out-of-bounds return takes the shared epilogue
    // (return_zero_), which restores all.
    uint8_t& saved = saved_[f];
    if (s.dst >= 6 && s.dst <= 10) saved |= kSaveBit[s.dst - 6];
    if (s.src >= 6 && s.src <= 10) saved |= kSaveBit[s.src - 6];
    if (s.op == Op::may_goto) saved |= kSaveBit[4];
    if (s.op >= Op::ld_abs8 && s.op <= Op::ld_ind32) saved = kSaveAll;
  }
  // Running off the end is a fault too (the sentinel after the last instruction).
  if (falls_through(program_.translated[n - 1].op)) frameless_[f] = false;
}

Xbyak::Address Emitter::mem(unsigned bytes, uint8_t base, int16_t off) const {
  const Xbyak::RegExp address = reg(base) + static_cast<int>(off);
  switch (bytes) {
    case 1: return byte[address];
    case 2: return word[address];
    case 4: return dword[address];
    default: return qword[address];
  }
}

// Instruction i, and the ones that fuse with it, at the current position (the program's own code
// or an inlined callback's copy): their offsets, then their code. Returns the last instruction
// it covered.
size_t Emitter::emit_at(size_t i) {
  // Loop heads start a 64-byte block: the loop's first fetch then brings in as much of its
  // body as it can, and a small loop fits one cache line (and op-cache line). 16 bytes, as
  // compilers align, left byte_reverse's 37-byte loop 45% slower whenever it straddled a
  // line, which depended on the code in front of it (bench/RESULTS.md, 2026-11-27).
  if (loop_head_[i] && !is_function_[i]) align(64, true);
  insn_offsets[i] = static_cast<uint32_t>(getSize());
  // A test decided false by the same test just before it, whose jump went past it.
  if (!decided_by_.empty() && decided_by_[i] != SIZE_MAX && threaded_[decided_by_[i]]) return i;
  // Set again by this copy's jumps (an inlined callback emits its instructions once more).
  if (!threaded_.empty()) {
    threaded_[i] = false;
    if (i + 1 < threaded_.size()) threaded_[i + 1] = false;  // the second of a fused pair
  }
  // Jumped over by a decided null test (emit_jump): unreachable in this copy of the code.
  if (i < null_known_.unreachable_until && null_known_.covers(i)) {
    if (program_.translated[i].op == Op::lddw) insn_offsets[++i] = static_cast<uint32_t>(getSize());
    return i;
  }
  if (skip_[i]) {  // a dead setup or store: no code at all (what jumps here lands on the next)
    if (program_.translated[i].op == Op::lddw) insn_offsets[++i] = static_cast<uint32_t>(getSize());
    return i;
  }
  if (dead_definition(i)) return i;  // a result nothing reads
  if (!emitted_with_lookup_.empty() && emitted_with_lookup_[i]) return i;
  if (const size_t fused = emit_fused(i)) return i + fused - 1;
  emit_insn(i);
  if (program_.translated[i].op == Op::lddw) {
    ++i;
    insn_offsets[i] = static_cast<uint32_t>(getSize());
  }
  return i;
}

RegisterEffect register_effect(Op op) {
  if (op == Op::lddw_tail || op == Op::nop || is_jump(op) || (Op::st8 <= op && op <= Op::stx64) ||
      (Op::store_rel8 <= op && op <= Op::store_rel64))
    return RegisterEffect::none;
  if (op == Op::call_helper || op == Op::call_local || op == Op::exit ||
      (Op::ld_abs8 <= op && op <= Op::ld_ind32) || (Op::atomic_add32 <= op && op <= Op::cmpxchg64))
    return RegisterEffect::unknown;
  return RegisterEffect::dst;
}

void Emitter::emit_all() {
  const size_t n = program_.insn_count;
  insn_offsets.assign(n, 0);
  insn_fixups_.reserve(n / 4);
  // The analyses emit nothing; the trampoline needs their registers read at entry.
  plan_inlined_calls();
  find_dead_stack_stores();
  find_live_registers();
  find_forwarded_reloads();
  find_threaded_jumps();
  emit_trampoline();
  for (size_t i = 0; i < n; ++i) {
    if (is_function_[i]) {
      // Falling into a function from the code before it stays in the same frame (as in the
      // interpreter, where frames exist only by calls): skip the prologue.
      if (i > 0 && falls_through(program_.translated[i - 1].op))
        insn_fixups_.push_back(
            {static_cast<uint32_t>(jump_placeholder(kAlways)), static_cast<uint32_t>(i)});
      function_offsets_.emplace_back(i, getSize());
      L(function_[i]);
      in_frameless_ = frameless_[i];
      saved_now_ = saved_[i];
      if (!in_frameless_) emit_prologue(saved_now_);
    }
    i = emit_at(i);
  }
  // The interpreter's sentinel: running past the last instruction is a fault.
  emit_fault(static_cast<uint32_t>(vm::NativeFault::fell_off), n - 1);
  emit_cold_stubs();
  patch_forward_jumps();
  ready();
}

size_t Emitter::function_offset(size_t insn) const {
  const auto at = std::lower_bound(function_offsets_.begin(), function_offsets_.end(),
                                   std::pair<size_t, size_t>{insn, 0});
  return at != function_offsets_.end() && at->first == insn ? at->second : SIZE_MAX;
}

void Emitter::put_beyond_populated(const x86::Code& c) {
  if (size_ + sizeof c.bytes > maxSize_) {
    for (uint8_t k = 0; k < c.size; ++k) db(c.bytes[k]);
    return;
  }
  populate_ahead(size_ + sizeof c.bytes);
  std::memcpy(top_ + size_, c.bytes, sizeof c.bytes);
  size_ += c.size;
}

void Emitter::populate_ahead(size_t needed) {
  constexpr size_t kPage = 4096;  // x86-64's base page; the buffer starts on one
  size_t end = std::max(needed, 2 * populated_);
  end = std::min(maxSize_, (end + kPage - 1) / kPage * kPage);
  const size_t from = populated_ / kPage * kPage;
  // Given up on (an old kernel): the whole buffer counts as populated, and pages fault in.
  populated_ = populate_for_writing(top_ + from, end - from) ? end : maxSize_;
}

void Emitter::reg_reg(uint8_t opcode, const Xbyak::Reg& d, const Xbyak::Reg& s) {
  if (general_pair(d, s)) return put(x86::reg_reg(opcode, d.isBit(64), d.getIdx(), s.getIdx()));
  switch (opcode) {
    case 0x01: return CodeGenerator::add(d, s);
    case 0x09: return CodeGenerator::or_(d, s);
    case 0x21: return CodeGenerator::and_(d, s);
    case 0x29: return CodeGenerator::sub(d, s);
    case 0x31: return CodeGenerator::xor_(d, s);
    case 0x39: return CodeGenerator::cmp(d, s);
    case 0x85: return CodeGenerator::test(d, s);
    case 0x89: return CodeGenerator::mov(d, s);
    default: throw Xbyak::Error(Xbyak::ERR_INTERNAL);
  }
}

void Emitter::alu_imm(int ext, const Xbyak::Reg& d, uint32_t imm) {
  if (general_pair(d, d)) return put(x86::alu_imm(ext, d.isBit(64), d.getIdx(), imm));
  switch (ext) {
    case 0: return CodeGenerator::add(d, imm);
    case 1: return CodeGenerator::or_(d, imm);
    case 4: return CodeGenerator::and_(d, imm);
    case 5: return CodeGenerator::sub(d, imm);
    case 6: return CodeGenerator::xor_(d, imm);
    case 7: return CodeGenerator::cmp(d, imm);
    default: throw Xbyak::Error(Xbyak::ERR_INTERNAL);
  }
}

void Emitter::test(const Xbyak::Reg& d, uint32_t imm) {
  if (general_pair(d, d)) return put(x86::test_imm(d.isBit(64), d.getIdx(), imm));
  CodeGenerator::test(d, imm);
}

void Emitter::mov(const Xbyak::Reg& d, uint64_t imm) {
  if (general_pair(d, d)) return put(x86::mov_imm(d.isBit(64), d.getIdx(), imm));
  CodeGenerator::mov(d, imm);
}

// x86 branch encodings: jmp rel8 EB, jmp rel32 E9, jcc rel8 70+cc, jcc rel32 0F 80+cc.
void Emitter::jump_to_offset(uint8_t cc, size_t offset) {
  const int64_t short_disp = static_cast<int64_t>(offset) - static_cast<int64_t>(getSize() + 2);
  if (short_disp >= -128 && short_disp <= 127)
    return put(x86::jump_rel8(cc, static_cast<int8_t>(short_disp)));
  const size_t length = cc == kAlways ? 5 : 6;
  const int64_t disp = static_cast<int64_t>(offset) - static_cast<int64_t>(getSize() + length);
  put(x86::jump_rel32(cc, static_cast<int32_t>(disp)));
}

size_t Emitter::jump_placeholder(uint8_t cc) {
  put(x86::jump_rel32(cc, 0));
  return getSize() - 4;
}

void Emitter::patch_rel32(size_t at, size_t target_offset) {
  const int64_t disp = static_cast<int64_t>(target_offset) - static_cast<int64_t>(at + 4);
  if (disp < INT32_MIN || disp > INT32_MAX) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  rewrite(at, static_cast<uint32_t>(disp), 4);
}

size_t Emitter::short_jump_placeholder(uint8_t cc) {
  db(cc == kAlways ? 0xEB : 0x70 | cc);
  const size_t at = getSize();
  db(0);
  return at;
}

void Emitter::bind_short(size_t at) {
  const size_t disp = getSize() - (at + 1);
  if (disp > 127) throw Xbyak::Error(Xbyak::ERR_LABEL_IS_TOO_FAR);
  rewrite(at, disp, 1);
}

// `index` is the jumping instruction: a target at or before it has its offset already.
void Emitter::jump_to_insn(uint8_t cc, size_t target, size_t index) {
  // A jump to a jump with the same test goes where that one goes (jump_threading.cpp).
  if (index < thread_to_.size() && thread_to_[index] != SIZE_MAX &&
      target == jump_target_of(index)) {
    target = thread_to_[index];
    threaded_[index] = true;
  }
  if (target <= index) {
    jump_to_offset(cc, insn_offsets[target]);
    return;
  }
  const size_t at = jump_placeholder(cc);
  insn_fixups_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(target)});
}

void Emitter::patch_forward_jumps() {
  for (const Fixup& f : insn_fixups_) patch_rel32(f.at, insn_offsets[f.target]);
}

// uint64_t entry(NativeState* state, const uint64_t* args, const void* function, uint64_t reserve)
// Both entries keep the same frame at entry_rsp, which is what leaving the program from any depth
// relies on: [entry_rsp] holds the address of the entry's exit path, [entry_rsp + 8] and
// [entry_rsp + 16] the outer entry's call_limit and entry_rsp (nested entries, for callbacks,
// keep the outer entry's abort target and call limit), so `mov rsp, [entry_rsp]; ret` lands on
// the right exit with the stack as the program's return leaves it.
void Emitter::emit_trampoline() {
  Xbyak::Label single_exit, batch_exit, batch_loop, batch_done;
  trampoline_offset = getSize();
  emit_host_saves();
  emit_entry_frame(single_exit);  // 6 + 3 pushes: the stack is 16-byte aligned at the call
  mov(r11, rdx);
  mov(r10, rsi);
  emit_entry_registers();
  call(r11);
  add(rsp, 8);
  L(single_exit);
  emit_entry_exit(0);

  // The batch entry (vm::NativeBatchEntry): runs the function again while batch_left, counted
  // down after each run that returned, is non-zero and *watch is clear. Its own arguments stay
  // above the frame at entry_rsp: [entry_rsp + 24] args, + 32 function, + 40 watch, and + 48
  // the last returned run's r0, which the batch returns (a run that stops returns no r0).
  batch_trampoline_offset = getSize();
  emit_host_saves();
  push(0);
  push(r8);
  push(rdx);
  push(rsi);
  emit_entry_frame(batch_exit);  // 6 + 4 + 3 pushes: aligned at the call
  // The count lives in rbp between runs, which every function keeps (a callee-saved register
  // that is no entry register); batch_left gets a plain store for a run that stops. A
  // read-modify-write of batch_left itself chained each run to the last one's store.
  mov(ebp, dword[STATE_FIELD(batch_left)]);
  L(batch_loop);
  mov(r10, qword[rsp + 24]);
  emit_entry_registers();
  call(qword[rsp + 32]);
  mov(qword[rsp + 48], rax);
  sub(ebp, 1);
  mov(dword[STATE_FIELD(batch_left)], ebp);  // a move: the flags stay the sub's
  jz(batch_done);
  mov(r11, qword[rsp + 40]);
  cmp(byte[r11], 0);
  jz(batch_loop);
  L(batch_done);
  add(rsp, 8);
  L(batch_exit);
  mov(rax, qword[rsp + 40]);
  emit_entry_exit(32);

  // Leaving the program from any depth (see above).
  L(abort_);
  abort_offset_ = getSize();
  mov(rsp, qword[STATE_FIELD(entry_rsp)]);
  xor_(eax, eax);
  ret();

  // Before the program, so that every jump to it is backward and resolved at once.
  L(return_zero_);
  return_zero_offset_ = getSize();
  xor_(eax, eax);
  emit_epilogue(kSaveAll);
}

// The host's callee-saved registers, and r12 = the NativeState* (rdi).
void Emitter::emit_host_saves() {
  push(rbp);
  push(rbx);
  push(r12);
  push(r13);
  push(r14);
  push(r15);
  mov(r12, rdi);
}

// The frame at entry_rsp (see emit_trampoline): the outer entry's entry_rsp and call_limit, then
// `exit`; call_limit = rsp - reserve (rcx).
void Emitter::emit_entry_frame(Xbyak::Label& exit) {
  push(qword[STATE_FIELD(entry_rsp)]);
  push(qword[STATE_FIELD(call_limit)]);
  lea(rax, ptr[rip + exit]);
  push(rax);
  mov(qword[STATE_FIELD(entry_rsp)], rsp);
  mov(rax, rsp);
  sub(rax, rcx);
  mov(qword[STATE_FIELD(call_limit)], rax);
}

// From an entry's exit (rsp past the exit address): the outer entry's call_limit and entry_rsp
// back, `arguments` bytes the entry kept above its frame dropped, the host's registers back.
void Emitter::emit_entry_exit(int arguments) {
  pop(qword[STATE_FIELD(call_limit)]);
  pop(qword[STATE_FIELD(entry_rsp)]);
  if (arguments != 0) add(rsp, arguments);
  pop(r15);
  pop(r14);
  pop(r13);
  pop(r12);
  pop(rbx);
  pop(rbp);
  ret();
}

// r1..r5 from the five words at r10, r0 and r6..r9 zero, as the interpreter starts a run; only
// those the program may read before writing them (entry_reads): for a small program run once per
// packet or event, the other loads and zeroings are a tenth of its instructions.
void Emitter::emit_entry_registers() {
  const uint16_t live = entry_reads();
  const auto used = [&](unsigned r) { return (live >> r & 1) != 0; };
  const Xbyak::Reg64* const arguments[] = {&rdi, &rsi, &rdx, &rcx, &r8};
  for (unsigned r = 1; r <= 5; ++r)
    if (used(r)) mov(*arguments[r - 1], qword[r10 + 8 * (r - 1)]);
  if (used(0)) xor_(eax, eax);
  const Xbyak::Reg32* const kept[] = {&ebx, &r13d, &r14d, &r15d};
  for (unsigned r = 6; r <= 9; ++r)
    if (used(r)) xor_(*kept[r - 6], *kept[r - 6]);
}

const Xbyak::Reg64& Emitter::saved_register(int k) {
  namespace x = Xbyak::util;
  static const Xbyak::Reg64 registers[5] = {x::rbx, x::r13, x::r14, x::r15, x::rbp};
  return registers[k];
}

// Above the reserve, as the prologue pushes them: rbp first (highest), then rbx, r13, r14, r15.
int Emitter::save_slot(int k) {
  static constexpr int kAboveReserve[5] = {24, 16, 8, 0, 32};
  return static_cast<int>(kFrameReserve) + kAboveReserve[k];
}

// A frame that keeps every callee-saved register pushes them; one that keeps fewer reserves the
// same bytes (the frame size is fixed: call depths follow from stack pointers) and stores only
// those in the pushes' slots, which for small functions (call chains) saves most of the
// prologue and epilogue.
void Emitter::emit_prologue(uint8_t saved) {
  if (saved == kSaveAll) {
    push(rbp);
    push(rbx);
    push(r13);
    push(r14);
    push(r15);
    sub(rsp, kFrameReserve);
  } else {
    sub(rsp, kFrameReserve + 5 * 8);
    for (int k = 0; k < 5; ++k)
      if (saved & kSaveBit[k]) mov(qword[rsp + save_slot(k)], saved_register(k));
  }
  // A frame without r10 of its own leaves rbp (and the may_goto budget at [rbp]) to its caller.
  if (saved & kSaveBit[4]) {
    lea(rbp, ptr[rsp + isa::kStackSize]);
    if (has_may_goto_) mov(qword[rbp], static_cast<uint32_t>(vm::detail::kMayGotoLoops));
  }
}

void Emitter::emit_epilogue(uint8_t saved) {
  if (saved == kSaveAll) {
    add(rsp, kFrameReserve);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(rbx);
    pop(rbp);
  } else {
    for (int k = 0; k < 5; ++k)
      if (saved & kSaveBit[k]) mov(saved_register(k), qword[rsp + save_slot(k)]);
    add(rsp, kFrameReserve + 5 * 8);
  }
  ret();
}

void Emitter::emit_fault(uint32_t reason, size_t index) {
  mov(dword[STATE_FIELD(call_site)], static_cast<uint32_t>(index));
  mov(rdi, r12);
  mov(esi, reason);
  mov(rax, reinterpret_cast<uint64_t>(&vm::native_fault));
  call(rax);
  jump_to_offset(kAlways, abort_offset_);
}

void Emitter::emit_cold_stubs() {
  for (const Fixup& stub : depth_stubs_) {
    patch_rel32(stub.at, getSize());
    emit_fault(static_cast<uint32_t>(vm::NativeFault::call_depth), stub.target);
  }
  // A cold path may add another (the helper fallback behind a refusal): index, not iterator.
  for (size_t k = 0; k < cold_paths_.size(); ++k) {
    L(*cold_paths_[k].first);
    std::function<void()> emit = std::move(cold_paths_[k].second);
    emit();
  }
}

void Emitter::emit_helper_call(const TranslatedSlot& s, size_t index) {
  if (emit_inline_helper(s, index)) return;
  const vm::HelperFn fn = program_.helpers[static_cast<size_t>(s.imm)];
  mov(dword[STATE_FIELD(call_site)], static_cast<uint32_t>(index));
  mov(qword[STATE_FIELD(call_rsp)], rsp);
  mov(r9, qword[STATE_FIELD(context)]);
  mov(rax, reinterpret_cast<uint64_t>(fn));
  call(rax);
  // A tail call, or a fault in a callback the helper ran, leaves the program.
  cmp(byte[STATE_FIELD(stop)], 0);
  jump_to_offset(kNe, abort_offset_);
}

void Emitter::emit_local_call(const TranslatedSlot& s, size_t index) {
  const size_t callee = index + 1 + static_cast<size_t>(static_cast<int64_t>(s.imm));
  // A small function without a frame (no calls, no stack, no r6..r9: frameless_) is emitted in
  // place: the call, the return and their depth check go, and the body's result stays where the
  // caller reads it. The callee keeps the caller's r6..r9 either way. Without the check a ninth
  // frame made of such a leaf would not fault as in the interpreter; the verifier rejects any
  // program that could reach one (Linux's 8 frames), and only verified programs reach the JIT.
  if (options_.inline_calls && frameless_[callee]) {
    Xbyak::Label& returned = kept_label();
    if (emit_inlined_callback(callee, returned, kMaxInlinedCall)) {
      L(returned);
      return;
    }
  }
  cmp(rsp, qword[STATE_FIELD(call_limit)]);
  depth_stubs_.push_back(
      {static_cast<uint32_t>(jump_placeholder(kB)), static_cast<uint32_t>(index)});
  call(function_[callee]);
}

bool Emitter::emit_jump(const TranslatedSlot& s, size_t index) {
  const size_t next = index + 1;
  if (s.op == Op::ja) {
    jump_to_insn(kAlways, next + static_cast<size_t>(static_cast<int64_t>(s.imm)), index);
    return true;
  }
  if (s.op == Op::may_goto) {
    // Linux's rewrite: while the frame's counter is non-zero, decrement and fall through.
    cmp(qword[rbp], 0);
    jump_to_insn(kE, next + static_cast<size_t>(static_cast<int64_t>(s.off)), index);
    sub(qword[rbp], 1);
    return true;
  }
  // A null test of an element an inlined lookup just returned: decided at compile time.
  if ((s.op == Op::jeq64_imm || s.op == Op::jne64_imm) && s.imm == 0) {
    const bool window = s.dst == 0 && null_known_.covers(index);
    if (window || known_non_null(index, s.dst)) {
      const bool non_null = !window || null_known_.non_null;
      const size_t target = next + static_cast<size_t>(static_cast<int64_t>(s.off));
      if ((s.op == Op::jne64_imm) != non_null) return true;  // never taken
      // Taken, to later in the window with nothing else landing in between: what it jumps over
      // is unreachable in this copy and gets no code, so the jump goes to the next code.
      if (window && target > index && null_known_.covers(target) &&
          (target == next || !lands_inside(next, target - 1))) {
        null_known_.unreachable_until = target;
        return true;
      }
      jump_to_insn(kAlways, target, index);
      return true;
    }
  }
  const uint8_t cc = emit_compare(s);
  if (cc == kNotConditional) return false;
  jump_to_insn(cc, next + static_cast<size_t>(static_cast<int64_t>(s.off)), index);
  return true;
}

bool Emitter::known_non_null(size_t index, uint8_t reg) {
  // clang tests a lookup's result right after the call; a bounded scan keeps compile time linear.
  constexpr size_t kScan = 32;
  if (reg != 0 || options_.array_maps.empty()) return false;
  for (size_t i = index; i-- > (index > kScan ? index - kScan : 0);) {
    if (lands_inside(i + 1, i + 1)) return false;
    const TranslatedSlot& t = program_.translated[i];
    if (t.op == Op::call_helper) return lookup_never_null(i);
    const RegisterEffect effect = register_effect(t.op);
    if (effect == RegisterEffect::unknown || (effect == RegisterEffect::dst && t.dst == 0))
      return false;
  }
  return false;
}

uint8_t Emitter::emit_compare(const TranslatedSlot& s) {
  if (s.op < Op::jeq64_reg || s.op > Op::jsle32_imm) return kNotConditional;

  enum Cond { c_jeq, c_jgt, c_jge, c_jset, c_jne, c_jsgt, c_jsge, c_jlt, c_jle, c_jslt, c_jsle };
  Cond cond = c_jeq;
  bool is64 = true, regsrc = true;
#define USERBPF_JIT_JCC(name)                    \
  case Op::name##64_reg: cond = c_##name; break; \
  case Op::name##64_imm:                         \
    cond = c_##name;                             \
    regsrc = false;                              \
    break;                                       \
  case Op::name##32_reg:                         \
    cond = c_##name;                             \
    is64 = false;                                \
    break;                                       \
  case Op::name##32_imm:                         \
    cond = c_##name;                             \
    is64 = false;                                \
    regsrc = false;                              \
    break;
  switch (s.op) {
    USERBPF_JIT_JCC(jeq)
    USERBPF_JIT_JCC(jgt)
    USERBPF_JIT_JCC(jge)
    USERBPF_JIT_JCC(jne)
    USERBPF_JIT_JCC(jsgt)
    USERBPF_JIT_JCC(jsge)
    USERBPF_JIT_JCC(jlt)
    USERBPF_JIT_JCC(jle)
    USERBPF_JIT_JCC(jslt)
    USERBPF_JIT_JCC(jsle)
    USERBPF_JIT_JCC(jset)
    default: return kNotConditional;
  }
#undef USERBPF_JIT_JCC
  const Xbyak::Reg64& d = reg(s.dst);
  const Xbyak::Reg64& r = reg(s.src);
  if (cond == c_jset) {
    if (regsrc) {
      if (is64)
        test(d, r);
      else
        test(d.cvt32(), r.cvt32());
    } else {
      if (is64)
        test(d, static_cast<uint32_t>(s.imm));  // sign-extended by the CPU, as Linux's imm
      else
        test(d.cvt32(), static_cast<uint32_t>(s.imm));
    }
  } else if (regsrc) {
    if (is64)
      cmp(d, r);
    else
      cmp(d.cvt32(), r.cvt32());
  } else if (s.imm == 0 && (cond == c_jeq || cond == c_jne)) {
    if (is64)
      test(d, d);
    else
      test(d.cvt32(), d.cvt32());
  } else {
    if (is64)
      cmp(d, s.imm);
    else
      cmp(d.cvt32(), s.imm);
  }
  static constexpr uint8_t kCondition[] = {
      // c_jeq, c_jgt, c_jge, c_jset, c_jne, c_jsgt, c_jsge, c_jlt, c_jle, c_jslt, c_jsle
      kE, kA, kAe, kNe, kNe, kG, kGe, kB, kBe, kL, kLe};
  return kCondition[cond];
}

void Emitter::emit_insn(size_t index) {
  index_ = index;
  const TranslatedSlot& s = program_.translated[index];
  if (options_.blind_constants && emit_blinded(s, index)) return;
  switch (s.op) {
    case Op::exit:
      if (inline_exit_ != nullptr) {
        if (index + 1 != inline_end_) jmp(*inline_exit_);  // the last one falls through
      } else if (in_frameless_) {
        ret();
      } else {
        emit_epilogue(saved_now_);
      }
      return;
    case Op::call_helper: emit_helper_call(s, index); return;
    case Op::call_local: emit_local_call(s, index); return;
    case Op::lddw: {
      const uint64_t value = program_.translated[index + 1].value;
      mov(reg(s.dst), value);
      return;
    }
    case Op::fell_off:
    case Op::lddw_tail: emit_fault(static_cast<uint32_t>(vm::NativeFault::fell_off), index); return;
    case Op::core_poisoned:
      emit_fault(static_cast<uint32_t>(vm::NativeFault::core_poisoned), index);
      return;
    default: break;
  }
  if (emit_jump(s, index)) return;
  if (emit_memory(s, index)) return;
  emit_alu(s);
}

}  // namespace userbpf::jit::detail
