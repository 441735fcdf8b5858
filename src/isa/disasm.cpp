#include "isa/disasm.hpp"

#include <fmt/format.h>

#include "isa/helper_ids.hpp"

namespace userbpf::isa {
namespace {

// Operator text of the ALU opcodes, indexed by BPF_OP >> 4 (Linux's bpf_alu_string).
constexpr const char* kAluOps[16] = {"+=",  "-=", "*=", "/=", "|=",   "&=",     "<<=", ">>=",
                                     "neg", "%=", "^=", "=",  "s>>=", "endian", "",    ""};
// Comparison text of the jump opcodes, indexed by BPF_OP >> 4 (Linux's bpf_jmp_string).
constexpr const char* kJmpOps[16] = {
    "jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", "", ""};

const char* size_name(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_B: return "u8";
    case BPF_H: return "u16";
    case BPF_W: return "u32";
    default: return "u64";
  }
}

const char* signed_size_name(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_B: return "s8";
    case BPF_H: return "s16";
    default: return "s32";
  }
}

const char* atomic_alu_name(int32_t imm) {
  switch (imm & ~BPF_FETCH) {
    case BPF_ADD: return "add";
    case BPF_AND: return "and";
    case BPF_OR: return "or";
    default: return "xor";
  }
}

std::string format_alu(const Insn& d) {
  const char reg = BPF_CLASS(d.opcode) == BPF_ALU ? 'w' : 'r';
  const uint8_t op = BPF_OP(d.opcode);
  if (op == BPF_NEG) return fmt::format("{}{} = -{}{}", reg, d.dst, reg, d.dst);
  const bool signed_divmod = (op == BPF_DIV || op == BPF_MOD) && d.off == 1;
  const char* text = signed_divmod ? (op == BPF_DIV ? "s/=" : "s%=") : kAluOps[op >> 4];
  if (BPF_SRC(d.opcode) == BPF_X) {
    const char* cast = "";
    if (op == BPF_MOV && d.off == 8) cast = "(s8)";
    if (op == BPF_MOV && d.off == 16) cast = "(s16)";
    if (op == BPF_MOV && d.off == 32) cast = "(s32)";
    return fmt::format("{}{} {} {}{}{}", reg, d.dst, text, cast, reg, d.src);
  }
  return fmt::format("{}{} {} {}", reg, d.dst, text, d.imm);
}

std::string format_atomic(const Insn& d) {
  const char* size = size_name(d.opcode);
  const char* bits = BPF_SIZE(d.opcode) == BPF_DW ? "64" : "";
  switch (d.imm) {
    case BPF_ADD:
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR:
      return fmt::format("lock *({} *)(r{} {:+d}) {} r{}", size, d.dst, d.off,
                         kAluOps[BPF_OP(d.imm) >> 4], d.src);
    case BPF_ADD | BPF_FETCH:
    case BPF_AND | BPF_FETCH:
    case BPF_OR | BPF_FETCH:
    case BPF_XOR | BPF_FETCH:
      return fmt::format("r{} = atomic{}_fetch_{}(({} *)(r{} {:+d}), r{})", d.src, bits,
                         atomic_alu_name(d.imm), size, d.dst, d.off, d.src);
    case BPF_CMPXCHG:
      return fmt::format("r0 = atomic{}_cmpxchg(({} *)(r{} {:+d}), r0, r{})", bits, size, d.dst,
                         d.off, d.src);
    case BPF_XCHG:
      return fmt::format("r{} = atomic{}_xchg(({} *)(r{} {:+d}), r{})", d.src, bits, size, d.dst,
                         d.off, d.src);
    case BPF_LOAD_ACQ:
      return fmt::format("r{} = load_acquire(({} *)(r{} {:+d}))", d.dst, size, d.src, d.off);
    case BPF_STORE_REL:
      return fmt::format("store_release(({} *)(r{} {:+d}), r{})", size, d.dst, d.off, d.src);
  }
  return fmt::format("BUG_{:02x}", d.opcode);
}

std::string lddw_default_text(const Insn& d, bool allow_ptr_leaks) {
  const auto imm = static_cast<uint32_t>(d.imm);
  const auto next = static_cast<uint32_t>(d.next_imm);
  switch (d.src) {
    case BPF_PSEUDO_MAP_FD: return allow_ptr_leaks ? fmt::format("map[id:{}]", imm) : "0x0";
    case BPF_PSEUDO_MAP_VALUE:
      return allow_ptr_leaks ? fmt::format("map[id:{}][0]+{}", imm, next) : "0x0";
    case BPF_PSEUDO_MAP_IDX_VALUE: return fmt::format("map[idx:{}]+{}", imm, next);
    case BPF_PSEUDO_FUNC: return fmt::format("subprog[{:+d}]", d.imm);
    default: return fmt::format("0x{:x}", static_cast<uint64_t>(d.imm64));
  }
}

