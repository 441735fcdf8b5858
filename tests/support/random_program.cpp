#include "support/random_program.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

namespace userbpf::testing {
namespace {

using isa::make_raw;
using isa::RawInsn;

constexpr int kStackArea = 64;  // bytes below r10 that are initialized and then used
// The upper half, [r10-32, r10), is the atomics' area: plain stores never go there (see
// make_atomic_area_opaque() for why).
constexpr int kAtomicArea = 32;
constexpr uint8_t kMemoryBase = 1;
constexpr uint8_t kFramePointer = 10;
constexpr std::array<uint8_t, 9> kDataRegs = {0, 2, 3, 4, 5, 6, 7, 8, 9};

// Deterministic randomness: mt19937_64 with our own range reduction (std distributions differ
// between standard libraries, which would make a seed mean different programs).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T, size_t N>
  T pick(const std::array<T, N>& values) {
    return values[below(N)];
  }

 private:
  std::mt19937_64 engine_;
};

// One instruction of the program being built; an lddw is one item of two slots. Jumps name their
// target by item index and get their slot offsets when the program is laid out.
struct Item {
  RawInsn insn{};
  bool is_lddw = false;
  RawInsn lddw_tail{};
  int target = -1;                // item index for jumps
  bool offset_in_imm = false;     // JMP32|JA ("gotol") keeps its offset in imm
  bool forbidden_target = false;  // inside a loop: entering there would skip the counter setup
};

struct PendingJump {
  size_t item;
  size_t distance;  // target = item + 1 + distance, moved forward past loop interiors
};

constexpr std::array<uint8_t, 11> kConditions = {BPF_JEQ, BPF_JGT,  BPF_JGE,  BPF_JSET,
                                                 BPF_JNE, BPF_JSGT, BPF_JSGE, BPF_JLT,
                                                 BPF_JLE, BPF_JSLT, BPF_JSLE};

class Generator {
 public:
  explicit Generator(const RandomProgramOptions& options) : options_(options), rng_(options.seed) {}

  RandomProgram run() {
    RandomProgram program;
    program.memory.resize(options_.memory_size);
    for (uint8_t& byte : program.memory) byte = static_cast<uint8_t>(rng_.next());
    prologue();
    random_part();
    const size_t end = items_.size();
    epilogue();
    resolve_pending(end);
    program.insns = lay_out();
    return program;
  }

 private:
  bool enabled(uint32_t cls) const { return (options_.classes & cls) != 0; }
  size_t slots() const { return slots_; }

  void emit(RawInsn insn) {
    Item item;
    item.insn = insn;
    items_.push_back(item);
    ++slots_;
  }
  void emit_lddw(uint8_t dst, uint64_t value) {
    Item item;
    item.insn = make_raw(BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0, static_cast<int32_t>(value));
    item.is_lddw = true;
    item.lddw_tail = make_raw(0, 0, 0, 0, static_cast<int32_t>(value >> 32));
    items_.push_back(item);
    slots_ += 2;
  }
  // Emits a jump to item `target` (patched later when -1 and recorded as pending).
  size_t emit_jump(RawInsn insn, int target, bool offset_in_imm = false) {
    emit(insn);
    items_.back().target = target;
    items_.back().offset_in_imm = offset_in_imm;
    return items_.size() - 1;
  }

  // --- operands -------------------------------------------------------------------------------

  uint8_t data_reg() { return rng_.pick(kDataRegs); }
  // A register the current code may write (the loop counter is reserved inside its loop).
  uint8_t writable_reg() {
    for (;;) {
      const uint8_t reg = data_reg();
      if (reg != reserved_) return reg;
    }
  }

