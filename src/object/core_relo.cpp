// CO-RE relocation with libbpf's semantics (tools/lib/bpf/relo_core.c); see core_relo.hpp.
// All BTF access goes through libbpf's btf.h API: userbpf has no second BTF parser.
#include "object/core_relo.hpp"

#include <bpf/btf.h>

#include <climits>
#include <cstring>
#include <optional>
#include <string>

#include "isa/opcodes.hpp"

namespace userbpf::object {
namespace {

constexpr size_t kMaxSpecLen = 64;  // libbpf's BPF_CORE_SPEC_MAX_LEN
constexpr int kMaxTypeDepth = 32;   // recursion/typedef-chain bound, as libbpf's

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

bool is_field_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_FIELD_BYTE_OFFSET || k == BPF_CORE_FIELD_BYTE_SIZE ||
         k == BPF_CORE_FIELD_EXISTS || k == BPF_CORE_FIELD_SIGNED ||
         k == BPF_CORE_FIELD_LSHIFT_U64 || k == BPF_CORE_FIELD_RSHIFT_U64;
}
bool is_type_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_TYPE_ID_LOCAL || k == BPF_CORE_TYPE_ID_TARGET || k == BPF_CORE_TYPE_EXISTS ||
         k == BPF_CORE_TYPE_MATCHES || k == BPF_CORE_TYPE_SIZE;
}
bool is_enumval_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_ENUMVAL_VALUE;
}

bool empty_name(const char* s) {
  return s == nullptr || *s == '\0';
}

std::string_view name_of(const ::btf* b, uint32_t name_off) {
  const char* s = btf__name_by_offset(b, name_off);
  return s ? std::string_view(s) : std::string_view();
}

// Follows typedefs and modifiers (const, volatile, restrict, type tags) to the type they name.
// nullptr for a missing id or a chain longer than any real one (a cycle in hostile BTF).
const btf_type* skip_mods_and_typedefs(const ::btf* b, uint32_t id, uint32_t* out_id) {
  const btf_type* t = btf__type_by_id(b, id);
  for (int depth = 0; t && depth < kMaxTypeDepth; ++depth) {
    const uint16_t k = btf_kind(t);
    if (k != BTF_KIND_TYPEDEF && k != BTF_KIND_CONST && k != BTF_KIND_VOLATILE &&
        k != BTF_KIND_RESTRICT && k != BTF_KIND_TYPE_TAG) {
      if (out_id) *out_id = id;
      return t;
    }
    id = t->type;
    t = btf__type_by_id(b, id);
  }
  return nullptr;
}

bool names_equal_essentially(std::string_view a, std::string_view b) {
  const size_t la = core_essential_name_len(a), lb = core_essential_name_len(b);
  return la == lb && a.substr(0, la) == b.substr(0, lb);
}

uint32_t enumerator_name_off(const btf_type* t, uint32_t i) {
  return btf_is_enum(t) ? btf_enum(t)[i].name_off : btf_enum64(t)[i].name_off;
}

// One step of a field access: a named member of a struct/union (name set) or an array element
// (name empty; for the first step, the index applied to the root pointer).
struct Accessor {
  uint32_t type_id = 0;  // the struct/union holding the member, or the element type
  uint32_t idx = 0;
  const char* name = nullptr;
};

// libbpf's bpf_core_spec: the high-level accessors (named fields and array indexes), the raw
// access string indexes, and the bit offset they add up to.
struct Spec {
  const ::btf* btf = nullptr;
  uint32_t root_type_id = 0;
  bpf_core_relo_kind kind = BPF_CORE_FIELD_BYTE_OFFSET;
  std::vector<Accessor> acc;
  std::vector<uint32_t> raw;
  uint32_t bit_offset = 0;
};

// A negative errno-style code with a reason, for the internal steps; turned into an Error at the
// boundary. poison_request plays libbpf's -EUCLEAN.
struct Failure {
  Errc code = Errc::invalid_argument;
  std::string why;
  bool poison_request = false;
};

Failure fail(Errc code, std::string why) {
  return Failure{code, std::move(why), false};
}