std::string format_call(const Insn& d, const DisasmOptions& options) {
  switch (d.call) {
    case CallKind::local: return fmt::format("call pc{:+d}", d.imm);
    case CallKind::kfunc: {
      std::optional<std::string> name;
      if (options.kfunc_name) name = options.kfunc_name(d);
      return fmt::format("call {}#{}", name ? *name : "kernel-function", d.imm);
    }
    case CallKind::helper: break;
  }
  const char* name = d.imm >= 0 ? helper_name(static_cast<uint32_t>(d.imm)) : nullptr;
  if (name) return fmt::format("call bpf_{}#{}", name, d.imm);
  return fmt::format("call unknown#{}", d.imm);
}

std::string format_jump_cond(const Insn& d) {
  const char reg = BPF_CLASS(d.opcode) == BPF_JMP32 ? 'w' : 'r';
  const char* op = kJmpOps[BPF_OP(d.opcode) >> 4];
  if (BPF_SRC(d.opcode) == BPF_X)
    return fmt::format("if {}{} {} {}{} goto pc{:+d}", reg, d.dst, op, reg, d.src, d.off);
  return fmt::format("if {}{} {} 0x{:x} goto pc{:+d}", reg, d.dst, op, static_cast<uint32_t>(d.imm),
                     d.off);
}

}  // namespace

std::string format_insn(const Program& prog, size_t index, const DisasmOptions& options) {
  const Insn& d = prog.insns.at(index);
  switch (d.kind) {
    case Kind::invalid: return "";
    case Kind::alu: return format_alu(d);
    case Kind::endian:
      if (BPF_CLASS(d.opcode) == BPF_ALU64)
        return fmt::format("r{} = bswap{} r{}", d.dst, d.imm, d.dst);
      return fmt::format("r{} = {}{} r{}", d.dst, BPF_SRC(d.opcode) == BPF_TO_BE ? "be" : "le",
                         d.imm, d.dst);
    case Kind::jump:
      if (BPF_CLASS(d.opcode) == BPF_JMP32) return fmt::format("gotol pc{:+d}", d.imm);
      return fmt::format("goto pc{:+d}", d.off);
    case Kind::jump_cond: return format_jump_cond(d);
    case Kind::call: return format_call(d, options);
    case Kind::exit: return "exit";
    case Kind::may_goto: return fmt::format("may_goto pc{:+d}", d.off);
    case Kind::load:
      return fmt::format(
          "r{} = *({} *)(r{} {:+d})", d.dst,
          BPF_MODE(d.opcode) == BPF_MEMSX ? signed_size_name(d.opcode) : size_name(d.opcode), d.src,
          d.off);
    case Kind::store_reg:
      return fmt::format("*({} *)(r{} {:+d}) = r{}", size_name(d.opcode), d.dst, d.off, d.src);
    case Kind::store_imm:
      return fmt::format("*({} *)(r{} {:+d}) = {}", size_name(d.opcode), d.dst, d.off, d.imm);
    case Kind::atomic: return format_atomic(d);
    case Kind::lddw: {
      std::optional<std::string> text;
      if (options.lddw_text) text = options.lddw_text(d);
      return fmt::format("r{} = {}", d.dst,
                         text ? *text : lddw_default_text(d, options.allow_ptr_leaks));
    }
    case Kind::packet_load:
      if (BPF_MODE(d.opcode) == BPF_ABS)
        return fmt::format("r0 = *({} *)skb[{}]", size_name(d.opcode), d.imm);
      return fmt::format("r0 = *({} *)skb[r{} + {}]", size_name(d.opcode), d.src, d.imm);
  }
  return "";
}

std::string dump_xlated(const Program& prog, const DisasmOptions& options) {
  std::string out;
  for (size_t i = 0; i < prog.size(); ++i) {
    const Insn& d = prog.insns[i];
    if (d.is_lddw_tail()) continue;
    out += fmt::format("{:4}: ({:02x}) {}\n", i, d.opcode, format_insn(prog, i, options));
    if (options.opcodes) {
      // bpftool prints the 8 bytes of the slot (both slots for an lddw) after 7 spaces.
      auto bytes_of = [](const RawInsn& r) {
        const auto* p = reinterpret_cast<const uint8_t*>(&r);
        return fmt::format("{:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x}", p[0], p[1],
                           p[2], p[3], p[4], p[5], p[6], p[7]);
      };
      out += "       " + bytes_of(prog.raw[i]);
      if (d.kind == Kind::lddw && i + 1 < prog.raw.size()) out += " " + bytes_of(prog.raw[i + 1]);
      out += "\n";
    }
  }
  return out;
}

}  // namespace userbpf::isa