  int32_t interesting_imm() {
    static constexpr std::array<int32_t, 20> kValues = {
        0,  1,  2,  3,  7,          8,         15,   16,   31,     32,
        63, 64, -1, -2, 0x7fffffff, INT32_MIN, 0x80, 0xff, 0xffff, 0x8000};
    switch (rng_.below(4)) {
      case 0: return static_cast<int32_t>(rng_.next());
      case 1: return static_cast<int32_t>(rng_.between(-300, 300));
      default: return rng_.pick(kValues);
    }
  }
  uint64_t interesting_u64() {
    static constexpr std::array<uint64_t, 8> kValues = {
        0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffff00000000ull, 0x00000000ffffffffull,
        0x0000000100000000ull, 0xffffffffffffffffull, 0x8877665544332211ull, 0x0000000080000000ull};
    if (rng_.chance(40)) return rng_.pick(kValues);
    uint64_t value = rng_.next();
    if (rng_.chance(30)) value >>= rng_.below(64);  // smaller magnitudes too
    return value;
  }

  static uint8_t size_code(int bytes) {
    switch (bytes) {
      case 1: return BPF_B;
      case 2: return BPF_H;
      case 4: return BPF_W;
      default: return BPF_DW;
    }
  }
  int random_size() { return 1 << rng_.below(4); }
  bool memory_fits(int bytes) const { return options_.memory_size >= static_cast<size_t>(bytes); }
  int16_t memory_offset(int bytes) {
    return static_cast<int16_t>(rng_.below(options_.memory_size - bytes + 1));
  }
  // Linux checks stack alignment strictly, so stack offsets are multiples of the access size.
  // [-kStackArea, -kStackArea + span) for loads (span = kStackArea), stores (the lower part).
  int16_t stack_offset(int bytes, int span = kStackArea) {
    return static_cast<int16_t>(-kStackArea + bytes * static_cast<int>(rng_.below(span / bytes)));
  }
  int16_t atomic_offset(int bytes) {
    return static_cast<int16_t>(-kAtomicArea +
                                bytes * static_cast<int>(rng_.below(kAtomicArea / bytes)));
  }
  // Base register and offset of a memory or stack access of `bytes`.
  std::pair<uint8_t, int16_t> place(int bytes, bool for_store) {
    if (memory_fits(bytes) && rng_.chance(60)) return {kMemoryBase, memory_offset(bytes)};
    return {kFramePointer, stack_offset(bytes, for_store ? kStackArea - kAtomicArea : kStackArea)};
  }

  // --- the fixed parts ------------------------------------------------------------------------

  void prologue() {
    for (uint8_t reg : kDataRegs) {
      if (reg == 2 && rng_.chance(50)) continue;  // keep the memory length sometimes
      init_register(reg);
    }
    for (int off = -kStackArea; off < 0; off += 8) {
      if (rng_.chance(50))
        emit(make_raw(BPF_ST | BPF_MEM | BPF_DW, kFramePointer, 0, static_cast<int16_t>(off),
                      interesting_imm()));
      else
        emit(make_raw(BPF_STX | BPF_MEM | BPF_DW, kFramePointer, data_reg(),
                      static_cast<int16_t>(off), 0));
    }
    if (enabled(kAtomic)) make_atomic_area_opaque();
  }

  // Linux 6.18's precision backtracking does not follow the value an atomic loads (r0 of cmpxchg,
  // src of the fetch forms) back to its stack slot. When the slot held a constant the verifier
  // knew, a branch decided by that value can wrongly prune another path reaching the same point
  // with different slot contents, and the code only that path needed is removed as dead: the
  // kernel then computes a wrong result. An atomic leaves its slot "unknown" (STACK_MISC) for the
  // verifier, so one atomic add on each slot of the area at the start, plus no plain stores there
  // later, means no path ever has a known constant in it. The run-time values are as random as
  // before. tests/oracle/kernel_quirks_test.cpp reproduces the bug.
  void make_atomic_area_opaque() {
    for (int off = -kAtomicArea; off < 0; off += 8)
      emit(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, kFramePointer, data_reg(),
                    static_cast<int16_t>(off), BPF_ADD));
  }

