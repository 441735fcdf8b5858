// State pruning with precision tracking and register liveness (precision.cpp, liveness.cpp):
// scalars no decision depends on may differ between a state and the explored state that prunes
// it, but a scalar that does decide something (a pointer offset, a decided branch, a return
// value) must match, however it travelled there: through mov, a stack spill, a bpf-to-bpf call
// or a link made by mov and refined by a comparison. Each program has two paths into one join;
// the first is safe, the second must be refused. The host kernel judges the same programs.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "oracle/skip_without_kernel.hpp"
#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;
using testing::map_infos;
using testing::patch_markers;
using testing::TestMap;

const TestMap kMaps[] = {
    {BPF_MAP_TYPE_ARRAY, 4, 16, 4},
};

// r0 = a pointer to element 0 of the array, or leave; r6..r9 survive.
#define LOOKUP                                                           \
  "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\n" \
  "call 1\njeq %r0, 0, out\n"
#define OUT "out:\nmov %r0, 0\nexit"

struct Case {
  const char* name;
  const char* text;
  const char* message;  // "" when accepted
};

const Case kCases[] = {
    // r6 is 0 on the first path and 64 on the second; after the join it is a pointer offset.
    {"offset_in_register",
     "call 7\nmov %r6, 0\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 64\njoin:\n" LOOKUP
     "add %r0, %r6\nldxb %r1, [%r0+0]\n" OUT,
     "invalid access to map value, value_size=16 off=64 size=1"},
    // The same offset spilled to the stack before the join and filled after it.
    {"offset_through_stack",
     "call 7\nmov %r6, 0\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 64\njoin:\n"
     "stxdw [%r10-16], %r6\nmov %r6, 0\n" LOOKUP
     "ldxdw %r6, [%r10-16]\nadd %r0, %r6\nldxb %r1, [%r0+0]\n" OUT,
     "invalid access to map value, value_size=16 off=64 size=1"},
    // The offset passed to a subprogram that uses it.
    {"offset_through_call",
     "call 7\nmov %r6, 0\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 64\njoin:\n" LOOKUP
     "mov %r1, %r0\nmov %r2, %r6\ncall local sub\n" OUT
     "\nsub:\nadd %r1, %r2\nldxb %r0, [%r1+0]\nmov %r0, 0\nexit",
     "invalid access to map value, value_size=16 off=64 size=1"},
    // The offset a subprogram returns.
    {"offset_from_callee",
     "call 7\nmov %r6, 0\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 64\njoin:\n"
     "mov %r1, %r6\ncall local sub\nmov %r6, %r0\n" LOOKUP "add %r0, %r6\nldxb %r1, [%r0+0]\n" OUT
     "\nsub:\nmov %r0, %r1\nexit",
     "invalid access to map value, value_size=16 off=64 size=1"},
    // r7 is a copy of r6 on the first path (so the bounds check of r6 bounds r7) and an
    // unrelated value on the second: the link must match, not only r7's range.
    {"offset_bounded_through_link",
     "call 7\nand %r0, 0xff\nmov %r6, %r0\ncall 7\njgt %r0, 100, other\nmov %r7, %r6\nja join\n"
     "other:\ncall 7\nand %r0, 0xff\nmov %r7, %r0\njoin:\n" LOOKUP
     "jgt %r6, 8, out\nadd %r0, %r7\nldxb %r1, [%r0+0]\n" OUT,
     "invalid access to map value, value_size=16 off=255 size=1"},
    // Two registers compared with each other: r7 < r6 bounds r7 only while r6 is small.
    {"offset_bounded_by_register",
     "call 7\nmov %r6, 8\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 64\njoin:\n"
     "call 7\nmov %r7, %r0\n" LOOKUP "jge %r7, %r6, out\nadd %r0, %r7\nldxb %r1, [%r0+0]\n" OUT,
     "invalid access to map value, value_size=16 off=63 size=1"},
    // r7 and r8 are one value; r8 < r6 bounds r7 too, and r6 is small only on the first path.
    // That r7 decides a branch makes r8 precise through the link, and so r6 through the
    // comparison (the link is examined before the compared registers).
    {"link_then_register_compare",
     "call 7\nmov %r7, %r0\nmov %r8, %r0\ncall 7\nmov %r6, %r0\njgt %r6, 1, +0\n"
     "jge %r8, %r6, out\nadd %r8, %r8\n" LOOKUP "jeq %r7, 0, out\nldxb %r1, [%r0+16]\n" OUT,
     "invalid access to map value, value_size=16 off=16 size=1"},
    // A branch decided by r6's value hides an out-of-bounds access on the first path only.
    {"decided_branch",
     "call 7\nmov %r6, 1\njgt %r0, 100, big\nja join\nbig:\nmov %r6, 2\njoin:\n" LOOKUP
     "jeq %r6, 1, out\nldxb %r1, [%r0+16]\n" OUT,
     "invalid access to map value, value_size=16 off=16 size=1"},
    // An accumulator nothing depends on: the two paths of each of 20 diamonds join again
    // (without precision tracking 2^20 paths: far past the 1M-instruction limit).
    {"accumulator_prunes",
     "mov %r7, 0\nmov %r8, 0\n"
#define DIAMOND "call 7\njgt %r0, 100, +1\nadd %r7, 1\nadd %r8, %r7\n"
#define DIAMONDS4 DIAMOND DIAMOND DIAMOND DIAMOND
     DIAMONDS4 DIAMONDS4 DIAMONDS4 DIAMONDS4 DIAMONDS4 "mov %r0, %r8\nexit",
     ""},
    // The same with the accumulator on the stack.
    {"stack_accumulator_prunes",
     "stdw [%r10-8], 0\n"
#define SDIAMOND "call 7\nldxdw %r7, [%r10-8]\njgt %r0, 100, +1\nadd %r7, 3\nstxdw [%r10-8], %r7\n"
#define SDIAMONDS4 SDIAMOND SDIAMOND SDIAMOND SDIAMOND
     SDIAMONDS4 SDIAMONDS4 SDIAMONDS4 SDIAMONDS4 SDIAMONDS4 "ldxdw %r0, [%r10-8]\nexit",
     ""},
};

