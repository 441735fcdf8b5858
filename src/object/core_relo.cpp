// CO-RE relocation with libbpf's semantics (tools/lib/bpf/relo_core.c); see core_relo.hpp.
// Relocation values, candidate search and instruction patching live here; access specs in
// core_spec.cpp, type relations in core_btf.cpp. All BTF access goes through libbpf's btf.h API:
// userbpf has no second BTF parser.
#include "object/core_relo.hpp"

#include <bpf/btf.h>

#include <climits>
#include <optional>
#include <string>

#include "isa/opcodes.hpp"
#include "object/core_btf.hpp"
#include "object/core_spec.hpp"

namespace userbpf::object {
namespace {

using namespace core;

const char* kind_name(bpf_core_relo_kind kind) {
  switch (kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET: return "byte_off";
    case BPF_CORE_FIELD_BYTE_SIZE: return "byte_sz";
    case BPF_CORE_FIELD_EXISTS: return "field_exists";
    case BPF_CORE_FIELD_SIGNED: return "signed";
    case BPF_CORE_FIELD_LSHIFT_U64: return "lshift_u64";
    case BPF_CORE_FIELD_RSHIFT_U64: return "rshift_u64";
    case BPF_CORE_TYPE_ID_LOCAL: return "local_type_id";
    case BPF_CORE_TYPE_ID_TARGET: return "target_type_id";
    case BPF_CORE_TYPE_EXISTS: return "type_exists";
    case BPF_CORE_TYPE_MATCHES: return "type_matches";
    case BPF_CORE_TYPE_SIZE: return "type_size";
    case BPF_CORE_ENUMVAL_EXISTS: return "enumval_exists";
    case BPF_CORE_ENUMVAL_VALUE: return "enumval_value";
  }
  return "unknown";
}

// The value of a field relocation for one side (bpf_core_calc_field_relo); spec null = not found.
std::optional<Failure> calc_field(const CoreRelo& relo, const Spec* spec, uint64_t& val,
                                  uint32_t& field_sz, uint32_t& type_id, bool* validate) {
  field_sz = 0;
  if (relo.kind == BPF_CORE_FIELD_EXISTS) {
    val = spec ? 1 : 0;
    return std::nullopt;
  }
  if (!spec) return Failure{Errc::not_found, "field not found", true};

  const Accessor& acc = spec->acc.back();
  if (!acc.name) {  // the access ends in an array element
    const int64_t sz = btf__resolve_size(spec->btf, acc.type_id);
    if (sz < 0) return fail(Errc::invalid_argument, "array element has no size");
    if (relo.kind == BPF_CORE_FIELD_BYTE_OFFSET) {
      val = spec->bit_offset / 8;
      field_sz = static_cast<uint32_t>(sz);
      type_id = acc.type_id;
    } else if (relo.kind == BPF_CORE_FIELD_BYTE_SIZE) {
      val = static_cast<uint64_t>(sz);
    } else {
      return fail(Errc::invalid_argument,
                  std::string(kind_name(relo.kind)) + " can't be applied to an array access");
    }
    if (validate) *validate = true;
    return std::nullopt;
  }

  const btf_type* t = btf__type_by_id(spec->btf, acc.type_id);
  const btf_member* m = btf_members(t) + acc.idx;
  uint32_t field_type_id = 0;
  const btf_type* mt = skip_mods_and_typedefs(spec->btf, m->type, &field_type_id);
  if (!mt) return fail(Errc::invalid_argument, "broken field type");
  const uint32_t bit_off = spec->bit_offset;
  uint32_t bit_sz = btf_member_bitfield_size(t, acc.idx);
  const bool bitfield = bit_sz > 0;
  uint32_t byte_sz = 0, byte_off = 0;
  if (bitfield) {
    // The smallest naturally aligned load of at least the field's type size that covers it.
    byte_sz = mt->size;
    if (byte_sz == 0) return fail(Errc::invalid_argument, "bitfield of a sizeless type");
    byte_off = bit_off / 8 / byte_sz * byte_sz;
    while (bit_off + bit_sz - byte_off * 8 > byte_sz * 8) {
      if (byte_sz >= 8) return fail(Errc::invalid_argument, "bitfield can't be read with 64 bits");
      byte_sz *= 2;
      byte_off = bit_off / 8 / byte_sz * byte_sz;
    }
  } else {
    const int64_t sz = btf__resolve_size(spec->btf, field_type_id);
    if (sz < 0) return fail(Errc::invalid_argument, "field has no size");
    byte_sz = static_cast<uint32_t>(sz);
    byte_off = bit_off / 8;
    bit_sz = byte_sz * 8;
  }
  // Bitfield offsets/sizes may legitimately differ from what the compiler chose: only signedness
  // and the right shift are checked then.
  if (validate) *validate = !bitfield;

  switch (relo.kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET:
      val = byte_off;
      if (!bitfield) {
        field_sz = byte_sz;
        type_id = field_type_id;
      }
      break;
    case BPF_CORE_FIELD_BYTE_SIZE: val = byte_sz; break;
    case BPF_CORE_FIELD_SIGNED:
      val = (btf_is_any_enum(mt) && btf_kflag(mt)) ||
            (btf_is_int(mt) && (btf_int_encoding(mt) & BTF_INT_SIGNED));
      if (validate) *validate = true;
      break;
    case BPF_CORE_FIELD_LSHIFT_U64: val = 64 - (bit_off + bit_sz - byte_off * 8); break;
    case BPF_CORE_FIELD_RSHIFT_U64:
      val = 64 - bit_sz;
      if (validate) *validate = true;
      break;
    default: return fail(Errc::unsupported, "unsupported field relocation");
  }
  return std::nullopt;
}

std::optional<Failure> calc_type(const CoreRelo& relo, const Spec* spec, uint64_t& val,
                                 bool* validate) {
  if (validate) *validate = true;
  if (!spec) {  // type relocations resolve to zero when the type is missing
    val = 0;
    return std::nullopt;
  }
  switch (relo.kind) {
    case BPF_CORE_TYPE_ID_TARGET:
      val = spec->root_type_id;
      if (validate) *validate = false;  // ids change during linking: not worth enforcing
      break;
    case BPF_CORE_TYPE_EXISTS:
    case BPF_CORE_TYPE_MATCHES: val = 1; break;
    case BPF_CORE_TYPE_SIZE: {
      const int64_t sz = btf__resolve_size(spec->btf, spec->root_type_id);
      if (sz < 0) return fail(Errc::invalid_argument, "type has no size");
      val = static_cast<uint64_t>(sz);
      break;
    }
    default: return fail(Errc::unsupported, "unsupported type relocation");
  }
  return std::nullopt;
}

std::optional<Failure> calc_enumval(const CoreRelo& relo, const Spec* spec, uint64_t& val) {
  if (relo.kind == BPF_CORE_ENUMVAL_EXISTS) {
    val = spec ? 1 : 0;
    return std::nullopt;
  }
  if (!spec) return Failure{Errc::not_found, "enum value not found", true};
  const btf_type* t = btf__type_by_id(spec->btf, spec->acc[0].type_id);
  const uint32_t i = spec->acc[0].idx;
  // A 32-bit enumerator is an s32 widened with its sign, as libbpf assigns it to a u64.
  val = btf_is_enum(t) ? static_cast<uint64_t>(static_cast<int64_t>(btf_enum(t)[i].val))
                       : btf_enum64_value(btf_enum64(t) + i);
  return std::nullopt;
}

// Local and target values of a relocation (bpf_core_calc_relo); targ null = no match.
std::optional<Failure> calc_relo(const CoreRelo& relo, const Spec& local, const Spec* targ,
                                 CoreReloResult& res) {
  res = CoreReloResult{};
  std::optional<Failure> f;
  if (is_field_kind(relo.kind)) {
    f = calc_field(relo, &local, res.orig_val, res.orig_size, res.orig_type_id, &res.validate);
    if (!f) f = calc_field(relo, targ, res.new_val, res.new_size, res.new_type_id, nullptr);
    if (!f && res.orig_size != res.new_size) {
      // A load's size may follow the field only where zero extension keeps the value: pointers
      // (32-bit kernels) and unsigned integers.
      const btf_type* ot = btf__type_by_id(local.btf, res.orig_type_id);
      const btf_type* nt = btf__type_by_id(targ->btf, res.new_type_id);
      const bool ptrs = ot && nt && btf_is_ptr(ot) && btf_is_ptr(nt);
      const bool uints = ot && nt && btf_is_int(ot) && btf_is_int(nt) &&
                         btf_int_encoding(ot) != BTF_INT_SIGNED &&
                         btf_int_encoding(nt) != BTF_INT_SIGNED;
      res.fail_memsz_adjust = !ptrs && !uints;
    }
  } else if (is_type_kind(relo.kind)) {
    f = calc_type(relo, &local, res.orig_val, &res.validate);
    if (!f) f = calc_type(relo, targ, res.new_val, nullptr);
  } else {
    f = calc_enumval(relo, &local, res.orig_val);
    if (!f) f = calc_enumval(relo, targ, res.new_val);
  }
  if (f && f->poison_request) {
    res.poison = true;
    return std::nullopt;
  }
  return f;
}

// Target types whose kind fits the local root and whose essential name equals the local one.
std::vector<uint32_t> find_candidates(const ::btf* lb, uint32_t local_id, const ::btf* tb) {
  std::vector<uint32_t> out;
  const btf_type* lt = btf__type_by_id(lb, local_id);
  const std::string_view ln = name_of(lb, lt->name_off);
  const uint32_t n = btf__type_cnt(tb);
  for (uint32_t i = 1; i < n; ++i) {
    const btf_type* t = btf__type_by_id(tb, i);
    if (!t || !btf_kind_core_compat(t, lt)) continue;
    const std::string_view tn = name_of(tb, t->name_off);
    if (tn.empty() || !names_equal_essentially(ln, tn)) continue;
    out.push_back(i);
  }
  return out;
}

uint64_t widen(int64_t v) {
  return static_cast<uint64_t>(v);
}

int access_bytes(uint8_t code) {
  return isa::size_bytes(BPF_SIZE(code));
}

std::optional<uint8_t> bpf_size_of(uint32_t bytes) {
  switch (bytes) {
    case 1: return BPF_B;
    case 2: return BPF_H;
    case 4: return BPF_W;
    case 8: return BPF_DW;
    default: return std::nullopt;
  }
}

void poison(std::span<isa::RawInsn> insns, size_t index, bool lddw) {
  for (size_t i = index; i < index + (lddw ? 2 : 1); ++i)
    insns[i] = isa::make_raw(BPF_JMP | BPF_CALL, 0, 0, 0, kCorePoisonImm);
}

}  // namespace

size_t core_essential_name_len(std::string_view name) {
  const size_t n = name.size();
  for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;) {
    if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' &&
        name[i + 4] != '_')
      return i + 1;
  }
  return n;
}