  void init_register(uint8_t reg) {
    const uint64_t how = rng_.below(100);
    if (how < 35 && options_.memory_size > 0) {
      int bytes = random_size();
      while (!memory_fits(bytes)) bytes /= 2;
      emit(load_insn(reg, kMemoryBase, memory_offset(bytes), bytes));
    } else if (how < 55) {
      emit_lddw(reg, interesting_u64());
    } else if (how < 70) {
      emit(make_raw(BPF_ALU | BPF_MOV | BPF_K, reg, 0, 0, interesting_imm()));
    } else {
      emit(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, reg, 0, 0, interesting_imm()));
    }
  }

  // Folds every register, then every stack dword, into r0 with r0 = r0 * odd ^ x: each step is a
  // bijection of r0, so a difference in any input changes the result.
  void epilogue() {
    for (uint8_t reg : kDataRegs) {
      if (reg == 0) continue;
      emit(make_raw(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 0x2545f491));
      emit(make_raw(BPF_ALU64 | BPF_XOR | BPF_X, 0, reg, 0, 0));
    }
    for (int off = -kStackArea; off < 0; off += 8) {
      emit(make_raw(BPF_LDX | BPF_MEM | BPF_DW, 2, kFramePointer, static_cast<int16_t>(off), 0));
      emit(make_raw(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 0x2545f491));
      emit(make_raw(BPF_ALU64 | BPF_XOR | BPF_X, 0, 2, 0, 0));
    }
    emit(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }

  // --- the random part ------------------------------------------------------------------------

  void random_part() {
    const size_t stop = slots() + options_.insn_count;
    const bool any_jump = enabled(kJmp) || enabled(kJmp32);
    while (slots() < stop) {
      const uint64_t roll = rng_.below(100);
      if (enabled(kLoop) && roll < 4 && stop - slots() >= 6) {
        loop();
      } else if (any_jump && roll < 10 && stop - slots() >= 4) {
        diamond();
      } else if (any_jump && roll < 22) {
        const size_t item = emit_jump(conditional_jump(), -1);
        pending_.push_back({item, static_cast<size_t>(rng_.below(12))});
      } else {
        straight_insn();
      }
    }
  }

  RawInsn conditional_jump() {
    const bool wide = enabled(kJmp) && (!enabled(kJmp32) || rng_.chance(50));
    const uint8_t cls = wide ? BPF_JMP : BPF_JMP32;
    const uint8_t cond = rng_.pick(kConditions);
    if (rng_.chance(50)) return make_raw(cls | cond | BPF_X, data_reg(), data_reg(), 0, 0);
    return make_raw(cls | cond | BPF_K, data_reg(), 0, 0, interesting_imm());
  }

  // if (cond) goto else; then-block; goto end; else: else-block; end:
  void diamond() {
    const size_t branch = emit_jump(conditional_jump(), -1);
    const int64_t then_count = rng_.between(0, 4);
    for (int64_t i = 0; i < then_count; ++i) straight_insn();
    const bool wide = enabled(kJmp) && (!enabled(kJmp32) || rng_.chance(50));
    const size_t skip = wide ? emit_jump(make_raw(BPF_JMP | BPF_JA, 0, 0, 0, 0), -1)
                             : emit_jump(make_raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), -1, true);
    items_[branch].target = static_cast<int>(items_.size());
    const int64_t else_count = rng_.between(1, 4);
    for (int64_t i = 0; i < else_count; ++i) straight_insn();
    items_[skip].target = static_cast<int>(items_.size());  // may be the next item added
  }

  // A counted loop of 1..5 iterations whose counter the body never writes.
  void loop() {
    const uint8_t counter = static_cast<uint8_t>(rng_.between(2, 9));
    const int32_t iterations = static_cast<int32_t>(rng_.between(1, 5));
    const bool count_up = rng_.chance(50);
    const bool wide = rng_.chance(50);
    emit(make_raw((wide ? BPF_ALU64 : BPF_ALU) | BPF_MOV | BPF_K, counter, 0, 0,
                  count_up ? 0 : iterations));
    const size_t head = items_.size();
    reserved_ = counter;
    const int64_t body = rng_.between(1, 6);
    for (int64_t i = 0; i < body; ++i) straight_insn();
    reserved_ = 0xff;
    emit(
        make_raw((wide ? BPF_ALU64 : BPF_ALU) | BPF_ADD | BPF_K, counter, 0, 0, count_up ? 1 : -1));
    const uint8_t jmp_cls = rng_.chance(50) ? BPF_JMP : BPF_JMP32;
    if (count_up)
      emit_jump(make_raw(jmp_cls | BPF_JLT | BPF_K, counter, 0, 0, iterations),
                static_cast<int>(head));
    else
      emit_jump(make_raw(jmp_cls | BPF_JNE | BPF_K, counter, 0, 0, 0), static_cast<int>(head));
    for (size_t i = head; i < items_.size(); ++i) items_[i].forbidden_target = true;
  }

  // One instruction without control flow, from the enabled classes.
  void straight_insn() {
    std::array<uint32_t, 7> choices{};
    size_t count = 0;
    for (uint32_t cls : {kAlu64, kAlu32, kEndian, kLoad, kStore, kAtomic, kLddw})
      if (enabled(cls)) choices[count++] = cls;
    if (count == 0) {  // only control flow enabled: the blocks still need something inside
      emit(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, writable_reg(), 0, 0, interesting_imm()));
      return;
    }
    // ALU gets extra weight: it is most of what programs do.
    uint32_t cls = choices[rng_.below(count)];
    if (rng_.chance(30) && (enabled(kAlu64) || enabled(kAlu32)))
      cls = enabled(kAlu64) && (!enabled(kAlu32) || rng_.chance(50)) ? kAlu64 : kAlu32;
    switch (cls) {
      case kAlu64: alu(true); break;
      case kAlu32: alu(false); break;
      case kEndian: endian(); break;
      case kLoad: load(); break;
      case kStore: store(); break;
      case kAtomic: atomic(); break;
      default: emit_lddw(writable_reg(), interesting_u64()); break;
    }
  }

  void alu(bool wide) {
    const uint8_t cls = wide ? BPF_ALU64 : BPF_ALU;
    const int width = wide ? 64 : 32;
    const uint8_t dst = writable_reg();
    static constexpr std::array<uint8_t, 13> kOps = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,
                                                     BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD,
                                                     BPF_XOR, BPF_MOV, BPF_ARSH};
    const uint8_t op = rng_.pick(kOps);
    if (op == BPF_NEG) {
      emit(make_raw(cls | BPF_NEG | BPF_K, dst, 0, 0, 0));
      return;
    }
    const bool is_div = op == BPF_DIV || op == BPF_MOD;
    const int16_t off = is_div && rng_.chance(50) ? 1 : 0;  // sdiv / smod
    if (op == BPF_MOV && rng_.chance(25)) {                 // movsx
      static constexpr std::array<int16_t, 3> kFrom = {8, 16, 32};
      const int16_t from = kFrom[rng_.below(wide ? 3 : 2)];
      emit(make_raw(cls | BPF_MOV | BPF_X, dst, data_reg(), from, 0));
      return;
    }
    if (rng_.chance(50)) {
      emit(make_raw(cls | op | BPF_X, dst, data_reg(), off, 0));
      return;
    }
    int32_t imm = interesting_imm();
    if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
      imm = static_cast<int32_t>(rng_.below(width));  // Linux refuses shifts >= width
    else if (is_div && imm == 0)
      imm = rng_.chance(50) ? -1 : 3;  // Linux refuses a constant zero divisor
    emit(make_raw(cls | op | BPF_K, dst, 0, off, imm));
  }

  void endian() {
    static constexpr std::array<int32_t, 3> kWidths = {16, 32, 64};
    const int32_t bits = rng_.pick(kWidths);
    const uint8_t dst = writable_reg();
    switch (rng_.below(3)) {
      case 0: emit(make_raw(BPF_ALU | BPF_END | BPF_TO_LE, dst, 0, 0, bits)); break;
      case 1: emit(make_raw(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, bits)); break;
      default: emit(make_raw(BPF_ALU64 | BPF_END | BPF_TO_LE, dst, 0, 0, bits)); break;  // bswap
    }
  }

  RawInsn load_insn(uint8_t dst, uint8_t base, int16_t off, int bytes) {
    const bool sign_extend = bytes < 8 && rng_.chance(35);
    return make_raw(BPF_LDX | (sign_extend ? BPF_MEMSX : BPF_MEM) | size_code(bytes), dst, base,
                    off, 0);
  }

  void load() {
    const int bytes = random_size();
    const auto [base, off] = place(bytes, false);
    emit(load_insn(writable_reg(), base, off, bytes));
  }

  void store() {
    const int bytes = random_size();
    const auto [base, off] = place(bytes, true);
    if (rng_.chance(40))
      emit(make_raw(BPF_ST | BPF_MEM | size_code(bytes), base, 0, off, interesting_imm()));
    else
      emit(make_raw(BPF_STX | BPF_MEM | size_code(bytes), base, data_reg(), off, 0));
  }

  // Atomics on the stack; Linux refuses them on packet memory.
  void atomic() {
    const int bytes = rng_.chance(50) ? 4 : 8;
    const int16_t off = atomic_offset(bytes);
    static constexpr std::array<int32_t, 10> kOps = {
        BPF_ADD, BPF_ADD | BPF_FETCH, BPF_AND,  BPF_AND | BPF_FETCH, BPF_OR, BPF_OR | BPF_FETCH,
        BPF_XOR, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG};
    const int32_t op = rng_.pick(kOps);
    const bool writes_src = (op & BPF_FETCH) != 0 && op != BPF_CMPXCHG;
    const uint8_t src = writes_src ? writable_reg() : data_reg();
    emit(make_raw(BPF_STX | BPF_ATOMIC | size_code(bytes), kFramePointer, src, off, op));
    // Linux 6.18 on x86-64 loses the zero-extension of r0 after a successful 32-bit cmpxchg when
    // verifier state pruning skips the 64-bit read of r0 that would have requested it (the JIT's
    // 32-bit cmpxchg leaves rax's upper half alone on success). The instruction set says r0 is
    // zero-extended in either case, and userbpf does that; `w0 = w0` makes both sides agree
    // without hiding anything else. tests/oracle/kernel_quirks_test.cpp reproduces the bug.
    if (op == BPF_CMPXCHG && bytes == 4) emit(make_raw(BPF_ALU | BPF_MOV | BPF_X, 0, 0, 0, 0));
  }

  // --- layout ---------------------------------------------------------------------------------

  void resolve_pending(size_t end) {
    for (const PendingJump& jump : pending_) {
      size_t target = std::min(jump.item + 1 + jump.distance, end);
      while (target < end && items_[target].forbidden_target) ++target;
      items_[jump.item].target = static_cast<int>(target);
    }
  }

  std::vector<RawInsn> lay_out() const {
    std::vector<size_t> slot(items_.size() + 1);
    for (size_t i = 0; i < items_.size(); ++i) slot[i + 1] = slot[i] + (items_[i].is_lddw ? 2 : 1);
    std::vector<RawInsn> out;
    out.reserve(slot.back());
    for (size_t i = 0; i < items_.size(); ++i) {
      RawInsn insn = items_[i].insn;
      if (items_[i].target >= 0) {
        const int64_t delta =
            static_cast<int64_t>(slot[items_[i].target]) - static_cast<int64_t>(slot[i]) - 1;
        if (items_[i].offset_in_imm)
          insn.imm = static_cast<int32_t>(delta);
        else
          insn.off = static_cast<int16_t>(delta);
      }
      out.push_back(insn);
      if (items_[i].is_lddw) out.push_back(items_[i].lddw_tail);
    }
    return out;
  }

  RandomProgramOptions options_;
  Rng rng_;
  std::vector<Item> items_;
  std::vector<PendingJump> pending_;
  size_t slots_ = 0;
  uint8_t reserved_ = 0xff;  // the loop counter while generating a loop body
};

}  // namespace

RandomProgram generate_random_program(const RandomProgramOptions& options) {
  return Generator(options).run();
}

std::string hex_listing(const std::vector<isa::RawInsn>& insns) {
  std::string out;
  char line[64];
  for (size_t i = 0; i < insns.size(); ++i) {
    uint64_t word = 0;
    static_assert(sizeof(word) == sizeof(insns[i]));
    std::memcpy(&word, &insns[i], sizeof(word));
    std::snprintf(line, sizeof(line), "%4zu: 0x%016llx\n", i,
                  static_cast<unsigned long long>(word));
    out += line;
  }
  return out;
}

}  // namespace userbpf::testing
