// CO-RE ("compile once, run everywhere") relocation: the compiler records, for every instruction
// that depends on a kernel type's layout, which type and which field path it means (a
// bpf_core_relo: root type id in the object's BTF + an access string "0:1:2" + a kind). Before a
// program runs, each such instruction is patched with the value the *target* BTF gives (field
// offset, size, existence, type size, enum value, ...).
//
// This follows libbpf's relo_core.c (bpf_core_calc_relo_insn + bpf_core_patch_insn) rule for
// rule, so an object relocated here is relocated exactly as libbpf would relocate it for the same
// target BTF:
//   - candidates are target types of a compatible kind whose name equals the local name with any
//     "___flavor" suffix stripped on both sides;
//   - the access string is matched field by field by name (through anonymous structs/unions,
//     arrays, typedefs and modifiers), and every matching candidate must agree on the result,
//     otherwise the relocation is ambiguous and refused;
//   - the candidate list of a root type is pruned to the candidates that matched, and that pruned
//     list is what later relocations of the same root type see (libbpf's candidate cache);
//   - an unresolvable relocation poisons its instruction (`call 0xbad2310`) so the program fails
//     only if that instruction runs; existence checks resolve to 0 instead.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "isa/instruction.hpp"
#include "object/object.hpp"
#include "userbpf/error.hpp"

struct btf;

namespace userbpf::object {

// The imm of a poisoned instruction: libbpf's "bad relo" helper id (195896080).
inline constexpr int32_t kCorePoisonImm = 0xbad2310;

// The computed outcome of one relocation (libbpf's struct bpf_core_relo_res).
struct CoreReloResult {
  uint64_t orig_val = 0;  // the value the instruction must hold now (from the object's BTF)
  uint64_t new_val = 0;   // the value for the target
  bool poison = false;    // the instruction becomes `call 0xbad2310`
  bool validate = true;   // check that the instruction holds orig_val before patching
  // A load/store whose field changed size in a way a size change of the access can't express
  // (signed integers, mixed kinds): such an LDX/ST/STX is poisoned.
  bool fail_memsz_adjust = false;
  uint32_t orig_size = 0;  // field size for memory access adjustment (0: not a sized field)
  uint32_t new_size = 0;
  uint32_t orig_type_id = 0;
  uint32_t new_type_id = 0;
};

// Target candidates per local root type id, shared by all relocations of one apply_core call and
// pruned as relocations match (see above).
using CoreCandidateCache = std::map<uint32_t, std::vector<uint32_t>>;

// Length of `name` without its flavor suffix: "task_struct___old" -> 11. Only an "X___Y" pattern
// where neither X nor Y is '_' is a flavor separator (so "__u64" and "a____b" keep their names).
size_t core_essential_name_len(std::string_view name);

// Resolves one relocation of the object whose BTF is `local` against `target`. Errors (bad access
// string, ambiguity, unsupported kind or anonymous root type) say what is wrong; an unresolvable
// field is not an error but a result with poison = true.
Result<CoreReloResult> resolve_core_relo(const ::btf* local, const CoreRelo& relo,
                                         const ::btf* target, CoreCandidateCache& cache);

// Patches instruction `relo.insn` of `insns` with `res` as bpf_core_patch_insn does: ALU/ALU64
// with an immediate get imm, LDX/ST/STX get off (and their access size when the field's size
// changed), lddw gets its 64-bit immediate. The instruction must hold the expected original value
// when res.validate is set.
Status patch_core_insn(std::span<isa::RawInsn> insns, const CoreRelo& relo,
                       const CoreReloResult& res);

}  // namespace userbpf::object
