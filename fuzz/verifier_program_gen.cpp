#include "verifier_program_gen.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "isa/helper_prototypes.hpp"

namespace userbpf::fuzz {

const uint32_t kFuzzProgTypes[4] = {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_XDP,
                                    BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_TRACEPOINT};

const FuzzMapSpec kFuzzMaps[3] = {
    {BPF_MAP_TYPE_HASH, 4, 16, 16},
    {BPF_MAP_TYPE_ARRAY, 4, 16, 4},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},
};

namespace {

using isa::make_raw;
using isa::RawInsn;
namespace tf = isa::type_flag;

constexpr size_t kMaxRawInsns = 4096;
constexpr int kMapHash = 0, kMapArray = 1, kMapRingbuf = 2;

// Reads choices from the input; an exhausted input answers 0 (so every input is a program).
class Choices {
 public:
  explicit Choices(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t u8() { return pos_ < bytes_.size() ? bytes_[pos_++] : 0; }
  uint32_t below(uint32_t n) { return n ? u8() % n : 0; }
  bool chance(uint32_t percent) { return below(100) < percent; }
  int32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | u8();
    return static_cast<int32_t>(v);
  }
  bool done() const { return pos_ >= bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

template <typename T, size_t N>
T pick(Choices& c, const T (&values)[N]) {
  return values[c.below(N)];
}

// Immediates at the edges of what bounds tracking has to get right.
constexpr int32_t kImms[] = {0,  1,  2,  3,  4,   7,    8,    12,         14,        15,
                             16, 20, 31, 32, 63,  64,   255,  256,        511,       512,
                             -1, -2, -4, -8, -16, -512, 4095, 0x7fffffff, INT32_MIN, 0xffff};
constexpr int16_t kOffs[] = {0, 1, 2, 3, 4, 6, 8, 12, 14, 15, 16, 20, 24, 32, 40, -1, -4, -8, -16};
constexpr uint8_t kAluOps[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
                               BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};
constexpr uint8_t kJmpOps[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                               BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
constexpr int32_t kAtomicOps[] = {BPF_ADD,
                                  BPF_OR,
                                  BPF_AND,
                                  BPF_XOR,
                                  BPF_ADD | BPF_FETCH,
                                  BPF_OR | BPF_FETCH,
                                  BPF_AND | BPF_FETCH,
                                  BPF_XOR | BPF_FETCH,
                                  BPF_XCHG,
                                  BPF_CMPXCHG};
constexpr uint32_t kHelpers[] = {
    BPF_FUNC_map_lookup_elem,
    BPF_FUNC_map_update_elem,
    BPF_FUNC_map_delete_elem,
    BPF_FUNC_probe_read,
    BPF_FUNC_ktime_get_ns,
    BPF_FUNC_trace_printk,
    BPF_FUNC_get_prandom_u32,
    BPF_FUNC_get_smp_processor_id,
    BPF_FUNC_tail_call,
    BPF_FUNC_get_current_pid_tgid,
    BPF_FUNC_get_current_comm,
    BPF_FUNC_skb_load_bytes,
    BPF_FUNC_csum_diff,
    BPF_FUNC_xdp_adjust_head,
    BPF_FUNC_probe_read_str,
    BPF_FUNC_xdp_adjust_tail,
    BPF_FUNC_probe_read_user,
    BPF_FUNC_probe_read_kernel,
    BPF_FUNC_probe_read_user_str,
    BPF_FUNC_ringbuf_output,
    BPF_FUNC_ringbuf_reserve,
    BPF_FUNC_ringbuf_submit,
    BPF_FUNC_ringbuf_discard,
    BPF_FUNC_ringbuf_query,
    BPF_FUNC_loop,
    BPF_FUNC_strncmp,
    BPF_FUNC_snprintf,
    BPF_FUNC_get_stack,
    BPF_FUNC_xdp_adjust_meta,
    BPF_FUNC_map_peek_elem,
    BPF_FUNC_get_current_uid_gid,
    BPF_FUNC_ktime_get_boot_ns,
    BPF_FUNC_for_each_map_elem,
};

class Generator {
 public:
  Generator(Choices& c, uint32_t prog_type) : c_(c), prog_type_(prog_type) {}

  std::vector<RawInsn> run() {
    if (c_.chance(75)) mov_reg(6, 1);  // keep the context where calls do not clobber it
    // Registers with values: constants, or unknown but bounded scalars from the context.
    if (c_.chance(70)) {
      for (uint8_t r : {0, 2, 3, 4, 5, 7, 8, 9}) {
        if (!c_.chance(50)) continue;
        if (c_.chance(60))
          mov_imm(r, imm());
        else
          emit(make_raw(BPF_LDX | BPF_MEM | (prog_type_ == BPF_PROG_TYPE_KPROBE ? BPF_DW : BPF_W),
                        r, 1, scalar_ctx_off(), 0));
      }
    }
    const uint32_t count = 1 + c_.below(40);
    for (uint32_t i = 0; i < count && !c_.done(); ++i) snippet();
    const size_t main_exit = epilogue();
    regions_.push_back({0, main_exit});
    if (!sub_refs_.empty()) {
      const size_t sub_start = out_.size();
      // A callback receives (index, ctx); a bpf-to-bpf callee whatever r1..r5 hold.
      const uint32_t n = c_.below(10);
      for (uint32_t i = 0; i < n && !c_.done(); ++i) snippet();
      regions_.push_back({sub_start, epilogue()});
      for (size_t at : sub_refs_) out_[at].imm = static_cast<int32_t>(sub_start - (at + 1));
    }
    resolve_jumps();
    return std::move(out_);
  }

 private:
  struct PendingJump {
    size_t at;
    int delta;  // instructions to skip (negative: a back-edge)
  };
  struct Region {
    size_t first, exit;
  };

  void emit(RawInsn insn) { out_.push_back(insn); }
  void lddw(uint8_t dst, uint8_t src, int32_t imm, int32_t next_imm) {
    emit(make_raw(BPF_LD | BPF_IMM | BPF_DW, dst, src, 0, imm));
    emit(make_raw(0, 0, 0, 0, next_imm));
    tails_.resize(out_.size(), false);
    tails_[out_.size() - 1] = true;
  }
  void mov_imm(uint8_t dst, int32_t imm) {
    emit(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm));
  }
  void mov_reg(uint8_t dst, uint8_t src) {
    emit(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0));
  }
  void add_imm(uint8_t dst, int32_t imm) {
    emit(make_raw(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm));
  }
  void call(uint32_t id) { emit(make_raw(BPF_JMP | BPF_CALL, 0, 0, 0, static_cast<int32_t>(id))); }
  void map_ref(uint8_t dst, int index) { lddw(dst, BPF_PSEUDO_MAP_IDX, index, 0); }
  // A conditional jump over the instructions emitted until close_skip().
  size_t open_skip(uint8_t op, uint8_t reg, int32_t imm) {
    emit(make_raw(BPF_JMP | op | BPF_K, reg, 0, 0, imm));
    return out_.size() - 1;
  }
  void close_skip(size_t at) { out_[at].off = static_cast<int16_t>(out_.size() - at - 1); }

  uint8_t reg() { return c_.chance(60) ? c_.below(6) : c_.below(10); }
  int32_t imm() { return c_.chance(80) ? pick(c_, kImms) : c_.u32(); }
  int16_t off() { return c_.chance(85) ? pick(c_, kOffs) : static_cast<int16_t>(c_.u32()); }
  int16_t stack_off() {
    if (c_.chance(90)) return static_cast<int16_t>(-8 * (1 + c_.below(c_.chance(80) ? 8 : 66)));
    return static_cast<int16_t>(-static_cast<int>(c_.below(520)));
  }
  // An offset into this program type's context that is often a real field.
  int16_t ctx_off() {
    static constexpr int16_t kSkb[] = {0, 4, 8, 16, 36, 48, 52, 56, 60, 76, 80, 140, 168, 184};
    static constexpr int16_t kXdp[] = {0, 4, 8, 12, 16, 20, 24};
    static constexpr int16_t kRegs[] = {0, 8, 16, 104, 112, 120, 128, 160, 168};
    static constexpr int16_t kTp[] = {0, 8, 12, 16, 24, 4096, 8184, 8192};
    if (c_.chance(15)) return off();
    switch (prog_type_) {
      case BPF_PROG_TYPE_XDP: return pick(c_, kXdp);
      case BPF_PROG_TYPE_KPROBE: return pick(c_, kRegs);
      case BPF_PROG_TYPE_TRACEPOINT: return pick(c_, kTp);
      default: return pick(c_, kSkb);
    }
  }
  // A context offset whose load gives a scalar (for register initialization).
  int16_t scalar_ctx_off() {
    switch (prog_type_) {
      case BPF_PROG_TYPE_XDP: return 12;         // rx_queue_index
      case BPF_PROG_TYPE_TRACEPOINT: return 16;  // past the common header
      case BPF_PROG_TYPE_KPROBE: return 8 * static_cast<int16_t>(c_.below(21));
      default: return 0;  // __sk_buff len
    }
  }
  void jump(RawInsn insn) {
    int delta = static_cast<int>(c_.below(12));
    if (c_.chance(12)) delta = -1 - static_cast<int>(c_.below(10));
    jumps_.push_back({out_.size(), delta});
    emit(insn);
  }

  void snippet() {
    switch (c_.below(22)) {
      case 0:
      case 1: alu(false); break;
      case 2: alu(true); break;
      case 3:
      case 4: load(); break;
      case 5: store(); break;
      case 6:
      case 7: cond_jump(); break;
      case 8: jump(make_raw(BPF_JMP | BPF_JA, 0, 0, 0, 0)); break;
      case 9:
      case 10: helper_call(pick(c_, kHelpers)); break;
      case 11:
      case 12: lookup_idiom(); break;
      case 13: packet_idiom(); break;
      case 14: ringbuf_idiom(); break;
      case 15: lddw_snippet(); break;
      case 16: atomic(); break;
      case 17: pointer_snippet(); break;
      case 18: endian(); break;
      case 19:
        if (c_.chance(50)) {
          sub_refs_.push_back(out_.size());
          emit(make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
        } else {
          helper_call(BPF_FUNC_loop);
        }
        break;
      case 20: ld_abs(); break;
      default: spill_fill(); break;
    }
  }

  void alu(bool with_reg) {
    const uint8_t cls = c_.chance(70) ? BPF_ALU64 : BPF_ALU;
    const uint8_t op = pick(c_, kAluOps);
    int16_t o = 0;
    if ((op == BPF_DIV || op == BPF_MOD) && c_.chance(25)) o = 1;  // sdiv / smod
    if (op == BPF_MOV && with_reg && c_.chance(20)) o = static_cast<int16_t>(8 << c_.below(3));
    if (op == BPF_NEG) with_reg = false;
    if (with_reg)
      emit(make_raw(cls | op | BPF_X, reg(), c_.chance(90) ? reg() : 10, o, 0));
    else
      emit(make_raw(cls | op | BPF_K, reg(), 0, o, op == BPF_NEG ? 0 : imm()));
  }

  void load() {
    const uint8_t size = pick(c_, kSizes);
    const uint8_t mode = c_.chance(10) && size != BPF_DW ? BPF_MEMSX : BPF_MEM;
    const uint32_t base = c_.below(4);
    if (base == 0) {
      emit(make_raw(BPF_LDX | mode | size, reg(), 10, stack_off(), 0));
    } else if (base == 1) {
      emit(make_raw(BPF_LDX | mode | size, reg(), c_.chance(50) ? 1 : 6, ctx_off(), 0));
    } else {
      emit(make_raw(BPF_LDX | mode | size, reg(), reg(), off(), 0));
    }
  }

  void store() {
    const uint8_t size = pick(c_, kSizes);
    const uint8_t dst = c_.chance(60) ? 10 : reg();
    const int16_t o = dst == 10 ? stack_off() : off();
    if (c_.chance(50))
      emit(make_raw(BPF_ST | BPF_MEM | size, dst, 0, o, imm()));
    else
      emit(make_raw(BPF_STX | BPF_MEM | size, dst, c_.chance(90) ? reg() : 10, o, 0));
  }

  void cond_jump() {
    const uint8_t cls = c_.chance(75) ? BPF_JMP : BPF_JMP32;
    const uint8_t op = pick(c_, kJmpOps);
    if (c_.chance(60))
      jump(make_raw(cls | op | BPF_K, reg(), 0, 0, imm()));
    else
      jump(make_raw(cls | op | BPF_X, reg(), c_.chance(90) ? reg() : 10, 0, 0));
  }

  // r1..r5 for helper `id`, mostly what its prototype asks for, sometimes anything.
  void helper_call(uint32_t id) {
    const isa::HelperPrototype* proto = isa::helper_prototype(id);
    int map = kMapHash;
    if (proto) {
      for (uint32_t i = 0; i < proto->args.size(); ++i) {
        const isa::ArgSpec& arg = proto->args[i];
        if (arg.type == isa::ArgType::dontcare) break;
        const uint8_t r = static_cast<uint8_t>(i + 1);
        if (c_.chance(10)) continue;  // whatever the register holds
        if (c_.chance(8)) {
          mov_imm(r, imm());
          continue;
        }
        switch (arg.type) {
          case isa::ArgType::const_map_ptr:
            map = id == BPF_FUNC_ringbuf_output || id == BPF_FUNC_ringbuf_reserve ||
                          id == BPF_FUNC_ringbuf_query
                      ? kMapRingbuf
                      : static_cast<int>(c_.below(2));
            if (c_.chance(10)) map = static_cast<int>(c_.below(3));
            map_ref(r, map);
            break;
          case isa::ArgType::ptr_to_map_key:
          case isa::ArgType::ptr_to_map_value:
          case isa::ArgType::ptr_to_mem:
          case isa::ArgType::ptr_to_const_str: {
            const int16_t o = stack_off();
            if (c_.chance(70)) emit(make_raw(BPF_ST | BPF_MEM | BPF_DW, 10, 0, o, c_.below(8)));
            mov_reg(r, 10);
            add_imm(r, o);
            break;
          }
          case isa::ArgType::const_size:
          case isa::ArgType::const_size_or_zero:
          case isa::ArgType::const_alloc_size_or_zero:
            mov_imm(r, c_.chance(70) ? static_cast<int32_t>(c_.below(17)) : imm());
            break;
          case isa::ArgType::ptr_to_ctx: mov_reg(r, c_.chance(80) ? 6 : 1); break;
          case isa::ArgType::ptr_to_func:
            sub_refs_.push_back(out_.size());
            lddw(r, BPF_PSEUDO_FUNC, 0, 0);
            break;
          case isa::ArgType::ptr_to_ringbuf_mem: mov_reg(r, 7); break;
          default: mov_imm(r, c_.chance(70) ? 0 : imm()); break;
        }
      }
    }
    call(id);
    if (c_.chance(40)) mov_reg(static_cast<uint8_t>(6 + c_.below(4)), 0);
  }

  // key on the stack, lookup, (usually) a null check, then accesses through the value.
  void lookup_idiom() {
    const int16_t key_off = c_.chance(80) ? -8 : stack_off();
    emit(make_raw(BPF_ST | BPF_MEM | (c_.chance(50) ? BPF_W : BPF_DW), 10, 0, key_off,
                  static_cast<int32_t>(c_.below(6))));
    mov_reg(2, 10);
    add_imm(2, key_off);
    map_ref(1, c_.chance(50) ? kMapHash : kMapArray);
    call(BPF_FUNC_map_lookup_elem);
    const uint8_t value = c_.chance(30) ? 8 : 0;
    if (value != 0) mov_reg(value, 0);
    size_t skip = SIZE_MAX;
    if (c_.chance(85)) skip = open_skip(c_.chance(90) ? BPF_JEQ : BPF_JNE, value, 0);
    const uint32_t uses = 1 + c_.below(3);
    for (uint32_t i = 0; i < uses; ++i) {
      switch (c_.below(5)) {
        case 0:  // variable offset, masked or compared
          emit(make_raw(BPF_LDX | BPF_MEM | BPF_DW, 1, value, 0, 0));
          if (c_.chance(50))
            emit(make_raw(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, c_.chance(80) ? 15 : imm()));
          else
            emit(make_raw(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 1, c_.chance(80) ? 12 : imm()));
          emit(make_raw(BPF_ALU64 | BPF_ADD | BPF_X, value, 1, 0, 0));
          break;
        case 1: emit(make_raw(BPF_STX | BPF_MEM | pick(c_, kSizes), value, reg(), off(), 0)); break;
        case 2: emit(make_raw(BPF_ST | BPF_MEM | pick(c_, kSizes), value, 0, off(), imm())); break;
        default:
          emit(make_raw(BPF_LDX | BPF_MEM | pick(c_, kSizes), c_.chance(50) ? 3 : 0, value, off(),
                        0));
          break;
      }
    }
    if (skip != SIZE_MAX) close_skip(skip);
  }

  // data/data_end from the context, a bounds check of N bytes, accesses below (or past) it.
  void packet_idiom() {
    const uint8_t ctx = c_.chance(70) ? 6 : 1;
    const bool xdp = prog_type_ == BPF_PROG_TYPE_XDP;
    emit(make_raw(BPF_LDX | BPF_MEM | BPF_W, 2, ctx, xdp ? 0 : 76, 0));
    emit(make_raw(BPF_LDX | BPF_MEM | BPF_W, 3, ctx, xdp ? 4 : 80, 0));
    const int32_t n = c_.chance(80) ? static_cast<int32_t>(c_.below(40)) : imm();
    mov_reg(4, 2);
    add_imm(4, n);
    size_t skip = SIZE_MAX;
    if (c_.chance(90)) {
      // if r4 > r3 (past data_end) skip the accesses
      emit(make_raw(BPF_JMP | (c_.chance(85) ? BPF_JGT : BPF_JGE) | BPF_X, 4, 3, 0, 0));
      skip = out_.size() - 1;
    }
    const uint32_t uses = 1 + c_.below(3);
    for (uint32_t i = 0; i < uses; ++i) {
      const int16_t o =
          c_.chance(80) ? static_cast<int16_t>(c_.below(static_cast<uint32_t>(std::max(n, 1)) + 2))
                        : off();
      if (c_.chance(60))
        emit(make_raw(BPF_LDX | BPF_MEM | pick(c_, kSizes), 0, 2, o, 0));
      else
        emit(make_raw(BPF_ST | BPF_MEM | pick(c_, kSizes), 2, 0, o, imm()));
    }
    if (skip != SIZE_MAX) close_skip(skip);
  }

  // reserve, (usually) a null check, writes, then (usually) submit or discard.
  void ringbuf_idiom() {
    map_ref(1, c_.chance(90) ? kMapRingbuf : static_cast<int>(c_.below(3)));
    const int32_t size = c_.chance(80) ? 8 * static_cast<int32_t>(1 + c_.below(4)) : imm();
    mov_imm(2, size);
    mov_imm(3, 0);
    call(BPF_FUNC_ringbuf_reserve);
    mov_reg(7, 0);
    size_t skip = SIZE_MAX;
    if (c_.chance(90)) skip = open_skip(BPF_JEQ, 7, 0);
    if (c_.chance(70)) emit(make_raw(BPF_ST | BPF_MEM | pick(c_, kSizes), 7, 0, off(), imm()));
    if (c_.chance(90)) {
      mov_reg(1, 7);
      mov_imm(2, 0);
      call(c_.chance(50) ? BPF_FUNC_ringbuf_submit : BPF_FUNC_ringbuf_discard);
    }
    if (skip != SIZE_MAX) close_skip(skip);
  }

  void lddw_snippet() {
    const uint8_t dst = reg();
    switch (c_.below(3)) {
      case 0: lddw(dst, 0, c_.u32(), c_.chance(50) ? 0 : c_.u32()); break;
      case 1: map_ref(dst, static_cast<int>(c_.below(3))); break;
      default:  // a direct pointer into the array map's values
        lddw(dst, BPF_PSEUDO_MAP_IDX_VALUE,
             c_.chance(90) ? kMapArray : static_cast<int>(c_.below(3)),
             c_.chance(80) ? static_cast<int32_t>(c_.below(72)) : imm());
        break;
    }
  }

  void atomic() {
    const uint8_t size = c_.chance(50) ? BPF_W : BPF_DW;
    const uint8_t dst = c_.chance(60) ? 10 : reg();
    const int16_t o = dst == 10 ? stack_off() : off();
    emit(make_raw(BPF_STX | BPF_ATOMIC | size, dst, reg(), o, pick(c_, kAtomicOps)));
  }

  // A pointer register: the frame pointer, the context or a copy, moved by a constant.
  void pointer_snippet() {
    const uint8_t dst = reg();
    static constexpr uint8_t kBases[] = {10, 1, 6, 0, 7, 8};
    mov_reg(dst, pick(c_, kBases));
    if (c_.chance(70)) add_imm(dst, dst == 10 ? stack_off() : off());
  }

  void endian() {
    static constexpr int32_t kWidths[] = {16, 32, 64};
    const int32_t width = pick(c_, kWidths);
    switch (c_.below(3)) {
      case 0: emit(make_raw(BPF_ALU | BPF_END | BPF_TO_LE, reg(), 0, 0, width)); break;
      case 1: emit(make_raw(BPF_ALU | BPF_END | BPF_TO_BE, reg(), 0, 0, width)); break;
      default: emit(make_raw(BPF_ALU64 | BPF_END | BPF_TO_LE, reg(), 0, 0, width)); break;  // bswap
    }
  }

  void ld_abs() {
    static constexpr uint8_t kAbsSizes[] = {BPF_B, BPF_H, BPF_W};
    if (c_.chance(50))
      emit(make_raw(BPF_LD | BPF_ABS | pick(c_, kAbsSizes), 0, 0, 0,
                    c_.chance(80) ? c_.below(64) : imm()));
    else
      emit(make_raw(BPF_LD | BPF_IND | pick(c_, kAbsSizes), 0, reg(), 0, c_.below(64)));
  }

  void spill_fill() {
    const int16_t o = stack_off();
    const uint8_t size = c_.chance(80) ? BPF_DW : pick(c_, kSizes);
    emit(make_raw(BPF_STX | BPF_MEM | size, 10, reg(), o, 0));
    if (c_.chance(40)) snippet_simple();
    emit(make_raw(BPF_LDX | BPF_MEM | (c_.chance(80) ? size : pick(c_, kSizes)), reg(), 10,
                  c_.chance(85) ? o : stack_off(), 0));
  }

  void snippet_simple() {
    if (c_.chance(50))
      alu(c_.chance(50));
    else
      store();
  }

  size_t epilogue() {
    if (c_.chance(85)) mov_imm(0, static_cast<int32_t>(c_.below(3)));
    emit(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return out_.size() - 1;
  }

  // Jumps land inside their own function, never on an lddw tail.
  void resolve_jumps() {
    tails_.resize(out_.size(), false);
    for (const PendingJump& j : jumps_) {
      const Region* region = &regions_.front();
      for (const Region& r : regions_)
        if (j.at >= r.first && j.at <= r.exit) region = &r;
      int64_t target = static_cast<int64_t>(j.at) + 1 + j.delta;
      target = std::clamp<int64_t>(target, static_cast<int64_t>(region->first),
                                   static_cast<int64_t>(region->exit));
      if (tails_[static_cast<size_t>(target)]) --target;
      out_[j.at].off = static_cast<int16_t>(target - static_cast<int64_t>(j.at) - 1);
    }
  }

  Choices& c_;
  uint32_t prog_type_;
  std::vector<RawInsn> out_;
  std::vector<bool> tails_;
  std::vector<PendingJump> jumps_;
  std::vector<size_t> sub_refs_;  // call-local and pseudo-func lddw slots to aim at the subprogram
  std::vector<Region> regions_;
};

// Raw mode: the bytes as instructions; map references folded onto the fuzz maps.
std::vector<RawInsn> raw_program(std::span<const uint8_t> bytes) {
  std::vector<RawInsn> insns(std::min(bytes.size() / sizeof(RawInsn), kMaxRawInsns));
  if (!insns.empty()) std::memcpy(insns.data(), bytes.data(), insns.size() * sizeof(RawInsn));
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    RawInsn& r = insns[i];
    if (r.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if (r.src_reg == BPF_PSEUDO_MAP_FD || r.src_reg == BPF_PSEUDO_MAP_IDX) {
      r.src_reg = BPF_PSEUDO_MAP_IDX;
      r.imm = static_cast<int32_t>(static_cast<uint32_t>(r.imm) % 3);
    } else if (r.src_reg == BPF_PSEUDO_MAP_VALUE || r.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
      r.src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
      r.imm = static_cast<int32_t>(static_cast<uint32_t>(r.imm) % 3);
    }
    ++i;
  }
  return insns;
}

}  // namespace

FuzzCase make_case(std::span<const uint8_t> bytes) {
  FuzzCase fc;
  const uint8_t mode = bytes.size() > 0 ? bytes[0] : 0;
  fc.prog_type = kFuzzProgTypes[(bytes.size() > 1 ? bytes[1] : 0) % 4];
  fc.privileged = (mode & kUnprivileged) == 0;
  const auto rest = bytes.size() > 2 ? bytes.subspan(2) : std::span<const uint8_t>();
  if (mode & kRawMode) {
    fc.insns = raw_program(rest);
  } else {
    Choices choices(rest);
    fc.insns = Generator(choices, fc.prog_type).run();
  }
  return fc;
}

}  // namespace userbpf::fuzz