Program program_of(const Case& c) {
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = BPF_PROG_TYPE_XDP;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  return p;
}

class VerifierPruning : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierPruning, Verdict) {
  const Case& c = GetParam();
  auto verdict = verify(program_of(c));
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept) << verdict->diagnosis.message;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message);
  }
  // Accepted programs here are ones pruning must keep small.
  if (expect_accept) {
    EXPECT_LT(verdict->processed_insns, 2000u);
  }
}

TEST_P(VerifierPruning, KernelAgrees) {
  const Case& c = GetParam();
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, BPF_PROG_TYPE_XDP, kMaps, c.message);
}

INSTANTIATE_TEST_SUITE_P(Precision, VerifierPruning, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// Unprivileged programs compare every scalar (Linux marks all of theirs precise): the
// accumulator is explored per value, and the program still verifies here because it is small.
TEST(VerifierPruning, UnprivilegedComparesEveryScalar) {
  const Case c{"small_accumulator",
               "mov %r7, 0\nmov %r8, 0\n" DIAMOND DIAMOND DIAMOND "mov %r0, 0\nexit", ""};
  Program p = program_of(c);
  p.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  Options priv, unpriv;
  unpriv.privileged = false;
  auto a = verify(p, priv);
  auto b = verify(p, unpriv);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->accepted) << a->diagnosis.message;
  ASSERT_TRUE(b->accepted) << b->diagnosis.message;
  EXPECT_LT(a->processed_insns, b->processed_insns);
}

}  // namespace
}  // namespace userbpf::verifier