// A flexible array: the last member of its struct, declared with zero elements.
bool is_flex_array(const ::btf* b, const Accessor* enclosing, const struct btf_array* arr) {
  if (!enclosing || !enclosing->name || arr->nelems > 0) return false;
  const btf_type* t = btf__type_by_id(b, enclosing->type_id);
  return t && enclosing->idx + 1 == btf_vlen(t);
}

int64_t resolve_size(const ::btf* b, uint32_t id) {
  return btf__resolve_size(b, id);
}

// Parses the access string against the local BTF (bpf_core_parse_spec).
std::optional<Failure> parse_spec(const ::btf* b, const CoreRelo& relo, Spec& spec) {
  spec = Spec{};
  spec.btf = b;
  spec.root_type_id = relo.type_id;
  spec.kind = relo.kind;
  const std::string& s = relo.access;
  if (s.empty() || s[0] == ':') return fail(Errc::invalid_argument, "empty access string");
  if (is_type_kind(relo.kind)) {
    if (s != "0") return fail(Errc::invalid_argument, "type relocation with access '" + s + "'");
    return std::nullopt;
  }
  for (size_t i = 0; i < s.size();) {
    if (s[i] == ':') ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9')
      return fail(Errc::invalid_argument, "malformed access string '" + s + "'");
    uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
      if (v > INT_MAX) return fail(Errc::invalid_argument, "access index too large in '" + s + "'");
    }
    if (spec.raw.size() == kMaxSpecLen)
      return fail(Errc::invalid_argument, "access string '" + s + "' nests too deep");
    spec.raw.push_back(static_cast<uint32_t>(v));
  }

  uint32_t id = 0;
  const btf_type* t = skip_mods_and_typedefs(b, relo.type_id, &id);
  if (!t) return fail(Errc::invalid_argument, "root type " + std::to_string(relo.type_id));
  uint32_t idx = spec.raw[0];
  spec.acc.push_back({id, idx, nullptr});

  if (is_enumval_kind(relo.kind)) {
    if (!btf_is_any_enum(t) || spec.raw.size() > 1 || idx >= btf_vlen(t))
      return fail(Errc::invalid_argument, "enum value access '" + s + "' does not name a value");
    spec.acc[0].name = btf__name_by_offset(b, enumerator_name_off(t, idx));
    return std::nullopt;
  }
  if (!is_field_kind(relo.kind))
    return fail(Errc::unsupported,
                "unknown CO-RE relocation kind " + std::to_string(static_cast<int>(relo.kind)));

  int64_t sz = resolve_size(b, id);
  if (sz < 0) return fail(Errc::invalid_argument, "root type has no size");
  spec.bit_offset = static_cast<uint32_t>(idx * sz * 8);

  for (size_t i = 1; i < spec.raw.size(); ++i) {
    t = skip_mods_and_typedefs(b, id, &id);
    if (!t) return fail(Errc::invalid_argument, "broken type chain at access " + std::to_string(i));
    idx = spec.raw[i];
    if (btf_is_composite(t)) {
      if (idx >= btf_vlen(t))
        return fail(Errc::invalid_argument,
                    "member index " + std::to_string(idx) + " out of range in '" + s + "'");
      spec.bit_offset += btf_member_bit_offset(t, idx);
      const btf_member* m = btf_members(t) + idx;
      if (m->name_off) {
        const char* name = btf__name_by_offset(b, m->name_off);
        if (empty_name(name)) return fail(Errc::invalid_argument, "member without a name");
        spec.acc.push_back({id, idx, name});
      }
      id = m->type;
    } else if (btf_is_array(t)) {
      const struct btf_array* a = btf_array(t);
      if (!skip_mods_and_typedefs(b, a->type, &id))
        return fail(Errc::invalid_argument, "broken array element type");
      const bool flex = is_flex_array(b, &spec.acc.back(), a);
      if (!flex && idx >= a->nelems)
        return fail(Errc::invalid_argument,
                    "array index " + std::to_string(idx) + " out of bounds in '" + s + "'");
      spec.acc.push_back({id, idx, nullptr});
      sz = resolve_size(b, id);
      if (sz < 0) return fail(Errc::invalid_argument, "array element has no size");
      spec.bit_offset += static_cast<uint32_t>(idx * sz * 8);
    } else {
      return fail(Errc::invalid_argument, "access '" + s + "' step " + std::to_string(i) +
                                              " enters type " + std::to_string(id) +
                                              ", neither struct, union nor array");
    }
  }
  return std::nullopt;
}