Result<CoreReloResult> resolve_core_relo(const ::btf* local, const CoreRelo& relo,
                                         const ::btf* target, CoreCandidateCache& cache) {
  const std::string what = std::string("CO-RE ") + kind_name(relo.kind) + " relocation of type " +
                           std::to_string(relo.type_id) + " '" + relo.access + "': ";
  if (!local) return make_error(Errc::invalid_argument, what + "the object has no BTF");
  const btf_type* local_type = btf__type_by_id(local, relo.type_id);
  if (!local_type || relo.type_id == 0)
    return make_error(Errc::invalid_argument, what + "no such type in the object's BTF");
  const std::string_view local_name = name_of(local, local_type->name_off);

  Spec local_spec;
  if (auto f = parse_spec(local, relo, local_spec)) return make_error(f->code, what + f->why);

  if (relo.kind == BPF_CORE_TYPE_ID_LOCAL) {
    CoreReloResult r;
    r.validate = false;  // the id may have changed when objects were linked
    r.orig_val = r.new_val = local_spec.root_type_id;
    return r;
  }
  if (local_name.empty())
    return make_error(Errc::unsupported, what + "anonymous types can't be relocated");
  if (!target) return make_error(Errc::invalid_argument, what + "no target BTF");

  auto it = cache.find(relo.type_id);
  if (it == cache.end())
    it = cache.emplace(relo.type_id, find_candidates(local, relo.type_id, target)).first;
  std::vector<uint32_t>& cands = it->second;

  CoreReloResult result;
  Spec cand_spec, targ_spec;
  std::vector<uint32_t> matched;
  for (uint32_t cand : cands) {
    const int m = match_spec(local_spec, target, cand, cand_spec);
    if (m == -2)
      return make_error(Errc::invalid_argument,
                        what + "candidate " + std::to_string(cand) + " nests too deep");
    if (m < 0)
      return make_error(Errc::invalid_argument,
                        what + "broken target BTF at candidate " + std::to_string(cand));
    if (m == 0) continue;
    CoreReloResult cand_res;
    if (auto f = calc_relo(relo, local_spec, &cand_spec, cand_res))
      return make_error(f->code, what + f->why);
    if (matched.empty()) {
      result = cand_res;
      targ_spec = cand_spec;
    } else if (cand_spec.bit_offset != targ_spec.bit_offset) {
      return make_error(Errc::invalid_argument,
                        what + "field offset ambiguity between candidates " +
                            std::to_string(matched.front()) + " and " + std::to_string(cand) +
                            ": bit " + std::to_string(targ_spec.bit_offset) +
                            " != " + std::to_string(cand_spec.bit_offset));
    } else if (cand_res.poison != result.poison || cand_res.new_val != result.new_val) {
      return make_error(Errc::invalid_argument,
                        what + "relocation decision ambiguity between candidates " +
                            std::to_string(matched.front()) + " and " + std::to_string(cand) +
                            ": " + std::to_string(result.new_val) +
                            " != " + std::to_string(cand_res.new_val));
    }
    matched.push_back(cand);
  }
  if (!matched.empty()) {
    cands = std::move(matched);  // later relocations of this root type see only these
    return result;
  }
  // Nothing matched: existence checks give 0, everything else poisons its instruction.
  if (auto f = calc_relo(relo, local_spec, nullptr, result))
    return make_error(f->code, what + f->why);
  return result;
}

