// What userbpf's verifier is given for a program of an object opened by src/object: the
// relocated instructions, the program type from the section, the maps as verifier::MapInfo
// (map-in-map templates appended after the object's maps), function and line information.
#pragma once

#include "object/object.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier_selftests {

verifier::Program verifier_program(const object::Object& obj, const object::Program& prog);

}  // namespace userbpf::verifier_selftests
