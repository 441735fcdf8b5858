// An instruction the object loader poisoned (an unresolvable CO-RE relocation becomes
// `call 0xbad2310`, as libbpf does) fails the run only when it is reached.
#include <gtest/gtest.h>

#include "isa/decode.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::vm {
namespace {

using isa::make_raw;

Result<RunResult> run_raw(const std::vector<isa::RawInsn>& raw, uint64_t arg) {
  auto program = isa::decode(raw);
  if (!program) return program.take_error();
  auto interp = Interpreter::load(*program, HelperTable{});
  if (!interp) return interp.take_error();
  return interp->run(arg, 0);
}

const std::vector<isa::RawInsn> kProgram = {
    make_raw(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2, 0),            // if r1 == 0 goto +2
    make_raw(BPF_JMP | BPF_CALL, 0, 0, 0, 0xbad2310),           // poisoned
    make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7),          // r0 = 7
    make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
};

TEST(VmCorePoison, LoadsAndRunsWhileThePoisonedInstructionIsNotReached) {
  auto r = run_raw(kProgram, 0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->r0, 7u);
}

TEST(VmCorePoison, ReachingItFailsTheRunNamingTheInstruction) {
  auto r = run_raw(kProgram, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::fault);
  EXPECT_EQ(r.error().where.insn, 1);
  EXPECT_NE(r.error().message.find("CO-RE relocation failed"), std::string::npos);
}

}  // namespace
}  // namespace userbpf::vm