// Field compatibility for access relocations (bpf_core_fields_are_compat): 1 compatible, 0 not,
// -1 broken BTF.
int fields_compatible(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid) {
  for (int depth = 0; depth < kMaxTypeDepth; ++depth) {
    const btf_type* lt = skip_mods_and_typedefs(lb, lid, &lid);
    const btf_type* tt = skip_mods_and_typedefs(tb, tid, &tid);
    if (!lt || !tt) return -1;
    if (btf_is_composite(lt) && btf_is_composite(tt)) return 1;
    if (!btf_kind_core_compat(lt, tt)) return 0;
    switch (btf_kind(lt)) {
      case BTF_KIND_PTR:
      case BTF_KIND_FLOAT: return 1;
      case BTF_KIND_FWD:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: {
        const std::string_view ln = name_of(lb, lt->name_off), tn = name_of(tb, tt->name_off);
        const size_t ll = core_essential_name_len(ln), tl = core_essential_name_len(tn);
        return ll == 0 || tl == 0 || (ll == tl && ln.substr(0, ll) == tn.substr(0, tl));
      }
      case BTF_KIND_INT: return btf_int_offset(lt) == 0 && btf_int_offset(tt) == 0;
      case BTF_KIND_ARRAY:
        lid = btf_array(lt)->type;
        tid = btf_array(tt)->type;
        continue;
      default: return 0;
    }
  }
  return -1;
}

// Type compatibility for TYPE_* relocations (__bpf_core_types_are_compat).
int types_compatible(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid, int level) {
  const btf_type* lt = btf__type_by_id(lb, lid);
  const btf_type* tt = btf__type_by_id(tb, tid);
  if (!lt || !tt) return -1;
  if (!btf_kind_core_compat(lt, tt)) return 0;
  for (int depth = 0; depth < kMaxTypeDepth; ++depth) {
    lt = skip_mods_and_typedefs(lb, lid, &lid);
    tt = skip_mods_and_typedefs(tb, tid, &tid);
    if (!lt || !tt) return -1;
    if (!btf_kind_core_compat(lt, tt)) return 0;
    switch (btf_kind(lt)) {
      case BTF_KIND_UNKN:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_FWD:
      case BTF_KIND_ENUM64: return 1;
      case BTF_KIND_INT: return btf_int_offset(lt) == 0 && btf_int_offset(tt) == 0;
      case BTF_KIND_PTR:
        lid = lt->type;
        tid = tt->type;
        continue;
      case BTF_KIND_ARRAY:
        lid = btf_array(lt)->type;
        tid = btf_array(tt)->type;
        continue;
      case BTF_KIND_FUNC_PROTO: {
        const uint16_t n = btf_vlen(lt);
        if (n != btf_vlen(tt)) return 0;
        const btf_param* lp = btf_params(lt);
        const btf_param* tp = btf_params(tt);
        for (uint16_t i = 0; i < n; ++i) {
          if (level <= 0) return -1;
          uint32_t la = 0, ta = 0;
          skip_mods_and_typedefs(lb, lp[i].type, &la);
          skip_mods_and_typedefs(tb, tp[i].type, &ta);
          const int r = types_compatible(lb, la, tb, ta, level - 1);
          if (r <= 0) return r;
        }
        skip_mods_and_typedefs(lb, lt->type, &lid);
        skip_mods_and_typedefs(tb, tt->type, &tid);
        continue;
      }
      default: return 0;
    }
  }
  return -1;
}

// Name match for TYPE_MATCHES (bpf_core_names_match): an anonymous target matches only an
// anonymous local; otherwise essential names must be equal.
bool names_match(const ::btf* lb, uint32_t loff, const ::btf* tb, uint32_t toff) {
  const std::string_view ln = name_of(lb, loff), tn = name_of(tb, toff);
  if (tn.empty()) return ln.empty();
  return names_equal_essentially(ln, tn);
}

int types_match(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid, bool behind_ptr,
                int level);

