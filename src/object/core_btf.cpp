// BTF type relations for CO-RE relocation; see core_btf.hpp.
#include "object/core_btf.hpp"

#include "object/core_relo.hpp"

namespace userbpf::object::core {

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

namespace {

// Name match for TYPE_MATCHES (bpf_core_names_match): an anonymous target matches only an
// anonymous local; otherwise essential names must be equal.
bool names_match(const ::btf* lb, uint32_t loff, const ::btf* tb, uint32_t toff) {
  const std::string_view ln = name_of(lb, loff), tn = name_of(tb, toff);
  if (tn.empty()) return ln.empty();
  return names_equal_essentially(ln, tn);
}

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

}  // namespace

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

}  // namespace userbpf::object::core
