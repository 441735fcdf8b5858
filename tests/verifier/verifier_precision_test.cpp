// The verifier's rules for spilled scalars, subprogram exits, unprivileged pointer arithmetic,
// capability-gated helpers and the static call-chain limits, each as a small assembled program
// with Linux 6.12's verdict and message, in the mode the rule is about. Where the rule is the
// same in the host kernel and Linux can judge a raw program, the host kernel is asked too
// (privileged cases only: the host refuses unprivileged bpf()).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "oracle/kernel.hpp"
#include "oracle/skip_without_kernel.hpp"
#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;
using testing::KernelMaps;
using testing::map_infos;
using testing::patch_markers;
using testing::TestMap;

const TestMap kMaps[] = {
    {BPF_MAP_TYPE_HASH, 4, 16, 16},
    {BPF_MAP_TYPE_ARRAY, 4, 16, 4},
};

// Looks up key 0 of the array map (map 1) into r0 and leaves when it is NULL.
#define LOOKUP_ARRAY                                                     \
  "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0001\n" \
  "call 1\njeq %r0, 0, out\n"

struct Case {
  const char* name;
  uint32_t prog_type;
  bool privileged;
  const char* text;
  const char* message;  // Linux 6.12's refusal; "" when the program must be accepted
  bool kernel_comparable = true;
  bool write_only_array = false;  // map 1 is BPF_F_WRONLY_PROG (userbpf only)
};