int enums_match(const ::btf* lb, const btf_type* lt, const ::btf* tb, const btf_type* tt) {
  if (lt->size != tt->size || btf_vlen(lt) > btf_vlen(tt)) return 0;
  for (uint16_t i = 0; i < btf_vlen(lt); ++i) {
    bool matched = false;
    for (uint16_t j = 0; j < btf_vlen(tt) && !matched; ++j)
      matched = names_match(lb, enumerator_name_off(lt, i), tb, enumerator_name_off(tt, j));
    if (!matched) return 0;
  }
  return 1;
}

int composites_match(const ::btf* lb, const btf_type* lt, const ::btf* tb, const btf_type* tt,
                     bool behind_ptr, int level) {
  if (btf_vlen(lt) > btf_vlen(tt)) return 0;
  const btf_member* lm = btf_members(lt);
  for (uint16_t i = 0; i < btf_vlen(lt); ++i) {
    bool matched = false;
    const btf_member* tm = btf_members(tt);
    for (uint16_t j = 0; j < btf_vlen(tt) && !matched; ++j) {
      if (!names_match(lb, lm[i].name_off, tb, tm[j].name_off)) continue;
      const int r = types_match(lb, lm[i].type, tb, tm[j].type, behind_ptr, level - 1);
      if (r < 0) return r;
      matched = r > 0;
    }
    if (!matched) return 0;
  }
  return 1;
}

// The stricter TYPE_MATCHES relation (__bpf_core_types_match).
int types_match(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid, bool behind_ptr,
                int level) {
  if (level <= 0) return -1;
  for (int depth = 0; depth < kMaxTypeDepth; ++depth) {
    const btf_type* lt = skip_mods_and_typedefs(lb, lid, &lid);
    const btf_type* tt = skip_mods_and_typedefs(tb, tid, &tid);
    if (!lt || !tt) return -1;
    if (!names_match(lb, lt->name_off, tb, tt->name_off)) return 0;
    const uint16_t lk = btf_kind(lt), tk = btf_kind(tt);
    switch (lk) {
      case BTF_KIND_UNKN: return lk == tk;
      case BTF_KIND_FWD: {
        const bool lf = btf_kflag(lt);
        if (lk == tk) return lf == btf_kflag(tt);
        if (!behind_ptr) return 0;
        // A forward declaration's kflag says union (1) or struct (0).
        return (tk == BTF_KIND_STRUCT && !lf) || (tk == BTF_KIND_UNION && lf);
      }
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        if (!btf_is_any_enum(tt)) return 0;
        return enums_match(lb, lt, tb, tt);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        if (behind_ptr) {
          if (lk == tk) return 1;
          if (tk != BTF_KIND_FWD) return 0;
          return (lk == BTF_KIND_UNION) == btf_kflag(tt);
        }
        if (lk != tk) return 0;
        return composites_match(lb, lt, tb, tt, behind_ptr, level);
      case BTF_KIND_INT:
        if (lk != tk) return 0;
        return lt->size == tt->size &&
               (btf_int_encoding(lt) & BTF_INT_SIGNED) == (btf_int_encoding(tt) & BTF_INT_SIGNED);
      case BTF_KIND_PTR:
        if (lk != tk) return 0;
        behind_ptr = true;
        lid = lt->type;
        tid = tt->type;
        continue;
      case BTF_KIND_ARRAY:
        if (lk != tk || btf_array(lt)->nelems != btf_array(tt)->nelems) return 0;
        lid = btf_array(lt)->type;
        tid = btf_array(tt)->type;
        continue;
      case BTF_KIND_FUNC_PROTO: {
        if (lk != tk || btf_vlen(lt) != btf_vlen(tt)) return 0;
        const btf_param* lp = btf_params(lt);
        const btf_param* tp = btf_params(tt);
        for (uint16_t i = 0; i < btf_vlen(lt); ++i) {
          const int r = types_match(lb, lp[i].type, tb, tp[i].type, behind_ptr, level - 1);
          if (r <= 0) return r;
        }
        lid = lt->type;
        tid = tt->type;
        continue;
      }
      default: return 0;
    }
  }
  return -1;
}

