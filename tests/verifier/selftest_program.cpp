#include "verifier/selftest_program.hpp"

#include "runtime/verify.hpp"

namespace userbpf::verifier_selftests {

verifier::Program verifier_program(const object::Object& obj, const object::Program& prog) {
  return runtime::verifier_program(obj, prog);
}

}  // namespace userbpf::verifier_selftests
