// Regression tests for what the soundness fuzzer (fuzz/fuzz_verifier.cpp) found: programs the
// verifier accepted although they fault when run, each reduced by hand to its core. Each must get
// the Linux verifier's verdict and message; where bpf() works the host kernel's verifier is asked
// too, with the same maps the fuzzer uses (0 hash, 1 array, 2 ringbuf).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "isa/conformance_asm.hpp"
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

// A pointer compared with constants it can never be known to differ from: both branches of
// both comparisons stay open on every iteration, and the loop moves the pointer each time.
constexpr const char* kUndecidedPointerLoop =
    "mov %r0, %r10\nloop:\nadd %r0, 15\nself:\njeq %r0, 3, self\njeq %r0, 2, loop\n"
    "add %r0, 3\nadd %r0, 3\nadd %r0, 3\nmov %r0, 0\nexit";

// The maps the cases name as `lddw %rN, kMapMarker + K` (support/verifier_asm_cases.hpp).
const TestMap kMaps[] = {
    {BPF_MAP_TYPE_HASH, 4, 16, 16},
    {BPF_MAP_TYPE_ARRAY, 4, 16, 4},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},
};

struct Case {
  const char* name;
  uint32_t prog_type;
  const char* text;
  const char* message;  // the kernel's refusal; "" when the program must be accepted
  // Linux refuses callbacks of programs loaded without BTF func_info ("missing btf func_info")
  // before it looks at them, so the kernel cannot be asked about raw callback programs.
  bool kernel_comparable = true;
};

const Case kCases[] = {
    // Found: an 8-byte atomic add at fp-196 ran into the interpreter's misaligned-atomic fault.
    // Linux checks alignment of every stack access (its spill tracking needs aligned slots) and
    // of every atomic.
    {"atomic_misaligned_stack", BPF_PROG_TYPE_XDP,
     "mov %r0, 0\nstdw [%r10-200], 0\nlock add [%r10-196], %r0\nexit",
     "misaligned stack access off 0+0+-196 size 8"},
    {"load_misaligned_stack", BPF_PROG_TYPE_XDP, "stdw [%r10-8], 0\nldxw %r0, [%r10-6]\nexit",
     "misaligned stack access off 0+0+-6 size 4"},
    {"store_misaligned_stack_via_copy", BPF_PROG_TYPE_XDP,
     "mov %r2, %r10\nadd %r2, -8\nsth [%r2+3], 1\nmov %r0, 0\nexit",
     "misaligned stack access off 0+-8+3 size 2"},
    {"byte_access_stack_any_offset", BPF_PROG_TYPE_XDP, "stb [%r10-3], 1\nldxb %r0, [%r10-3]\nexit",
     ""},
    {"atomic_misaligned_map_value", BPF_PROG_TYPE_SOCKET_FILTER,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0001\ncall 1\n"
     "jeq %r0, 0, out\nmov %r1, 1\nlock add32 [%r0+2], %r1\nout:\nmov %r0, 0\nexit",
     "misaligned value access off 0+0+2 size 4"},
    {"load_misaligned_map_value_ok", BPF_PROG_TYPE_SOCKET_FILTER,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0001\ncall 1\n"
     "jeq %r0, 0, out\nldxw %r0, [%r0+2]\nout:\nmov %r0, 0\nexit",
     ""},
    // Found: a bpf_loop callback was never explored, so a callback reading a register it was
    // not given (and then memory through it) was accepted and faulted at a NULL address.
    {"loop_callback_uninit_register", BPF_PROG_TYPE_KPROBE,
     "mov %r6, %r1\nmov %r1, 2\nlddw %r2, 0x5a5b0008\nmov %r3, 0\nmov %r4, 0\ncall 181\n"
     "exit\nldxw %r2, [%r6+76]\nmov %r0, 0\nexit",
     "R6 !read_ok", false},
    {"loop_callback_return_range", BPF_PROG_TYPE_KPROBE,
     "mov %r1, 2\nlddw %r2, 0x5a5b0007\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit\n"
     "mov %r0, 2\nexit",
     "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]", false},
    {"loop_callback_ctx_on_caller_stack", BPF_PROG_TYPE_KPROBE,
     "stdw [%r10-8], 0\nmov %r1, 4\nlddw %r2, 0x5a5b0009\nmov %r3, %r10\nadd %r3, -8\n"
     "mov %r4, 0\ncall 181\nexit\nldxdw %r0, [%r2+0]\nstxdw [%r2+0], %r1\nmov %r0, 0\nexit",
     "", false},
    {"loop_callback_ctx_past_caller_stack", BPF_PROG_TYPE_KPROBE,
     "stdw [%r10-8], 0\nmov %r1, 4\nlddw %r2, 0x5a5b0009\nmov %r3, %r10\nadd %r3, -8\n"
     "mov %r4, 0\ncall 181\nexit\nldxdw %r0, [%r2+0]\nstxdw [%r2+8], %r1\nmov %r0, 0\nexit",
     "invalid write to stack R2 off=0 size=8", false},
    {"loop_result_is_the_helpers", BPF_PROG_TYPE_SOCKET_FILTER,
     "mov %r1, 2\nlddw %r2, 0x5a5b0008\nmov %r3, 0\nmov %r4, 0\ncall 181\n"
     "ldxdw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit",
     "R0 invalid mem access 'scalar'", false},
    // Found: the fuzzer's run of this program never ended (it calls bpf_loop, which returns 0,
    // while the result is >= 0), yet Linux accepts it too (checked on 6.18 with the same program
    // in C): the second visit of the bpf_loop call is pruned against the first one's open state
    // (is_state_visited's calls_callback rule), and nothing read after the call differs. Kept so
    // that the verdict stays Linux's; the soundness fuzzer reports it as an exceeded budget.
    {"endless_loop_around_bpf_loop", BPF_PROG_TYPE_XDP,
     "start:\nmov %r1, 0\nlddw %r2, 0x5a5b0009\nmov %r3, 0\nmov %r4, 0\ncall 181\n"
     "jsge %r0, 0, start\nmov %r0, 0\nexit\nmov %r0, 0\nexit",
     "", false},
    // Found: a comparison whose fall-through no value can take (here r0 s< 0, where r0's signed
    // range [-16, 510] and unsigned range [0, 0xfffffffe00000001] only share [0, 510]) is
    // decided as taken, but the path went on with the contradictory fall-through state instead of
    // the jump's: the loop at insn 7 was never explored and the run never ended. The second
    // program reads the stack at fp+r0 there, which the contradictory state placed below fp.
    {"jump_only_feasible_loops", BPF_PROG_TYPE_SOCKET_FILTER,
     "ldxw %r0, [%r1+0]\nldxw %r2, [%r1+0]\nmul %r0, %r2\n"
     "jsge %r0, 0x1ff, out\njsge %r0, -16, self\nmov %r0, 0\nexit\n"
     "self:\njsge %r0, 0, self\nout:\nmov %r0, 0\nexit",
     "infinite loop detected at insn 7"},
    {"jump_only_feasible_reads_stack", BPF_PROG_TYPE_SOCKET_FILTER,
     "stdw [%r10-8], 0\nstdw [%r10-16], 0\n"
     "ldxw %r0, [%r1+0]\nldxw %r2, [%r1+0]\nmul %r0, %r2\n"
     "jsge %r0, 0x1ff, out\njsge %r0, -16, decide\nout:\nmov %r0, 0\nexit\n"
     "decide:\njsge %r0, 0, use\nmov %r0, 0\nexit\n"
     "use:\nmov %r3, %r10\nadd %r3, %r0\nldxb %r0, [%r3+0]\nmov %r0, 0\nexit",
     "invalid variable-offset read from stack R3 var_off=(0x0; 0x1ff) off=0 size=1"},
};