// Finds the target member named like the local accessor's member inside target composite
// `targ_id`, descending into anonymous members (bpf_core_match_member). Extends `spec` on success.
int match_member(const ::btf* lb, const Accessor& local_acc, const ::btf* tb, uint32_t targ_id,
                 Spec& spec, uint32_t& next_targ_id, int depth) {
  if (depth > kMaxTypeDepth) return -1;
  const btf_type* tt = skip_mods_and_typedefs(tb, targ_id, &targ_id);
  if (!tt) return -1;
  if (!btf_is_composite(tt)) return 0;
  const btf_type* lt = btf__type_by_id(lb, local_acc.type_id);
  const btf_member* lm = btf_members(lt) + local_acc.idx;
  const std::string_view local_name = name_of(lb, lm->name_off);

  const btf_member* m = btf_members(tt);
  for (uint16_t i = 0; i < btf_vlen(tt); ++i, ++m) {
    if (spec.raw.size() == kMaxSpecLen) return -2;  // nests too deep
    const uint32_t bit_offset = btf_member_bit_offset(tt, i);
    spec.bit_offset += bit_offset;  // speculate that this member is the one
    spec.raw.push_back(i);
    const char* targ_name = btf__name_by_offset(tb, m->name_off);
    if (empty_name(targ_name)) {
      const int found = match_member(lb, local_acc, tb, m->type, spec, next_targ_id, depth + 1);
      if (found) return found;
    } else if (local_name == targ_name) {
      spec.acc.push_back({targ_id, i, targ_name});
      next_targ_id = m->type;
      const int found = fields_compatible(lb, lm->type, tb, m->type);
      if (!found) spec.acc.pop_back();
      return found;
    }
    spec.bit_offset -= bit_offset;
    spec.raw.pop_back();
  }
  return 0;
}

// Matches the local spec against one candidate target type (bpf_core_spec_match): 1 matched,
// 0 not, negative on broken BTF.
int match_spec(const Spec& local, const ::btf* tb, uint32_t targ_id, Spec& targ) {
  targ = Spec{};
  targ.btf = tb;
  targ.root_type_id = targ_id;
  targ.kind = local.kind;
  if (is_type_kind(local.kind)) {
    if (local.kind == BPF_CORE_TYPE_MATCHES)
      return types_match(local.btf, local.root_type_id, tb, targ_id, false, kMaxTypeDepth);
    return types_compatible(local.btf, local.root_type_id, tb, targ_id, kMaxTypeDepth);
  }
  if (is_enumval_kind(local.kind)) {
    const btf_type* tt = skip_mods_and_typedefs(tb, targ_id, &targ_id);
    if (!tt || !btf_is_any_enum(tt)) return 0;
    const std::string_view want = local.acc[0].name ? local.acc[0].name : "";
    for (uint16_t i = 0; i < btf_vlen(tt); ++i) {
      const char* tn = btf__name_by_offset(tb, enumerator_name_off(tt, i));
      if (tn && names_equal_essentially(want, tn)) {
        targ.acc.push_back({targ_id, i, tn});
        targ.raw.push_back(i);
        return 1;
      }
    }
    return 0;
  }
  for (size_t i = 0; i < local.acc.size(); ++i) {
    const Accessor& la = local.acc[i];
    const btf_type* tt = skip_mods_and_typedefs(tb, targ_id, &targ_id);
    if (!tt) return -1;
    if (la.name) {
      const int matched = match_member(local.btf, la, tb, targ_id, targ, targ_id, 0);
      if (matched <= 0) return matched;
      continue;
    }
    // The first accessor indexes the root pointer, so targ_id already is the element type.
    if (i > 0) {
      if (!btf_is_array(tt)) return 0;
      const struct btf_array* a = btf_array(tt);
      const bool flex = is_flex_array(tb, targ.acc.empty() ? nullptr : &targ.acc.back(), a);
      if (!flex && la.idx >= a->nelems) return 0;
      if (!skip_mods_and_typedefs(tb, a->type, &targ_id)) return -1;
    }
    if (targ.raw.size() == kMaxSpecLen) return -2;
    targ.acc.push_back({targ_id, la.idx, nullptr});
    targ.raw.push_back(la.idx);
    const int64_t sz = resolve_size(tb, targ_id);
    if (sz < 0) return -1;
    targ.bit_offset += static_cast<uint32_t>(la.idx * sz * 8);
  }
  return 1;
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
    const int64_t sz = resolve_size(spec->btf, acc.type_id);
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
    const int64_t sz = resolve_size(spec->btf, field_type_id);
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
      const int64_t sz = resolve_size(spec->btf, spec->root_type_id);
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
