// The expectations of a Linux verifier selftest program, read from the BTF decl tags that the
// selftests' bpf_misc.h puts on the program function (__success, __failure, __msg, ..._unpriv,
// __flag, __log_level, __auxiliary, __arch_*, __description, __retval). The rules follow the
// selftests' test_loader.c: which modes a program is tested in, and what the unprivileged mode
// inherits from the privileged one when it says nothing itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "userbpf/error.hpp"

struct btf;

namespace userbpf::verifier_selftests {

// An expected log message: a substring, or an extended POSIX regex for the parts written in
// {{ }} (test_loader's syntax), matched in order in the verifier log.
struct ExpectedMessage {
  std::string text;   // as written in the annotation
  std::string regex;  // the whole pattern as an ERE: literal parts escaped; empty if no {{ }}
};

// What one mode (privileged or unprivileged) expects.
struct ModeExpectation {
  bool tested = false;  // the program is loaded in this mode
  bool expect_failure = false;
  std::vector<ExpectedMessage> messages;
  bool has_retval = false;
  std::string retval;  // as written: a number, 0x..., INT_MIN, POINTER_VALUE, TEST_DATA_LEN
};

struct Annotations {
  std::string program;      // function name
  std::string description;  // __description, or the function name
  ModeExpectation priv;
  ModeExpectation unpriv;
  bool auxiliary = false;  // loaded alongside the tests, not a test itself
  bool auxiliary_unpriv = false;
  int log_level = 0;
  uint32_t prog_flags = 0;         // BPF_F_* from __flag, or'ed
  std::vector<std::string> archs;  // __arch_*: empty means every architecture
  std::string btf_path;            // __btf_path: the BTF that CO-RE relocates against
  bool runs_on_x86_64() const;
};

// Reads the annotations of the function `program` from `btf`. An unknown flag name or a
// malformed number is an error naming the program and the tag.
Result<Annotations> read_annotations(const ::btf* btf, const std::string& program);

// Whether `log` contains every message of `expected`, in order (each match starts after the
// previous one ends). On a mismatch, `missing` names the first message not found.
bool log_matches(const std::string& log, const std::vector<ExpectedMessage>& expected,
                 std::string* missing = nullptr);

}  // namespace userbpf::verifier_selftests