Status patch_core_insn(std::span<isa::RawInsn> insns, const CoreRelo& relo,
                       const CoreReloResult& res) {
  const Location at{"", "", static_cast<int64_t>(relo.insn), -1};
  if (relo.insn >= insns.size())
    return make_error(Errc::invalid_argument,
                      "CO-RE relocation of instruction " + std::to_string(relo.insn) +
                          " beyond the program's " + std::to_string(insns.size()),
                      at);
  isa::RawInsn& insn = insns[relo.insn];
  const isa::Kind kind = isa::classify(insn.code).kind;
  const std::string head = std::string("CO-RE ") + kind_name(relo.kind) + ": ";
  switch (kind) {
    case isa::Kind::alu:
    case isa::Kind::endian: {
      if (BPF_SRC(insn.code) != BPF_K) break;
      if (res.poison) {
        poison(insns, relo.insn, false);
        return ok_status();
      }
      if (res.validate && widen(insn.imm) != res.orig_val)
        return make_error(Errc::invalid_argument,
                          head + "instruction holds imm " + std::to_string(insn.imm) +
                              ", expected " + std::to_string(res.orig_val),
                          at);
      insn.imm = static_cast<int32_t>(res.new_val);
      return ok_status();
    }
    case isa::Kind::load:
    case isa::Kind::store_reg:
    case isa::Kind::store_imm:
    case isa::Kind::atomic: {
      if (res.poison) {
        poison(insns, relo.insn, false);
        return ok_status();
      }
      if (res.validate && widen(insn.off) != res.orig_val)
        return make_error(Errc::invalid_argument,
                          head + "instruction holds offset " + std::to_string(insn.off) +
                              ", expected " + std::to_string(res.orig_val),
                          at);
      if (res.new_val > SHRT_MAX)
        return make_error(Errc::invalid_argument,
                          head + "offset " + std::to_string(res.new_val) + " does not fit", at);
      if (res.fail_memsz_adjust) {
        // The field changed size and its type makes a narrower/wider access wrong.
        poison(insns, relo.insn, false);
        return ok_status();
      }
      insn.off = static_cast<int16_t>(res.new_val);
      if (res.new_size != res.orig_size) {
        if (access_bytes(insn.code) != static_cast<int>(res.orig_size))
          return make_error(Errc::invalid_argument,
                            head + "access of " + std::to_string(access_bytes(insn.code)) +
                                " bytes, expected " + std::to_string(res.orig_size),
                            at);
        const auto size = bpf_size_of(res.new_size);
        if (!size)
          return make_error(Errc::invalid_argument,
                            head + "field of " + std::to_string(res.new_size) +
                                " bytes can't be accessed in one instruction",
                            at);
        insn.code = static_cast<uint8_t>(BPF_MODE(insn.code) | *size | BPF_CLASS(insn.code));
      }
      return ok_status();
    }
    case isa::Kind::lddw: {
      if (relo.insn + 1 >= insns.size())
        return make_error(Errc::invalid_argument, head + "lddw is truncated", at);
      isa::RawInsn& next = insns[relo.insn + 1];
      if (insn.src_reg != 0 || insn.off != 0 || next.code != 0 || next.dst_reg != 0 ||
          next.src_reg != 0 || next.off != 0)
        return make_error(Errc::invalid_argument, head + "lddw has an unexpected form", at);
      if (res.poison) {
        poison(insns, relo.insn, true);
        return ok_status();
      }
      const uint64_t imm = static_cast<uint32_t>(insn.imm) |
                           (static_cast<uint64_t>(static_cast<uint32_t>(next.imm)) << 32);
      if (res.validate && imm != res.orig_val)
        return make_error(Errc::invalid_argument,
                          head + "lddw holds " + std::to_string(imm) + ", expected " +
                              std::to_string(res.orig_val),
                          at);
      insn.imm = static_cast<int32_t>(static_cast<uint32_t>(res.new_val));
      next.imm = static_cast<int32_t>(static_cast<uint32_t>(res.new_val >> 32));
      return ok_status();
    }
    default: break;
  }
  return make_error(
      Errc::invalid_argument,
      head + "instruction with opcode " + std::to_string(insn.code) + " can't be relocated", at);
}

Status apply_core(Object& obj, const ::btf* target) {
  CoreCandidateCache cache;
  for (Program& prog : obj.programs) {
    for (size_t i = 0; i < prog.core_relos.size(); ++i) {
      const CoreRelo& relo = prog.core_relos[i];
      const Location at{obj.path, prog.section, static_cast<int64_t>(relo.insn), -1};
      const std::string who = "prog '" + prog.name + "': relo #" + std::to_string(i) + ": ";
      auto res = resolve_core_relo(obj.btf.get(), relo, target, cache);
      if (!res.ok()) {
        Error e = res.take_error();
        e.message = who + e.message;
        e.where = at;
        return e;
      }
      Status st = patch_core_insn(prog.insns, relo, *res);
      if (!st.ok()) {
        Error e = st.take_error();
        e.message = who + e.message;
        e.where = at;
        return e;
      }
    }
  }
  return ok_status();
}

}  // namespace userbpf::object
