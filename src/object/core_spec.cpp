// CO-RE access specifications; see core_spec.hpp.
#include "object/core_spec.hpp"

#include <bpf/btf.h>

#include <climits>

#include "object/core_btf.hpp"

namespace userbpf::object::core {
namespace {

// A flexible array: the last member of its struct, declared with zero elements.
bool is_flex_array(const ::btf* b, const Accessor* enclosing, const struct btf_array* arr) {
  if (!enclosing || !enclosing->name || arr->nelems > 0) return false;
  const btf_type* t = btf__type_by_id(b, enclosing->type_id);
  return t && enclosing->idx + 1 == btf_vlen(t);
}

int64_t resolve_size(const ::btf* b, uint32_t id) {
  return btf__resolve_size(b, id);
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

}  // namespace

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

}  // namespace userbpf::object::core
