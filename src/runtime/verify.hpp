// Verifying a program of a loaded object: the one place that turns an object's program (its
// relocated instructions, maps, function and line info) into what the verifier reads, runs the
// verifier, and turns a refusal into an Error people can act on. Runtime::load, `userbpf verify`
// and the selftest harness all go through here.
#pragma once

#include <cstdint>
#include <string>

#include "object/object.hpp"
#include "userbpf/error.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::runtime {

// What loading does to an opened object before its programs are verified and registered: CO-RE
// relocations against the runtime's own BTF (runtime_btf.hpp) and the .kconfig externs.
Status prepare_for_runtime(object::Object& obj);

// Whether the kernel treats a license string as GPL-compatible (include/linux/license.h), which
// GPL-only helpers require.
bool gpl_compatible(const std::string& license);

// The verifier's view of `prog`: its instructions as relocated (map references by object map
// index), the program type (`prog_type` overrides the section's when not 0, as bpftool's `type`
// does), the license, the object's maps as verifier::MapInfo (spin lock and timer offsets from
// the value's BTF; map-in-map templates appended after the object's maps), func and line info.
verifier::Program verifier_program(const object::Object& obj, const object::Program& prog,
                                   uint32_t prog_type = 0);

// verifier_program + verifier::verify.
Result<verifier::Verdict> verify_program(const object::Object& obj, const object::Program& prog,
                                         const verifier::Options& options = {},
                                         uint32_t prog_type = 0);

// The diagnosis as text for people, the kernel's message then one indented item per line:
//   R0 invalid mem access 'map_value_or_null'
//     at insn 7                       (with_insn; an Error's location names it otherwise)
//     source: file.c:42: source text
//     registers: R0=map_value_or_null(...) ...
//     suggestion: ...
std::string format_diagnosis(const verifier::Diagnosis& diagnosis, bool with_insn = true);

// The Error a refused program gives (Errc::verify): "prog 'NAME': the verifier refused the
// program: <diagnosis>", located at the object file, section and instruction.
Error rejection_error(const std::string& object_path, const object::Program& prog,
                      const verifier::Verdict& verdict);

}  // namespace userbpf::runtime