class VerifierSoundness : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierSoundness, Verdict) {
  const Case& c = GetParam();
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = c.prog_type;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  auto verdict = verify(p);
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept) << verdict->diagnosis.message;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message);
  }
}

TEST_P(VerifierSoundness, KernelAgrees) {
  const Case& c = GetParam();
  if (!c.kernel_comparable) GTEST_SKIP() << "Linux needs BTF func_info for callbacks";
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, c.prog_type, kMaps, c.message);
}

INSTANTIATE_TEST_SUITE_P(Found, VerifierSoundness, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// Found (after precision tracking, cd2f68d): a loop whose pointer comparisons never decide
// leaves one pending branch per iteration until the 8,192-branch limit. Linux refuses it in 0.6 s
// after 65,532 instructions; userbpf gives the same verdict and count, but took 8.8 s and 4.5 GB
// (release build) to get there, so the verdict is checked here rather than in the table. Every
// pending branch keeps the instructions its path executed since its last checkpoint (for
// precision backtracking); when the checkpoints all land on the path that leaves the loop, the
// looping path's history grows by 3 entries an iteration and each of the 8,192 pending branches
// copies it: quadratic memory and backtracking time. Linux bounds it by forcing a new state once a
// path's history is long (is_state_visited: "Avoid accumulating infinitely long jmp history").
// explore.cpp now does the same (a state after 40 jumps).
TEST(VerifierSoundnessCost, UndecidedPointerLoopIsRefusedAsLinux) {
  Program p;
  p.insns = assemble_or_fail(kUndecidedPointerLoop);
  p.prog_type = BPF_PROG_TYPE_XDP;
  p.gpl = true;
  p.name = "undecided_pointer_loop";
  auto verdict = verify(p);
  ASSERT_TRUE(verdict) << verdict.error().message;
  EXPECT_FALSE(verdict->accepted);
  EXPECT_EQ(verdict->diagnosis.message, "The sequence of 8193 jumps is too complex.");
  EXPECT_EQ(verdict->processed_insns, 65532u);  // the host kernel's count (Linux 6.18)
}

TEST(VerifierSoundnessCost, KernelAgreesOnUndecidedPointerLoop) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict("undecided_pointer_loop", kUndecidedPointerLoop, BPF_PROG_TYPE_XDP, kMaps,
                        "The sequence of 8193 jumps is too complex.");
}

}  // namespace
}  // namespace userbpf::verifier
