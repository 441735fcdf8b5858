// Calls of global functions (global_calls.cpp): the function is checked from its BTF prototype,
// not from its caller's registers, and the caller learns nothing of its result but that it is a
// scalar, as Linux's btf_prepare_func_args and btf_check_subprog_call have it. Each program calls
// `fn` (func#1) once; the same program with `fn` static is the control. The selftests
// (verifier_global_subprogs, verifier_global_ptr_args) compare the same rules with the kernel.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;

FuncArg scalar_arg() {
  FuncArg a;
  a.kind = FuncArg::Kind::scalar;
  return a;
}

FuncArg int_pointer(std::vector<std::string> tags = {}) {
  FuncArg a;
  a.kind = FuncArg::Kind::pointer;
  a.pointee_size = 4;
  a.tags = std::move(tags);
  return a;
}

FuncArg ctx_pointer() {
  FuncArg a;
  a.kind = FuncArg::Kind::pointer;
  a.pointee_struct = "xdp_md";
  a.pointee_size = 24;
  return a;
}

struct Case {
  const char* name;
  const char* text;
  std::vector<FuncArg> args;
  const char* global_message;  // "" when accepted as a global function
  const char* static_message;  // the same program with fn static
};

// r1 = &x (x = 42 on the stack), then fn(r1).
#define CALL_WITH_STACK_INT \
  "stw [%r10-4], 42\nmov %r1, %r10\nadd %r1, -4\ncall local fn\nmov %r0, 0\nexit\nfn:\n"

const Case kCases[] = {
    // A plain pointer argument may be NULL: the function must check it.
    {"nullable_pointer_needs_check",
     CALL_WITH_STACK_INT "ldxw %r0, [%r1+0]\nexit",
     {int_pointer()},
     "R1 invalid mem access 'mem_or_null'",
     ""},
    {"nullable_pointer_checked",
     CALL_WITH_STACK_INT "mov %r0, 0\njeq %r1, 0, +1\nldxw %r0, [%r1+0]\nexit",
     {int_pointer()},
     "",
     ""},
    // The pointer covers the pointee's size only.
    {"pointer_past_pointee",
     CALL_WITH_STACK_INT "mov %r0, 0\njeq %r1, 0, +1\nldxw %r0, [%r1+4]\nexit",
     {int_pointer()},
     "invalid access to memory, mem_size=4 off=4 size=4",
     "invalid read from stack R1 off=0 size=4"},
    // __arg_nonnull: no check needed, and the caller may not pass NULL.
    {"nonnull_pointer",
     CALL_WITH_STACK_INT "ldxw %r0, [%r1+0]\nexit",
     {int_pointer({"nonnull"})},
     "",
     ""},
    {"nonnull_given_null",
     "mov %r1, 0\ncall local fn\nmov %r0, 0\nexit\nfn:\nmov %r0, 0\nexit",
     {int_pointer({"nonnull"})},
     "Caller passes invalid args into func#1 ('fn')",
     ""},
    // An int parameter takes no pointer.
    {"scalar_given_pointer",
     "mov %r1, %r10\ncall local fn\nmov %r0, 0\nexit\nfn:\nmov %r0, 0\nexit",
     {scalar_arg()},
     "Caller passes invalid args into func#1 ('fn')",
     ""},
    // The caller does not learn the result: fn returns 0, yet both branches are explored.
    {"result_is_unknown",
     "mov %r1, 1\ncall local fn\njeq %r0, 0, +1\nmov %r0, %r7\nmov %r0, 0\nexit\nfn:\nmov %r0, 0\n"
     "exit",
     {scalar_arg()},
     "R7 !read_ok",
     ""},
    // Nor the caller's argument values: fn sees an unknown scalar.
    {"argument_is_unknown",
     "mov %r1, 0\ncall local fn\nmov %r0, 0\nexit\nfn:\njeq %r1, 0, +1\nmov %r0, %r7\nmov %r0, 0\n"
     "exit",
     {scalar_arg()},
     "R7 !read_ok",
     ""},
    // The program's context struct is the context.
    {"context_argument",
     "call local fn\nmov %r0, 0\nexit\nfn:\nldxw %r0, [%r1+0]\nmov %r0, 0\nexit",
     {ctx_pointer()},
     "",
     ""},
    // A global function returns a scalar.
    {"returns_pointer",
     "mov %r1, 0\ncall local fn\nmov %r0, 0\nexit\nfn:\nmov %r0, %r10\nexit",
     {scalar_arg()},
     "At subprogram exit the register R0 is not a scalar value (fp)",
     "cannot return stack pointer to the caller"},
};

Program program_of(const Case& c, bool global) {
  Program p;
  p.insns = assemble_or_fail(c.text);
  p.prog_type = BPF_PROG_TYPE_XDP;
  p.gpl = true;
  p.name = c.name;
  uint32_t sub = 0;
  for (size_t i = 0; i < p.insns.size(); ++i)
    if (p.insns[i].code == (BPF_JMP | BPF_CALL) && p.insns[i].src_reg == BPF_PSEUDO_CALL)
      sub = static_cast<uint32_t>(static_cast<int64_t>(i) + 1 + p.insns[i].imm);
  FuncInfo main_fn, fn;
  main_fn.name = "main";
  fn.insn = sub;
  fn.name = "fn";
  fn.global = global;
  fn.args = c.args;
  p.funcs = {main_fn, fn};
  return p;
}

class VerifierGlobalCalls : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierGlobalCalls, CheckedFromThePrototype) {
  const Case& c = GetParam();
  for (bool global : {true, false}) {
    auto verdict = verify(program_of(c, global));
    ASSERT_TRUE(verdict) << verdict.error().message;
    const std::string expected = global ? c.global_message : c.static_message;
    EXPECT_EQ(verdict->accepted, expected.empty())
        << (global ? "global: " : "static: ") << verdict->diagnosis.message;
    if (!expected.empty()) {
      EXPECT_EQ(verdict->diagnosis.message, expected);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, VerifierGlobalCalls, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace userbpf::verifier
