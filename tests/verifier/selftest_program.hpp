// What userbpf's verifier is given for a program of an object opened by src/object: the library's
// runtime::verifier_program (src/runtime/verify.hpp), the same code every load goes through.
#pragma once

#include "object/object.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier_selftests {

verifier::Program verifier_program(const object::Object& obj, const object::Program& prog);

}  // namespace userbpf::verifier_selftests