const Case kCases[] = {
    // A 32-bit spill of a value that fits keeps the value's id: the fill is the same value, so
    // what the branch on r0 taught holds for r1 and the load through r9 is dead.
    {"spill32_keeps_id", BPF_PROG_TYPE_XDP, true,
     "call 5\nand %r0, 0xffff\nmov %r1, %r0\nstxw [%r10-8], %r0\njlt %r0, 1, out\n"
     "ldxw %r1, [%r10-8]\njge %r1, 1, out\nldxdw %r0, [%r9+0]\nout:\nmov %r0, 0\nexit",
     ""},
    // A narrowing fill of a 64-bit value is another value: no link to the spilled register.
    {"narrow_fill_unlinks", BPF_PROG_TYPE_XDP, true,
     "call 5\nstxdw [%r10-8], %r0\nldxw %r1, [%r10-8]\njge %r1, 1, out\njge %r0, 1, out\n"
     "ldxdw %r0, [%r9+0]\nout:\nmov %r0, 0\nexit",
     "R9 !read_ok"},
    // One byte of a spilled zero is zero.
    {"partial_fill_of_spilled_zero", BPF_PROG_TYPE_XDP, true,
     "stdw [%r10-8], 0\nldxb %r1, [%r10-7]\njeq %r1, 0, out\nldxdw %r0, [%r9+0]\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    // A 16-bit stored immediate is a spilled constant for the 16-bit fill.
    {"stored_imm_is_constant", BPF_PROG_TYPE_XDP, true,
     "sth [%r10-8], 7\nldxh %r1, [%r10-8]\njeq %r1, 7, out\nldxdw %r0, [%r9+0]\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    // Unprivileged programs spill scalars as plain data: the constant is lost.
    {"unpriv_scalar_spill_is_data", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r1, 7\nstxdw [%r10-8], %r1\nldxdw %r1, [%r10-8]\njeq %r1, 7, out\n"
     "ldxdw %r0, [%r9+0]\nout:\nmov %r0, 0\nexit",
     "R9 !read_ok", false},
    // A subprogram may return without setting r0 (a void function); the caller sets it.
    {"void_subprog_exit", BPF_PROG_TYPE_XDP, true, "call local fn\nmov %r0, 0\nexit\nfn:\nexit",
     ""},
    {"main_exit_needs_r0", BPF_PROG_TYPE_XDP, true, "call local fn\nexit\nfn:\nexit",
     "R0 !read_ok"},
    // Linux 6.12 tracks neither NEG nor byte swaps: the result is unknown.
    {"neg_result_unknown", BPF_PROG_TYPE_XDP, true,
     "mov %r1, 6\nneg %r1\njeq %r1, -6, out\nldxdw %r0, [%r9+0]\nout:\nmov %r0, 0\nexit",
     "R9 !read_ok", false},
    // Unprivileged: the same add is a constant offset on one path and an unknown one on the
    // other, so no single masking fits (REASON_PATHS); pruning compares scalars exactly once an
    // unknown offset was masked (explore_alu_limits), so the constant path reaches the add.
    {"unpriv_ptr_add_paths_differ", BPF_PROG_TYPE_SOCKET_FILTER, false,
     LOOKUP_ARRAY
     "ldxb %r4, [%r0+0]\njeq %r4, 1, konst\nldxb %r1, [%r0+1]\nand %r1, 7\nja sum\n"
     "konst:\nmov %r1, 3\nsum:\nadd %r1, %r0\nldxb %r0, [%r1+0]\nout:\nmov %r0, 1\nexit",
     "R1 tried to add from different maps, paths or scalars, pointer arithmetic with it "
     "prohibited for !root",
     false},
    {"priv_ptr_add_paths_differ", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LOOKUP_ARRAY
     "ldxb %r4, [%r0+0]\njeq %r4, 1, konst\nldxb %r1, [%r0+1]\nand %r1, 7\nja sum\n"
     "konst:\nmov %r1, 3\nsum:\nadd %r1, %r0\nldxb %r0, [%r1+0]\nout:\nmov %r0, 1\nexit",
     ""},
    {"unpriv_ptr_add_mixed_signs", BPF_PROG_TYPE_SOCKET_FILTER, false,
     LOOKUP_ARRAY "ldxb %r1, [%r0+0]\nsub %r1, 4\nadd %r0, %r1\nout:\nmov %r0, 0\nexit",
     "R1 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for "
     "!root",
     false},
    {"unpriv_map_value_one_past_end", BPF_PROG_TYPE_SOCKET_FILTER, false,
     LOOKUP_ARRAY "add %r0, 16\nout:\nmov %r0, 0\nexit",
     "R0 pointer arithmetic of map value goes out of range, prohibited for !root", false},
    {"unpriv_spin_lock_helper", BPF_PROG_TYPE_SOCKET_FILTER, false, "call 93\nmov %r0, 0\nexit",
     "program of this type cannot use helper bpf_spin_lock#93", false},
    {"write_only_array_read", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LOOKUP_ARRAY "ldxdw %r0, [%r0+0]\nout:\nmov %r0, 0\nexit",
     "read from map forbidden, value_size=16 off=0 size=8", false, true},
    {"write_only_array_write", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LOOKUP_ARRAY "stdw [%r0+0], 1\nout:\nmov %r0, 0\nexit", "", false, true},
    // Bounded recursion passes exploration; the static call-chain walk refuses it.
    {"recursion_too_deep", BPF_PROG_TYPE_XDP, true,
     "mov %r1, 0\ncall local fn\nexit\nfn:\nadd %r1, 1\nmov %r0, %r1\njlt %r1, 4, again\n"
     "exit\nagain:\ncall local fn\nexit",
     "the call stack of 8 frames is too deep !"},
    {"combined_stack_too_large", BPF_PROG_TYPE_XDP, true,
     "stdw [%r10-512], 0\ncall local fn\nmov %r0, 0\nexit\nfn:\nstdw [%r10-16], 0\nexit",
     "combined stack size of 2 calls is 528. Too large"},
    // The spill/fill pair around an inlined bpf_get_smp_processor_id is removed: no stack.
    {"fastcall_spills_not_counted", BPF_PROG_TYPE_XDP, true,
     "stdw [%r10-512], 0\ncall local fn\nmov %r0, 0\nexit\nfn:\nstxdw [%r10-8], %r1\ncall 8\n"
     "ldxdw %r1, [%r10-8]\nexit",
     ""},
};

class VerifierPrecision : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierPrecision, Verdict) {
  const Case& c = GetParam();
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = c.prog_type;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  if (c.write_only_array) p.maps[1].map_flags |= BPF_F_WRONLY_PROG;
  Options options;
  options.privileged = c.privileged;
  auto verdict = verify(p, options);
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept) << verdict->diagnosis.message;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message);
  }
}

TEST_P(VerifierPrecision, KernelAgrees) {
  const Case& c = GetParam();
  if (!c.kernel_comparable || !c.privileged)
    GTEST_SKIP() << "not comparable with the host kernel (unprivileged or newer semantics)";
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, c.prog_type, kMaps, c.message);
}

INSTANTIATE_TEST_SUITE_P(Rules, VerifierPrecision, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace userbpf::verifier
