#include "vm/translate.hpp"

#include <bit>
#include <string>

#include "isa/helper_ids.hpp"

namespace userbpf::vm::detail {
namespace {

using isa::Insn;
using isa::Kind;

Error load_error(Errc code, size_t index, std::string message) {
  Location where;
  where.insn = static_cast<int64_t>(index);
  return make_error(code, std::move(message), where);
}

// Picks the variant of an ALU or conditional-jump handler for the operand width and source.
#define USERBPF_PICK(base) \
  (is64 ? (reg ? Op::base##64_reg : Op::base##64_imm) : (reg ? Op::base##32_reg : Op::base##32_imm))

Op alu_op(const Insn& insn) {
  const bool is64 = insn.width == 64;
  const bool reg = isa::uses_reg_source(insn.opcode);
  const bool is_signed = insn.off == 1;
  switch (BPF_OP(insn.opcode)) {
    case BPF_ADD: return USERBPF_PICK(add);
    case BPF_SUB: return USERBPF_PICK(sub);
    case BPF_MUL: return USERBPF_PICK(mul);
    case BPF_DIV: return is_signed ? USERBPF_PICK(sdiv) : USERBPF_PICK(div);
    case BPF_OR: return USERBPF_PICK(bor);
    case BPF_AND: return USERBPF_PICK(band);
    case BPF_LSH: return USERBPF_PICK(lsh);
    case BPF_RSH: return USERBPF_PICK(rsh);
    case BPF_NEG: return is64 ? Op::neg64 : Op::neg32;
    case BPF_MOD: return is_signed ? USERBPF_PICK(smod) : USERBPF_PICK(mod);
    case BPF_XOR: return USERBPF_PICK(bxor);
    case BPF_MOV:
      // The decoder admits off 8/16 (both widths) and 32 (ALU64) only with a register source.
      if (reg && insn.off == 8) return is64 ? Op::movsx64_8 : Op::movsx32_8;
      if (reg && insn.off == 16) return is64 ? Op::movsx64_16 : Op::movsx32_16;
      if (reg && insn.off == 32) return Op::movsx64_32;
      return USERBPF_PICK(mov);
    default: return USERBPF_PICK(arsh);  // BPF_ARSH, the last one the decoder admits
  }
}

Op jump_op(const Insn& insn) {
  const bool is64 = insn.width == 64;
  const bool reg = isa::uses_reg_source(insn.opcode);
  switch (BPF_OP(insn.opcode)) {
    case BPF_JEQ: return USERBPF_PICK(jeq);
    case BPF_JGT: return USERBPF_PICK(jgt);
    case BPF_JGE: return USERBPF_PICK(jge);
    case BPF_JSET: return USERBPF_PICK(jset);
    case BPF_JNE: return USERBPF_PICK(jne);
    case BPF_JSGT: return USERBPF_PICK(jsgt);
    case BPF_JSGE: return USERBPF_PICK(jsge);
    case BPF_JLT: return USERBPF_PICK(jlt);
    case BPF_JLE: return USERBPF_PICK(jle);
    case BPF_JSLT: return USERBPF_PICK(jslt);
    default: return USERBPF_PICK(jsle);  // BPF_JSLE
  }
}
#undef USERBPF_PICK

// le<N> converts to little endian, be<N> to big endian, bswap<N> always swaps; each also truncates
// to N bits. On a little-endian host le is a truncation, on a big-endian host be is.
Op endian_op(const Insn& insn) {
  const bool swap_always = isa::is_alu64(insn.opcode);
  const bool to_be = BPF_SRC(insn.opcode) == BPF_TO_BE;
  const bool host_le = std::endian::native == std::endian::little;
  const bool swaps = swap_always || (to_be == host_le);
  switch (insn.width) {
    case 16: return swaps ? Op::swap16 : Op::trunc16;
    case 32: return swaps ? Op::swap32 : Op::trunc32;
    default: return swaps ? Op::swap64 : Op::nop;
  }
}

Op sized(uint8_t bytes, Op op8, Op op16, Op op32, Op op64) {
  switch (bytes) {
    case 1: return op8;
    case 2: return op16;
    case 4: return op32;
    default: return op64;
  }
}

Op atomic_op(const Insn& insn) {
  const bool is64 = insn.width == 8;
  switch (insn.imm) {
    case BPF_ADD: return is64 ? Op::atomic_add64 : Op::atomic_add32;
    case BPF_OR: return is64 ? Op::atomic_bor64 : Op::atomic_bor32;
    case BPF_AND: return is64 ? Op::atomic_band64 : Op::atomic_band32;
    case BPF_XOR: return is64 ? Op::atomic_bxor64 : Op::atomic_bxor32;
    case BPF_ADD | BPF_FETCH: return is64 ? Op::fetch_add64 : Op::fetch_add32;
    case BPF_OR | BPF_FETCH: return is64 ? Op::fetch_bor64 : Op::fetch_bor32;
    case BPF_AND | BPF_FETCH: return is64 ? Op::fetch_band64 : Op::fetch_band32;
    case BPF_XOR | BPF_FETCH: return is64 ? Op::fetch_bxor64 : Op::fetch_bxor32;
    case BPF_XCHG: return is64 ? Op::xchg64 : Op::xchg32;
    case BPF_CMPXCHG: return is64 ? Op::cmpxchg64 : Op::cmpxchg32;
    case BPF_LOAD_ACQ:
      return sized(insn.width, Op::load_acq8, Op::load_acq16, Op::load_acq32, Op::load_acq64);
    default:  // BPF_STORE_REL
      return sized(insn.width, Op::store_rel8, Op::store_rel16, Op::store_rel32, Op::store_rel64);
  }
}

const char* pseudo_name(uint8_t src) {
  switch (src) {
    case BPF_PSEUDO_MAP_FD: return "BPF_PSEUDO_MAP_FD";
    case BPF_PSEUDO_MAP_VALUE: return "BPF_PSEUDO_MAP_VALUE";
    case BPF_PSEUDO_BTF_ID: return "BPF_PSEUDO_BTF_ID";
    case BPF_PSEUDO_MAP_IDX: return "BPF_PSEUDO_MAP_IDX";
    case BPF_PSEUDO_MAP_IDX_VALUE: return "BPF_PSEUDO_MAP_IDX_VALUE";
    default: return "pseudo";
  }
}

// libbpf's marker for an unresolvable CO-RE relocation (relo_core.c: call 0xbad2310).
constexpr uint32_t kCorePoisonHelperId = 0xbad2310;

std::string helper_label(uint32_t id) {
  const char* name = isa::helper_name(id);
  std::string label = "helper " + std::to_string(id);
  if (name) label += std::string(" (bpf_") + name + ")";
  return label;
}

}  // namespace

Result<Translation> translate(const isa::Program& program, const HelperTable& helpers,
                              const LoadOptions& options) {
  const size_t n = program.size();
  Translation out;
  out.slots.resize(n + 1);
  out.function_entry.assign(n, false);

  for (size_t i = 0; i < n; ++i) {
    const Insn& insn = program.insns[i];
    TranslatedSlot& s = out.slots[i];
    s.dst = insn.dst;
    s.src = insn.src;
    s.off = insn.off;
    s.imm = insn.imm;
    const int64_t rel = static_cast<int64_t>(insn.target) - static_cast<int64_t>(i) - 1;

    switch (insn.kind) {
      case Kind::alu: s.op = alu_op(insn); break;
      case Kind::endian: s.op = endian_op(insn); break;
      case Kind::jump:
        s.op = Op::ja;
        s.imm = static_cast<int32_t>(rel);
        break;
      case Kind::jump_cond:
        s.op = jump_op(insn);
        s.off = static_cast<int16_t>(rel);
        break;
      case Kind::may_goto:
        s.op = Op::may_goto;
        s.off = static_cast<int16_t>(rel);
        break;
      case Kind::call:
        if (insn.call == isa::CallKind::kfunc)
          return load_error(
              Errc::unsupported, i,
              "kfunc calls are not supported (btf_id " + std::to_string(insn.imm) + ")");
        if (insn.call == isa::CallKind::local) {
          s.op = Op::call_local;
          s.imm = static_cast<int32_t>(rel);
        } else {
          const uint32_t id = static_cast<uint32_t>(insn.imm);
          if (id == kCorePoisonHelperId) {  // the object loader poisoned this CO-RE relocation
            s.op = Op::core_poisoned;
            break;
          }
          const Helper* helper = helpers.find(id);
          if (!helper)
            return load_error(Errc::unsupported, i,
                              "unknown helper: " + helper_label(id) + " is not available");
          s.op = Op::call_helper;
          s.imm = static_cast<int32_t>(out.helpers.size());
          out.helpers.push_back(helper->fn);
          out.helper_ids.push_back(id);
        }
        break;
      case Kind::exit: s.op = Op::exit; break;
      case Kind::load:
        if (BPF_MODE(insn.opcode) == BPF_MEMSX)
          s.op = sized(insn.width, Op::ldxsx8, Op::ldxsx16, Op::ldxsx32, Op::ldx64);
        else
          s.op = sized(insn.width, Op::ldx8, Op::ldx16, Op::ldx32, Op::ldx64);
        break;
      case Kind::store_imm: s.op = sized(insn.width, Op::st8, Op::st16, Op::st32, Op::st64); break;
      case Kind::store_reg:
        s.op = sized(insn.width, Op::stx8, Op::stx16, Op::stx32, Op::stx64);
        break;
      case Kind::atomic: s.op = atomic_op(insn); break;
      case Kind::packet_load:
        if (BPF_MODE(insn.opcode) == BPF_ABS)
          s.op = sized(insn.width, Op::ld_abs8, Op::ld_abs16, Op::ld_abs32, Op::ld_abs32);
        else
          s.op = sized(insn.width, Op::ld_ind8, Op::ld_ind16, Op::ld_ind32, Op::ld_ind32);
        break;
      case Kind::lddw: {
        s.op = Op::lddw;
        uint64_t value = static_cast<uint64_t>(insn.imm64);
        if (insn.src == BPF_PSEUDO_FUNC) {
          const int64_t target = static_cast<int64_t>(i) + insn.imm + 1;
          if (target < 0 || target >= static_cast<int64_t>(n) ||
              program.insns[target].is_lddw_tail())
            return load_error(Errc::decode, i,
                              "BPF_PSEUDO_FUNC lddw points outside the program or into an lddw "
                              "(target insn " +
                                  std::to_string(target) + ")");
          out.function_entry[target] = true;
          value = kFunctionHandleTag | static_cast<uint64_t>(target);
        } else if (insn.src != 0) {
          if (!options.resolve_lddw)
            return load_error(Errc::unsupported, i,
                              std::string("lddw ") + pseudo_name(insn.src) +
                                  " needs a resolver (no maps or BTF are attached)");
          Result<uint64_t> resolved = options.resolve_lddw(insn, i);
          if (!resolved) {
            Error error = resolved.take_error();
            if (error.where.insn < 0) error.where.insn = static_cast<int64_t>(i);
            return error;
          }
          value = *resolved;
        }
        TranslatedSlot& tail = out.slots[i + 1];
        tail.op = Op::lddw_tail;
        tail.value = value;
        ++i;
        break;
      }
      case Kind::invalid:
        // Only lddw tails have kind invalid, and the lddw case skips them.
        s.op = Op::lddw_tail;
        break;
    }
  }
  out.slots[n].op = Op::fell_off;
  return out;
}

std::vector<Slot> bind(const std::vector<TranslatedSlot>& slots, const void* const* handlers) {
  std::vector<Slot> code(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const TranslatedSlot& t = slots[i];
    Slot& s = code[i];
    if (t.op == Op::lddw_tail)
      s.value = t.value;
    else
      s.handler = handlers[static_cast<size_t>(t.op)];
    s.dst = t.dst;
    s.src = t.src;
    s.off = t.off;
    s.imm = t.imm;
  }
  return code;
}

}  // namespace userbpf::vm::detail
