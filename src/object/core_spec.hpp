// Access specifications of CO-RE relocations (libbpf's struct bpf_core_spec): the access string
// of a relocation parsed against the object's BTF, and matched field by field against a candidate
// type of the target BTF (bpf_core_parse_spec / bpf_core_spec_match). Internal to the object
// layer.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "object/object.hpp"
#include "userbpf/error.hpp"

struct btf;

namespace userbpf::object::core {

inline constexpr size_t kMaxSpecLen = 64;  // libbpf's BPF_CORE_SPEC_MAX_LEN

inline bool is_field_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_FIELD_BYTE_OFFSET || k == BPF_CORE_FIELD_BYTE_SIZE ||
         k == BPF_CORE_FIELD_EXISTS || k == BPF_CORE_FIELD_SIGNED ||
         k == BPF_CORE_FIELD_LSHIFT_U64 || k == BPF_CORE_FIELD_RSHIFT_U64;
}
inline bool is_type_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_TYPE_ID_LOCAL || k == BPF_CORE_TYPE_ID_TARGET || k == BPF_CORE_TYPE_EXISTS ||
         k == BPF_CORE_TYPE_MATCHES || k == BPF_CORE_TYPE_SIZE;
}
inline bool is_enumval_kind(bpf_core_relo_kind k) {
  return k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_ENUMVAL_VALUE;
}

// One step of a field access: a named member of a struct/union (name set) or an array element
// (name empty; for the first step, the index applied to the root pointer).
struct Accessor {
  uint32_t type_id = 0;  // the struct/union holding the member, or the element type
  uint32_t idx = 0;
  const char* name = nullptr;
};

// The high-level accessors (named fields and array indexes), the raw access string indexes, and
// the bit offset they add up to.
struct Spec {
  const ::btf* btf = nullptr;
  uint32_t root_type_id = 0;
  bpf_core_relo_kind kind = BPF_CORE_FIELD_BYTE_OFFSET;
  std::vector<Accessor> acc;
  std::vector<uint32_t> raw;
  uint32_t bit_offset = 0;
};

// Why an internal step failed; turned into an Error at the boundary. poison_request plays
// libbpf's -EUCLEAN (resolve to a poisoned instruction, not an error).
struct Failure {
  Errc code = Errc::invalid_argument;
  std::string why;
  bool poison_request = false;
};

inline Failure fail(Errc code, std::string why) {
  return Failure{code, std::move(why), false};
}

// Parses the access string of `relo` against the object's BTF.
std::optional<Failure> parse_spec(const ::btf* b, const CoreRelo& relo, Spec& spec);

// Matches the local spec against candidate `targ_id` of the target BTF: 1 matched (targ filled),
// 0 not, -1 broken BTF, -2 nesting too deep.
int match_spec(const Spec& local, const ::btf* tb, uint32_t targ_id, Spec& targ);

}  // namespace userbpf::object::core
