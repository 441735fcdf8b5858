// BTF type relations used by CO-RE relocation, as libbpf's relo_core.c defines them: following
// typedefs and modifiers, field compatibility (FIELD_* relocations), type compatibility
// (TYPE_EXISTS/TYPE_SIZE/TYPE_ID_TARGET) and the stricter type match (TYPE_MATCHES). Internal to
// the object layer; every query goes through libbpf's btf.h API.
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <string_view>

namespace userbpf::object::core {

inline constexpr int kMaxTypeDepth = 32;  // recursion/typedef-chain bound, as libbpf's

bool empty_name(const char* s);
std::string_view name_of(const ::btf* b, uint32_t name_off);

// Follows typedefs and modifiers (const, volatile, restrict, type tags) to the type they name.
// nullptr for a missing id or a chain longer than any real one (a cycle in hostile BTF).
const btf_type* skip_mods_and_typedefs(const ::btf* b, uint32_t id, uint32_t* out_id);

// Equal names once "___flavor" suffixes are stripped.
bool names_equal_essentially(std::string_view a, std::string_view b);

// name_off of enumerator i of an ENUM or ENUM64.
uint32_t enumerator_name_off(const btf_type* t, uint32_t i);

// The relations below answer 1 (yes), 0 (no) or -1 (broken BTF).

// Field compatibility for access relocations (bpf_core_fields_are_compat).
int fields_compatible(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid);
// Type compatibility for TYPE_* relocations (__bpf_core_types_are_compat).
int types_compatible(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid, int level);
// The stricter TYPE_MATCHES relation (__bpf_core_types_match).
int types_match(const ::btf* lb, uint32_t lid, const ::btf* tb, uint32_t tid, bool behind_ptr,
                int level);

}  // namespace userbpf::object::core
