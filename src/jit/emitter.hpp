// The code generator behind jit::compile: one Emitter per compilation, emitting straight into the
// read-write mapping the code will run from (code_memory.hpp's CodeBuffer, sealed read-execute
// afterwards). A buffer too small makes xbyak throw ERR_CODE_IS_TOO_BIG; compile() retries.
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

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "jit/jit.hpp"
#include "jit/x86_encoding.hpp"
#include "vm/loaded_program.hpp"
#include "vm/threaded_code.hpp"

namespace userbpf::jit::detail {

using vm::detail::Op;
using vm::detail::TranslatedSlot;

// What an instruction does to registers, for the backward scans over straight-line code that ask
// what last set one (Emitter::known_below, last_definition, stored_register).
enum class RegisterEffect {
  none,  // writes no register: nop, lddw's second slot, jumps, stores (a store's dst is its base)
  dst,   // writes its dst only
  unknown,  // writes others too or leaves: calls (r0..r5), atomics (r0 or src), LD_ABS, exit
};
RegisterEffect register_effect(Op op);
// ja, may_goto and the conditional jumps.
inline bool is_jump(Op op) {
  return op == Op::ja || op == Op::may_goto || (Op::jeq64_reg <= op && op <= Op::jsle32_imm);
}
inline bool is_conditional_jump(Op op) {
  return Op::jeq64_reg <= op && op <= Op::jsle32_imm;
}
// Where the jump `s` at instruction i goes: i + 1 + delta. False when `s` is not a jump.
inline bool jump_delta(const TranslatedSlot& s, int64_t& delta) {
  if (!is_jump(s.op)) return false;
  delta = s.op == Op::ja ? s.imm : s.off;
  return true;
}

// Does emit_inline_hash_lookup know how to follow `direct`'s lookup description?
bool inline_lookup_usable(const DirectMapCall& direct);

class Emitter : public Xbyak::CodeGenerator {
 public:
  Emitter(const vm::detail::LoadedProgram& program, const CompileOptions& options, uint8_t* buffer,
          size_t capacity);

  // Emits the trampoline and the whole program. Offsets are valid after this returns.
  void emit_all();

