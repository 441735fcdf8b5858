// Loads one verifier selftest program into the host kernel the way the selftests' test_loader.c
// does: the whole object opened with libbpf, only the test program and the auxiliary programs
// of its mode loaded, the annotated flags and log level, privileged mode. The kernel's verdict
// and log are what the annotations are compared with.
#pragma once

#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "userbpf/error.hpp"
#include "verifier/selftest_annotations.hpp"

namespace userbpf::verifier_selftests {

struct KernelVerdict {
  bool accepted = false;
  int error = 0;                 // the load's errno when refused
  std::string log;               // the verifier log of the test program
  uint64_t verification_ns = 0;  // "verification time N usec" (log level 4 stats), when given
  std::string libbpf_messages;   // libbpf's warnings (e.g. why it refused before the kernel)

  // EPERM with an empty verifier log: the kernel refused before verifying (e.g. a host that
  // forbids tracing trampolines). Not a verdict.
  bool refused_before_verifying() const { return !accepted && error == EPERM && log.empty(); }
};

// `all` holds the annotations of every program of the object, in the object's program order
// (auxiliary programs are loaded along with `test`); `btf_dir` is where __btf_path objects are.
// Errors: the object cannot be opened.
Result<KernelVerdict> kernel_verdict(std::span<const uint8_t> object, const std::string& name,
                                     const std::string& btf_dir, const Annotations& test,
                                     const std::vector<Annotations>& all);

}  // namespace userbpf::verifier_selftests