  // The hot register forms, encoded by x86_encoding.hpp and appended in one copy; the same bytes
  // xbyak gives. These hide xbyak's overloads of the same names for 32- and 64-bit general
  // registers only: every other operand (bytes, words, memory, labels) goes to xbyak's.
  using Xbyak::CodeGenerator::add;
  using Xbyak::CodeGenerator::and_;
  using Xbyak::CodeGenerator::cmp;
  using Xbyak::CodeGenerator::mov;
  using Xbyak::CodeGenerator::or_;
  using Xbyak::CodeGenerator::sub;
  using Xbyak::CodeGenerator::test;
  using Xbyak::CodeGenerator::xor_;
  void add(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x01, d, s); }
  void or_(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x09, d, s); }
  void and_(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x21, d, s); }
  void sub(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x29, d, s); }
  void xor_(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x31, d, s); }
  void cmp(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x39, d, s); }
  void test(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x85, d, s); }
  void mov(const Xbyak::Reg& d, const Xbyak::Reg& s) { reg_reg(0x89, d, s); }
  void add(const Xbyak::Reg& d, uint32_t imm) { alu_imm(0, d, imm); }
  void or_(const Xbyak::Reg& d, uint32_t imm) { alu_imm(1, d, imm); }
  void and_(const Xbyak::Reg& d, uint32_t imm) { alu_imm(4, d, imm); }
  void sub(const Xbyak::Reg& d, uint32_t imm) { alu_imm(5, d, imm); }
  void xor_(const Xbyak::Reg& d, uint32_t imm) { alu_imm(6, d, imm); }
  void cmp(const Xbyak::Reg& d, uint32_t imm) { alu_imm(7, d, imm); }
  void test(const Xbyak::Reg& d, uint32_t imm);
  void mov(const Xbyak::Reg& d, uint64_t imm);

  size_t trampoline_offset = 0;        // vm::NativeEntry
  size_t batch_trampoline_offset = 0;  // vm::NativeBatchEntry
  // Where function entry `insn` (one emit_all emitted) starts, before its prologue.
  size_t function_offset(size_t insn) const;
  std::vector<uint32_t> insn_offsets;  // by instruction index

 private:
  // Program layout
  void emit_trampoline();
  void emit_host_saves();
  void emit_entry_frame(Xbyak::Label& exit);
  void emit_entry_exit(int arguments);
  void emit_entry_registers();
  void emit_prologue(uint8_t saved);
  void emit_epilogue(uint8_t saved);
  void find_frameless_functions();
  void emit_insn(size_t index);
  size_t emit_at(size_t index);
  void emit_cold_stubs();

  // Lowering (emit_alu.cpp)
  void emit_alu(const TranslatedSlot& s);
  void emit_div(const TranslatedSlot& s, bool is64, bool reg, bool is_signed, bool modulo);
  // Does `reg` hold a value below `limit` when `index` starts (what last wrote it shows)?
  bool known_below(size_t index, uint8_t reg, uint64_t limit, int depth = 4);
  static constexpr int kScanSteps = 48;
  bool below_on_arrival(size_t point, uint8_t reg, uint64_t limit, int depth, int& steps);
  bool below_after(size_t i, uint8_t reg, uint64_t limit, int depth, int& steps);
  static constexpr uint64_t kBelow2To32 = uint64_t{1} << 32;
  void emit_unsigned_divide(bool narrow);  // rax / r11 into rax (quotient), rdx (remainder)
  void emit_shift(const TranslatedSlot& s, bool is64, bool reg, int kind);
  void emit_other_alu(const TranslatedSlot& s);

  // Control flow (emitter.cpp)
  bool emit_jump(const TranslatedSlot& s, size_t index);
  // Emits the comparison of a conditional jump and returns the x86 condition under which it
  // jumps, or kNotConditional (nothing emitted) when `s` is not one.
  uint8_t emit_compare(const TranslatedSlot& s);
  // Jumps resolved by the emitter itself rather than with xbyak labels (hash-map entries, most of
  // the compile time when every jump target had one): a jump to an instruction already emitted
  // takes the short form when in range, a forward one is a rel32 placeholder patched once every
  // instruction's offset is known. `cc` is the x86 condition code (the low nibble of jcc), or
  // kAlways for jmp.
  static constexpr uint8_t kAlways = 0xff;
  static constexpr uint8_t kNotConditional = 0xfe;
  static constexpr uint8_t kB = 0x2, kAe = 0x3, kE = 0x4, kNe = 0x5, kBe = 0x6, kA = 0x7;
  static constexpr uint8_t kL = 0xC, kGe = 0xD, kLe = 0xE, kG = 0xF;
  void jump_to_insn(uint8_t cc, size_t target, size_t index);
  void jump_to_offset(uint8_t cc, size_t offset);  // an offset already emitted
  size_t jump_placeholder(uint8_t cc);             // returns where its rel32 is
  void patch_rel32(size_t at, size_t target_offset);
  size_t short_jump_placeholder(uint8_t cc);  // a forward jump within 127 bytes
  void bind_short(size_t at);                 // ... to here
  void patch_forward_jumps();
  void emit_helper_call(const TranslatedSlot& s, size_t index);
  void emit_local_call(const TranslatedSlot& s, size_t index);
  void emit_fault(uint32_t reason, size_t index);

  // Inlined helpers (emit_inline_helpers.cpp): true when the call was emitted inline (with the
  // helper call as its slow path).
  bool emit_inline_helper(const TranslatedSlot& s, size_t index);
  const InlineArrayMap* array_map_at(size_t index);
  void emit_helper_fallback(const TranslatedSlot& s, size_t index);
  Xbyak::RegExp array_element(const InlineArrayMap& map, const Xbyak::Reg64& key);
  void emit_inline_array_lookup(const TranslatedSlot& s, size_t index, const InlineArrayMap& map);
  // The load through an inlined array lookup's result that takes the element's address itself
  // (0: none), and the loads so emitted with their lookup, which get no code of their own.
  size_t array_result_load(size_t index);
  std::vector<uint8_t> emitted_with_lookup_;
  void emit_inline_array_update(const TranslatedSlot& s, size_t index, const InlineArrayMap& map);
  void emit_map_check(uint64_t handle, bool proven, Xbyak::Label& other);
  // An inlined update's copy of value bytes [at, size) (emit_inline_helpers.cpp).
  void emit_value_copy(const std::function<Xbyak::RegExp(uint32_t)>& source,
                       const std::function<Xbyak::RegExp(uint32_t)>& target, uint32_t at,
                       uint32_t size);
  // A hash map's by-value lookup and in-place update emitted from its description
  // (emit_inline_hash.cpp).
  void emit_inline_hash_lookup(const TranslatedSlot& s, size_t index, const DirectMapCall& direct,
                               uint8_t key_register);
  size_t folded_null_test(size_t index);
  // Where r0 is known to be NULL or not: instructions [first, last] just after an inlined hash
  // lookup, as the copy being emitted runs them (emit_inline_hash_lookup). emit_jump decides
  // their tests of r0 against 0.
  struct NullKnown {
    size_t first = SIZE_MAX;
    size_t last = 0;
    bool non_null = false;
    size_t unreachable_until = 0;  // [.., this) of the window was jumped over (emit_jump)
    bool covers(size_t index) const { return first <= index && index <= last; }
  };
  NullKnown null_known_;
  size_t null_test_window(size_t index);
  void emit_null_path_copy(size_t first, size_t last, bool frameless, uint8_t saved);
  bool inline_update_usable(const DirectMapCall& direct, size_t index);
  uint8_t hash_update_value_register(const DirectMapCall& direct, size_t index);
  bool writer_token_usable(const DirectMapCall& direct);
  void emit_inline_hash_update(const TranslatedSlot& s, size_t index, const DirectMapCall& direct,
                               uint8_t key_register);
  void emit_key_load(const DirectMapCall& direct, uint8_t key_register);
  Xbyak::RegExp emit_hash_bucket(const DirectMapCall& direct);
  void emit_tag_match(const HashLookup& l, const Xbyak::RegExp& bucket);
  void emit_next_candidate(const HashLookup& l, const Xbyak::RegExp& bucket,
                           Xbyak::Label& candidate);
  Xbyak::RegExp emit_candidate_element(const HashLookup& l, const Xbyak::RegExp& bucket,
                                       Xbyak::Label& other, bool hint);
  Xbyak::RegExp emit_indexed_element(const HashLookup& l, Xbyak::Label& other, bool hint);
  // An in-place hash update's setup, for the paths emit_inline_hash_update emits.
  struct HashUpdate {
    size_t index = 0;
    Xbyak::Label* done = nullptr;
    bool value_on_stack = false;
    bool value_in_register = false;
    int32_t value_offset = 0;
    uint64_t flags = 0;
  };
  void emit_hash_update_search(const DirectMapCall& direct, const HashUpdate& u, bool locked);
  void emit_hash_update_copy(const DirectMapCall& direct, const HashUpdate& u,
                             const Xbyak::RegExp& element);
  bool hinted(const DirectMapCall& direct) const;
  // The maps whose key searches leave the element hint (Emitter::hinted).
  std::vector<const void*> hinted_maps_;
  void emit_key_compare(const HashLookup& l, const Xbyak::RegExp& element, bool wide);
  // Rarely taken paths (an inlined helper's refusals and fallbacks), emitted after the program
  // (emit_cold_stubs) so the common path falls through: cold_path() returns the label to jump
  // to, and `emit` ends by jumping back. kept_label(): a label that lives as long as the
  // emitter, which a cold path may jump back to (a destroyed xbyak label loses its address).
  Xbyak::Label& cold_path(std::function<void()> emit);
  Xbyak::Label& kept_label();
  std::deque<Xbyak::Label> kept_labels_;
  std::vector<std::pair<Xbyak::Label*, std::function<void()>>> cold_paths_;
  // Is `reg` at `index` the r0 of an array map lookup that cannot fail (lookup_never_null),
  // nothing writing r0 and nothing landing in between? A null test of it is decided at compile
  // time: emit_jump folds it, the register liveness follows only the path it takes.
  bool known_non_null(size_t index, uint8_t reg);
  // The lookup at `index` is of a proven array map with a key proven below max_entries.
  bool lookup_never_null(size_t index);
  // The key of the inlined array call at `index`: the register it was stored from (kNoRegister
  // when it is only in memory) and whether that register is proven below the map's max_entries.
  struct InlineKey {
    uint8_t stored;
    bool in_range;
  };
  InlineKey inline_key(size_t index, const InlineArrayMap& map);
  bool emit_inline_key(size_t index, const InlineArrayMap& map, Xbyak::Reg64& key);
  static constexpr uint8_t kNoRegister = 0xff;
  uint8_t stored_register(size_t index, int32_t offset, unsigned size);
  uint8_t direct_key_register(const DirectMapCall& direct, uint32_t id, size_t index);
  // Where an inlined array map call reads its key and value (plan_inlined_calls).
  struct InlinePlan {
    bool key_on_stack = false;  // at [r10 + key_offset] rather than through r2
    bool value_on_stack = false;
    int32_t key_offset = 0;
    int32_t value_offset = 0;
  };
  void plan_inlined_calls();
  InlinePlan plan_at(size_t index) const {
    const auto it = plans_.find(index);
    return it != plans_.end() ? it->second : InlinePlan{};
  }
  size_t last_definition(size_t index, uint8_t reg);
  bool stack_address(size_t index, uint8_t reg, int32_t& offset, size_t (&defs)[2]);
  std::unordered_map<size_t, InlinePlan> plans_;  // by call instruction
  // Instructions left out: setups only an inlined call read, stores nothing reads. Flags by
  // instruction are bytes here, not vector<bool>: they are read for every instruction by every
  // pass, where a bit's index arithmetic cost more than the bytes (bench/RESULTS.md, 2026-11-29).
  std::vector<uint8_t> skip_;
  // Stack bytes [r10 + from, r10 + to) a call may read.
  struct StackRange {
    int32_t from;
    int32_t to;
  };
  // The stack a call at `index` may read through its arguments set as `rX = r10; rX += off`
  // (whose moves it marks in `consumed`): up to r10 from each, or as much as the emitted code
  // reads. False when a bpf-to-bpf call gets a stack pointer (its frame may keep it).
  bool call_stack_reads(size_t index, std::vector<StackRange>& reads, std::vector<bool>& consumed);
  void find_dead_stack_stores();  // dead_stack_stores.cpp, after plan_inlined_calls
  // Whether the dead-code analyses run for this program (CompileOptions::dead_stores).
  bool dead_code_search() const;
  // dead_registers.cpp, after find_dead_stack_stores: live_out_, by instruction, bit r of which
  // is set when r0..r9's value after it may be read. Empty (everything live) when not searched.
  void find_live_registers();
  // stack_forwarding.cpp, after find_live_registers: by instruction, the register a 64-bit load
  // from the stack may take its value from (kNoRegister: load it). Empty when not searched.
  void find_forwarded_reloads();
  std::vector<uint8_t> reload_from_;
  // jump_threading.cpp, after the other analyses: by conditional jump, where it may jump instead
  // of its target (a jump with the same test, SIZE_MAX: none); by such a target, the jump whose
  // fall-through decides it (SIZE_MAX: none), which then needs no code once that jump's threaded
  // form was emitted (threaded_, set by jump_to_insn for the copy being emitted).
  void find_threaded_jumps();
  size_t jump_target_of(size_t index) const;
  std::vector<size_t> thread_to_;
  std::vector<size_t> decided_by_;
  std::vector<uint8_t> threaded_;
  // An inlined map call whose code writes no eBPF register but r0 and calls nothing (no cold
  // path): a proven array map, a key known in range, an update's flags known to copy.
  bool inlined_call_keeps_arguments(size_t index);
  std::vector<uint16_t> live_out_;
  bool live_after(size_t index, uint8_t reg) const {
    return live_out_.empty() || (live_out_[index] >> reg & 1);
  }
  // Whether nothing reads the value `reg` has after instruction `index`: live_out_ when it was
  // computed, else a look at the straight-line code that follows (dead_registers.cpp).
  bool dead_after(size_t index, uint8_t reg) const;
  // The same after the conditional jump at `index`, on both of its paths.
  bool dead_after_jump(size_t index, uint8_t reg) const;
  bool replaced_before_read(size_t start, uint8_t reg) const;
  bool replaced_on_every_path(size_t i, uint8_t reg, size_t& budget, int branches) const;
  // The registers (bit r for r0..r9) a run may read before the program writes them: all of them
  // when a function other than the first may be entered from the host (a callback).
  uint16_t entry_reads() const;
  // An instruction that only sets a register nothing reads afterwards: no code.
  bool dead_definition(size_t index) const;
  bool known_constant(size_t index, uint8_t reg, uint64_t& value);
  size_t known_callback(size_t index) const;
  void emit_inline_loop(const TranslatedSlot& s, size_t index, size_t callback);
  // A frameless function's body (a bpf_loop callback, a called small function) emitted again in
  // place, its exits jumping to `returned` (the last one falls through); false (nothing
  // emitted) when it has a frame or is longer than max_insns.
  // Instructions: every copy grows the code. A bpf_loop callback runs many times per copy; a
  // called function once per call site.
  static constexpr size_t kMaxInlinedCallback = 256;
  static constexpr size_t kMaxInlinedCall = 32;
  bool emit_inlined_callback(size_t callback, Xbyak::Label& returned,
                             size_t max_insns = kMaxInlinedCallback);
  // Instructions [first, end) emitted once more at the current position (an inlined callback's
  // body, a null path's copy): jumps among them go to this copy's code, the others where they
  // go; afterwards the offsets are the first copy's again.
  void emit_copy(size_t first, size_t end);
  Xbyak::Label* inline_exit_ = nullptr;  // where exit goes in an inlined callback
  size_t inline_end_ = 0;                // the instruction after the inlined function's last
  std::vector<const InlineArrayMap*> array_map_by_insn_;  // by instruction, built on first use
  bool emitting_helper_fallback_ = false;

  // Instruction sequences emitted as one (emit_fused.cpp): `x <<= 32; x >>= 32` as a 32-bit
  // move, a conditional jump over a `goto` as one inverted jump. Returns how many instructions from
  // `index` on it emitted, 0 when none.
  size_t emit_fused(size_t index);
  size_t emit_inverted_jump(size_t index);  // `if c goto +1; goto T` as `if !c goto T`
  size_t emit_copy_add(size_t index);       // `a = b; a += c` as `lea a, [b + c]`
  // `a = b; a += c` and a load or store through a that leaves a dead: [b + c + off].
  size_t emit_indexed_access(size_t index);
  // `k = imm; if k op x goto` (or `if x op k`) with k dead after: `cmp x, imm`, no move.
  size_t emit_constant_compare(size_t index);
  size_t emit_load_compare(size_t index);
  size_t emit_copy_extend(size_t index);         // `a = b; a <<= 32; a >>= 32` as `mov a32, b32`
  size_t emit_remainder(size_t index);           // `a = b; a /= c; a *= c; b -= a` as one divide
  bool lands_inside(size_t first, size_t last);  // a jump or call targets [first, last]
  std::vector<uint8_t> jump_target_;             // by instruction index, built on first use
  // The jumps that land on `target`, in order (built on first use, for all targets at once).
  std::span<const uint32_t> jump_sources(size_t target);
  std::vector<uint32_t> source_start_;  // by target: where its sources start in sources_
  std::vector<uint32_t> sources_;

  // Memory (emit_memory.cpp)
  bool emit_memory(const TranslatedSlot& s, size_t index);
  void encode_mem(uint8_t prefix, bool rex_w, bool byte_reg, uint8_t opcode, uint8_t opcode2,
                  uint8_t reg_index, uint8_t base_index, int16_t off);
  void emit_fetch_logic(const TranslatedSlot& s, bool is64, int logic);
  // offset_blinded: kAx already holds the immediate (constant blinding).
  void emit_packet_load(const TranslatedSlot& s, bool indirect, unsigned size,
                        bool offset_blinded = false);

  // Constant blinding (emit_blinding.cpp): emits `s` with its immediate loaded into kAx as
  // (imm ^ random) ^ random, so the program's immediate never appears in the machine code. False
  // when `s` has no immediate to blind.
  bool emit_blinded(const TranslatedSlot& s, size_t index);
  uint32_t blinding_value();

  // Appends an encoded instruction (x86_encoding.hpp) with one copy, into pages populated ahead
  // (populate_ahead).
  void put(const x86::Code& c) {
    if (size_ + sizeof c.bytes > populated_) [[unlikely]]
      return put_beyond_populated(c);
    std::memcpy(top_ + size_, c.bytes, sizeof c.bytes);
    size_ += c.size;
  }
  // Populates the next pages of the buffer; at its end, appends byte by byte, so that a full
  // buffer throws as xbyak's own appends do (compile() retries larger).
  void put_beyond_populated(const x86::Code& c);
  // The buffer's pages after the first are populated (code_memory.hpp's populate_for_writing) a
  // chunk ahead of the code, each chunk as large as all before it: a few calls for a large
  // program, and at most half again as many pages as the code needs (the rest are unmapped when
  // the code is sealed). Appends through xbyak do not look and may fault a page in themselves.
  void populate_ahead(size_t needed);
  // [0, populated_) of the buffer is populated (or given up on). The first page is left to fault
  // in: most programs need no more, and one fault costs less than the call.
  size_t populated_ = std::min<size_t>(4096, maxSize_);
  // The register forms above: both operands 32- or 64-bit general registers of one width, else
  // xbyak's encoder (which also rejects what x86 has no form for).
  static bool general_pair(const Xbyak::Reg& d, const Xbyak::Reg& s) {
    return d.isREG(32 | 64) && s.isREG(32 | 64) && d.getBit() == s.getBit();
  }
  void reg_reg(uint8_t opcode, const Xbyak::Reg& d, const Xbyak::Reg& s);
  void alu_imm(int ext, const Xbyak::Reg& d, uint32_t imm);

  const Xbyak::Reg64& reg(uint8_t bpf_reg) const { return regs_[bpf_reg]; }
  Xbyak::Address mem(unsigned bytes, uint8_t base, int16_t off) const;
  void emit_access_at(const TranslatedSlot& u, const Xbyak::RegExp& address);

  const vm::detail::LoadedProgram& program_;
  const CompileOptions options_;
  size_t index_ = 0;  // the instruction emit_insn is emitting
  const bool bmi2_;
  bool has_may_goto_ = false;
  bool several_functions_ = false;  // an entry besides instruction 0
  // r0..r10, then kAx: Linux's BPF_REG_AX, the scratch register constant blinding loads the
  // immediate into (r10, which no register-source form clobbers before reading its source).
  static constexpr uint8_t kAx = 11;
  Xbyak::Reg64 regs_[12];
  // Per function entry (by instruction index): the prologue, for calls. A map, not a vector of
  // one label per instruction: functions are few.
  std::unordered_map<size_t, Xbyak::Label> function_;
  std::vector<std::pair<size_t, size_t>> function_offsets_;  // (entry, offset), in entry order
  std::vector<uint8_t> is_function_;
  std::vector<uint8_t> loop_head_;  // targets of backward jumps
  std::vector<uint8_t> frameless_;  // by function entry: a leaf emitted without a frame
  // By function entry: which of the caller's r6..r9, r10 (kSaveBit[0..4]) its frame keeps.
  static constexpr uint8_t kSaveBit[5] = {1, 2, 4, 8, 16};
  static constexpr uint8_t kSaveAll = 31;
  std::vector<uint8_t> saved_;
  uint8_t saved_now_ = kSaveAll;  // the function being emitted
  // The host register of r6 + k, and its slot in the frame (where push would put it).
  static const Xbyak::Reg64& saved_register(int k);
  static int save_slot(int k);
  bool in_frameless_ = false;  // the function being emitted is one
  Xbyak::Label abort_;         // leave the program: back to the innermost trampoline
  size_t abort_offset_ = 0;
  Xbyak::Label return_zero_;  // r0 = 0 and return from the current function
  size_t return_zero_offset_ = 0;
  struct Fixup {
    uint32_t at;      // offset of the rel32 field
    uint32_t target;  // instruction index (jumps) or instruction index of the fault (stubs)
  };
  std::vector<Fixup> insn_fixups_;  // forward jumps to instructions
  std::vector<Fixup> depth_stubs_;  // call-depth faults, emitted after the program
  std::mt19937 blinding_rng_;       // seeded per compilation when blinding is on
};

}  // namespace userbpf::jit::detail
