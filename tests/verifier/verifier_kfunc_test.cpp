// Kernel function calls and open-coded iterators in the verifier (kfunc_check.cpp,
// kfunc_iter.cpp, kfunc_table.cpp): each case is an assembled program whose `call kfunc N` names
// the N-th kfunc of the case (the loader records names the same way, by instruction), with the
// verdict and message Linux 6.12 gives. The host kernel cannot be asked about raw programs here:
// it resolves kfunc calls by vmlinux BTF ids; the selftests harness compares compiled programs.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "object/object.hpp"
#include "support/verifier_asm_cases.hpp"
#include "verifier/kfunc_table.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;

struct Case {
  const char* name;
  uint32_t prog_type;
  std::vector<const char*> kfuncs;  // `call kfunc N` calls kfuncs[N]
  const char* text;
  const char* message;  // the refusal; "" when the program must be accepted
  bool privileged = true;
  bool sleepable = false;
};

// r1 = &it (fp-8), the iterator of the num cases.
#define IT8 "mov %r1, %r10\nadd %r1, -8\n"

const Case kCases[] = {
    {"iter_num_loop",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 100\ncall kfunc 0\nmov %r6, 0\n"
         "loop:\n" IT8 "call kfunc 1\njeq %r0, 0, done\nldxw %r2, [%r0]\nadd %r6, %r2\nja loop\n"
         "done:\n" IT8 "call kfunc 2\nmov %r0, 0\nexit",
     ""},
    // A counter bounded by a check inside the loop indexes the stack: the loop converges by
    // widening the counter, the check keeps the access in bounds.
    {"iter_num_loop_counter",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     "stdw [%r10-16], 0\nstdw [%r10-24], 0\n" IT8
     "mov %r2, 0\nmov %r3, 1000\ncall kfunc 0\nmov %r6, 0\n"
     "loop:\n" IT8 "call kfunc 1\njeq %r0, 0, done\njge %r6, 16, loop\nmov %r2, %r10\n"
     "add %r2, -24\nadd %r2, %r6\nstb [%r2], 1\nadd %r6, 1\nja loop\n"
     "done:\n" IT8 "call kfunc 2\nmov %r0, 0\nexit",
     ""},
    {"iter_num_counter_unchecked",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     "stdw [%r10-16], 0\nstdw [%r10-24], 0\n" IT8
     "mov %r2, 0\nmov %r3, 1000\ncall kfunc 0\nmov %r6, 0\n"
     "loop:\n" IT8 "call kfunc 1\njeq %r0, 0, done\nmov %r2, %r10\n"
     "add %r2, -24\nadd %r2, %r6\nstb [%r2], 1\nadd %r6, 1\nja loop\n"
     "done:\n" IT8 "call kfunc 2\nmov %r0, 0\nexit",
     // Linux runs the counter to 24 and refuses the write at fp+0; userbpf widens the counter
     // after 8 iterations and refuses the unbounded offset.
     "math between fp pointer and register with unbounded min value is not allowed"},
    {"iter_num_no_destroy",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8 "call kfunc 1\nmov %r0, 0\nexit",
     "Unreleased reference id=1 alloc_insn=4"},
    {"iter_num_next_uninit",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_next"},
     "stdw [%r10-8], 0\n" IT8 "call kfunc 0\nmov %r0, 0\nexit",
     "expected an initialized iter_num as arg #0"},
    {"iter_num_destroy_uninit",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_destroy"},
     "stdw [%r10-8], 0\n" IT8 "call kfunc 0\nmov %r0, 0\nexit",
     "expected an initialized iter_num as arg #0"},
    {"iter_num_new_twice",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8
         "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\nmov %r0, 0\nexit",
     "expected uninitialized iter_num as arg #0"},
    {"iter_num_used_after_destroy",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8 "call kfunc 2\n" IT8
         "call kfunc 1\nmov %r0, 0\nexit",
     "expected an initialized iter_num as arg #0"},
    {"iter_num_element_not_null_checked",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8 "call kfunc 1\nldxw %r6, [%r0]\n" IT8
         "call kfunc 2\nmov %r0, 0\nexit",
     // The drained path (r0 = NULL) is explored first, as in Linux.
     "R0 invalid mem access 'scalar'"},
    {"iter_num_element_is_read_only",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8
         "call kfunc 1\njeq %r0, 0, out\nstw [%r0], 1\nout:\n" IT8 "call kfunc 2\nmov %r0, 0\nexit",
     "R0 cannot write into rdonly_mem"},
    {"iter_num_element_past_its_size",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\n" IT8
         "call kfunc 1\njeq %r0, 0, out\nldxdw %r6, [%r0]\nout:\n" IT8
         "call kfunc 2\nmov %r0, 0\nexit",
     "invalid access to memory, mem_size=4 off=0 size=8"},
    {"iter_num_read_iterator_state",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_num_destroy"},
     IT8 "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\nldxdw %r6, [%r10-8]\n" IT8
         "call kfunc 1\nmov %r0, 0\nexit",
     "invalid read from stack"},
    {"iter_num_misaligned",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new"},
     "mov %r1, %r10\nadd %r1, -12\nmov %r2, 0\nmov %r3, 10\ncall kfunc 0\nmov %r0, 0\nexit",
     "cannot pass in iter at an offset=-12"},
    {"iter_num_not_on_stack",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new"},
     "mov %r2, 0\nmov %r3, 10\ncall kfunc 0\nmov %r0, 0\nexit",
     "arg#0 expected pointer to an iterator on stack"},
    {"iter_bits_loop",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_bits_new", "bpf_iter_bits_next", "bpf_iter_bits_destroy"},
     "mov %r1, %r10\nadd %r1, -16\nmov %r2, 0\nmov %r3, 1\ncall kfunc 0\n"
     "loop:\nmov %r1, %r10\nadd %r1, -16\ncall kfunc 1\njne %r0, 0, loop\n"
     "mov %r1, %r10\nadd %r1, -16\ncall kfunc 2\nmov %r0, 0\nexit",
     ""},
    {"iter_bits_type_mismatch",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_iter_num_new", "bpf_iter_bits_next"},
     "mov %r1, %r10\nadd %r1, -16\nmov %r2, 0\nmov %r3, 1\ncall kfunc 0\n"
     "mov %r1, %r10\nadd %r1, -16\ncall kfunc 1\nmov %r0, 0\nexit",
     "expected an initialized iter_bits as arg #0"},
    // Reference-counted kernel objects (generic_btf_ids: tracing, syscall, tc, xdp, ...).
    {"task_from_pid_released",
     BPF_PROG_TYPE_TRACEPOINT,
     {"bpf_task_from_pid", "bpf_task_acquire", "bpf_task_release"},
     "mov %r1, 1\ncall kfunc 0\njeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r0\ncall kfunc 1\n"
     "jeq %r0, 0, rel\nmov %r1, %r0\ncall kfunc 2\nrel:\nmov %r1, %r6\ncall kfunc 2\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    {"task_from_pid_leaked",
     BPF_PROG_TYPE_TRACEPOINT,
     {"bpf_task_from_pid"},
     "mov %r1, 1\ncall kfunc 0\nmov %r0, 0\nexit",
     "Unreleased reference id=2 alloc_insn=1"},
    {"task_release_maybe_null",
     BPF_PROG_TYPE_SYSCALL,
     {"bpf_task_from_pid", "bpf_task_release"},
     "mov %r1, 1\ncall kfunc 0\nmov %r1, %r0\ncall kfunc 1\nmov %r0, 0\nexit",
     "Possibly NULL pointer passed to trusted arg0"},
    {"task_released_twice",
     BPF_PROG_TYPE_SYSCALL,
     {"bpf_task_from_pid", "bpf_task_release"},
     "mov %r1, 1\ncall kfunc 0\njeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r0\ncall kfunc 1\n"
     "mov %r1, %r6\ncall kfunc 1\nout:\nmov %r0, 0\nexit",
     // The release turned every copy into an unknown scalar (mark_reg_invalid for root).
     "arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar"},
    {"task_release_scalar",
     BPF_PROG_TYPE_SYSCALL,
     {"bpf_task_release"},
     "mov %r1, 1\ncall kfunc 0\nmov %r0, 0\nexit",
     "arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar"},
    {"task_acquire_current",
     BPF_PROG_TYPE_TRACING,
     {"bpf_task_acquire", "bpf_task_release"},
     "call 158\nmov %r1, %r0\ncall kfunc 0\njeq %r0, 0, out\nmov %r1, %r0\ncall kfunc 1\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    {"task_kfunc_in_raw_tp",
     BPF_PROG_TYPE_RAW_TRACEPOINT,
     {"bpf_task_from_pid"},
     "mov %r1, 1\ncall kfunc 0\nmov %r0, 0\nexit",
     "calling kernel function bpf_task_from_pid is not allowed"},
    {"cpumask_wrong_type_released",
     BPF_PROG_TYPE_SYSCALL,
     {"bpf_cpumask_create", "bpf_task_release"},
     "call kfunc 0\njeq %r0, 0, out\nmov %r1, %r0\ncall kfunc 1\nout:\nmov %r0, 0\nexit",
     "kernel function bpf_task_release args#0 expected pointer to STRUCT task_struct but R1 has "
     "a pointer to STRUCT bpf_cpumask"},
    {"cpumask_as_cpumask",
     BPF_PROG_TYPE_SYSCALL,
     {"bpf_cpumask_create", "bpf_cpumask_test_cpu", "bpf_cpumask_release"},
     "call kfunc 0\njeq %r0, 0, out\nmov %r6, %r0\nmov %r1, 0\nmov %r2, %r0\ncall kfunc 1\n"
     "mov %r1, %r6\ncall kfunc 2\nout:\nmov %r0, 0\nexit",
     ""},
    // RCU read sections and preemption.
    {"rcu_lock_unlock",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_rcu_read_lock", "bpf_rcu_read_unlock"},
     "call kfunc 0\ncall kfunc 1\nmov %r0, 0\nexit",
     ""},
    {"rcu_unlock_missing",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_rcu_read_lock"},
     "call kfunc 0\nmov %r0, 0\nexit",
     "bpf_rcu_read_unlock is missing"},
    {"rcu_unlock_unmatched",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_rcu_read_unlock"},
     "call kfunc 0\nmov %r0, 0\nexit",
     "unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)"},
    {"rcu_lock_nested",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_rcu_read_lock"},
     "call kfunc 0\ncall kfunc 0\nmov %r0, 0\nexit",
     "nested rcu read lock (kernel function bpf_rcu_read_lock)"},
    {"preempt_enable_missing",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_preempt_disable", "bpf_preempt_enable"},
     "call kfunc 0\ncall kfunc 0\ncall kfunc 1\nmov %r0, 0\nexit",
     "1 bpf_preempt_enable is missing"},
    // Sleepable kfuncs need a sleepable program; unprivileged programs call no kfuncs.
    {"sleepable_kfunc_not_sleepable",
     BPF_PROG_TYPE_TRACING,
     {"bpf_lookup_user_key"},
     "mov %r1, 0\nmov %r2, 0\ncall kfunc 0\nmov %r0, 0\nexit",
     "program must be sleepable to call sleepable kfunc bpf_lookup_user_key"},
    {"sleepable_kfunc_sleepable",
     BPF_PROG_TYPE_TRACING,
     {"bpf_lookup_user_key", "bpf_key_put"},
     "mov %r1, 0\nmov %r2, 0\ncall kfunc 0\njeq %r0, 0, out\nmov %r1, %r0\ncall kfunc 1\n"
     "out:\nmov %r0, 0\nexit",
     "",
     true,
     true},
    {"unprivileged",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_rcu_read_lock"},
     "call kfunc 0\nmov %r0, 0\nexit",
     "calling kernel functions are not allowed in unprivileged programs",
     false},
    {"unknown_kfunc",
     BPF_PROG_TYPE_SOCKET_FILTER,
     {"bpf_no_such_kfunc"},
     "call kfunc 0\nmov %r0, 0\nexit",
     "userbpf: kernel function bpf_no_such_kfunc is not in userbpf's kfunc table"},
    {"kern_ctx_cast",
     BPF_PROG_TYPE_SCHED_CLS,
     {"bpf_cast_to_kern_ctx"},
     "call kfunc 0\nmov %r0, 0\nexit",
     ""},
    {"kern_ctx_cast_not_ctx",
     BPF_PROG_TYPE_SCHED_CLS,
     {"bpf_cast_to_kern_ctx"},
     "mov %r1, %r10\ncall kfunc 0\nmov %r0, 0\nexit",
     "arg#0 expected pointer to ctx, but got fp"},
    {"rdonly_cast_needs_constant",
     BPF_PROG_TYPE_SCHED_CLS,
     {"bpf_rdonly_cast"},
     "ldxw %r2, [%r1+0]\ncall kfunc 0\nmov %r0, 0\nexit",
     "R2 must be a known constant"},
    {"rdonly_cast_result_not_dereferenced",
     BPF_PROG_TYPE_SCHED_CLS,
     {"bpf_rdonly_cast"},
     "mov %r2, 5\ncall kfunc 0\nldxw %r0, [%r0+0]\nexit",
     "R0 invalid mem access"},
};

Program program_of(const Case& c) {
  Program p;
  p.insns = assemble_or_fail(c.text);
  p.prog_type = c.prog_type;
  p.gpl = true;
  p.sleepable = c.sleepable;
  p.name = c.name;
  for (uint32_t i = 0; i < p.insns.size(); ++i) {
    const isa::RawInsn& insn = p.insns[i];
    if (insn.code != (BPF_JMP | BPF_CALL) || insn.src_reg != BPF_PSEUDO_KFUNC_CALL) continue;
    KfuncCall call;
    call.insn = i;
    call.name = c.kfuncs.at(static_cast<size_t>(insn.imm));
    p.kfunc_calls.push_back(call);
  }
  return p;
}

class VerifierKfunc : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierKfunc, Verdict) {
  const Case& c = GetParam();
  Options options;
  options.privileged = c.privileged;
  auto verdict = verify(program_of(c), options);
  ASSERT_TRUE(verdict) << verdict.error().to_string();
  const std::string expected = c.message;
  if (expected.empty()) {
    EXPECT_TRUE(verdict->accepted)
        << verdict->diagnosis.message << " at insn " << verdict->diagnosis.insn;
  } else {
    EXPECT_FALSE(verdict->accepted);
    EXPECT_NE(verdict->diagnosis.message.find(expected), std::string::npos)
        << "got: " << verdict->diagnosis.message << " at insn " << verdict->diagnosis.insn;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, VerifierKfunc, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(VerifierKfuncTable, PrototypesParseAsTheKernelDeclaresThem) {
  const KfuncDef* bits = find_kfunc("bpf_iter_bits_new");
  ASSERT_NE(bits, nullptr);
  ASSERT_EQ(bits->proto.params.size(), 3u);
  EXPECT_TRUE(bits->proto.params[0].pointer);
  EXPECT_TRUE(bits->proto.params[0].is_struct);
  EXPECT_EQ(bits->proto.params[0].type, "bpf_iter_bits");
  EXPECT_EQ(bits->proto.params[0].size, 16u);
  EXPECT_EQ(bits->proto.params[1].name, "unsafe_ptr__ign");
  EXPECT_EQ(bits->proto.params[1].type, "u64");
  EXPECT_EQ(bits->proto.params[2].size, 4u);
  EXPECT_EQ(bits->proto.ret.type, "int");
  EXPECT_FALSE(bits->proto.ret.pointer);
  const KfuncDef* next = find_kfunc("bpf_iter_num_next");
  ASSERT_NE(next, nullptr);
  EXPECT_TRUE(next->proto.ret.pointer);
  EXPECT_EQ(next->proto.ret.size, 4u);
  EXPECT_TRUE(next->flags & kf::kIterNext);
  const KfuncDef* lock = find_kfunc("bpf_rcu_read_lock");
  ASSERT_NE(lock, nullptr);
  EXPECT_TRUE(lock->proto.params.empty());
  EXPECT_EQ(lock->proto.ret.type, "void");
}

TEST(VerifierKfuncTable, AvailabilityFollowsTheKernelsHooks) {
  const KfuncDef* task = find_kfunc("bpf_task_acquire");
  ASSERT_NE(task, nullptr);
  EXPECT_TRUE(kfunc_allowed(*task, BPF_PROG_TYPE_TRACING));
  EXPECT_TRUE(kfunc_allowed(*task, BPF_PROG_TYPE_PERF_EVENT));
  EXPECT_TRUE(kfunc_allowed(*task, BPF_PROG_TYPE_SYSCALL));
  EXPECT_TRUE(kfunc_allowed(*task, BPF_PROG_TYPE_CGROUP_SOCK_ADDR));
  EXPECT_FALSE(kfunc_allowed(*task, BPF_PROG_TYPE_RAW_TRACEPOINT));
  EXPECT_FALSE(kfunc_allowed(*task, BPF_PROG_TYPE_SOCKET_FILTER));
  const KfuncDef* file = find_kfunc("bpf_get_task_exe_file");
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(kfunc_allowed(*file, BPF_PROG_TYPE_LSM));
  EXPECT_FALSE(kfunc_allowed(*file, BPF_PROG_TYPE_TRACING));
  const KfuncDef* num = find_kfunc("bpf_iter_num_new");
  ASSERT_NE(num, nullptr);
  EXPECT_TRUE(kfunc_allowed(*num, BPF_PROG_TYPE_RAW_TRACEPOINT));
  EXPECT_EQ(find_kfunc("bpf_no_such_kfunc"), nullptr);
}

}  // namespace
}  // namespace userbpf::verifier

namespace userbpf::object {
namespace {

// Kfunc availability depends on the program type: SEC("?tp_btf/...") (libbpf: not autoloaded,
// otherwise the same section) must classify like SEC("tp_btf/...").
TEST(VerifierKfuncSections, NotAutoloadedSectionsKeepTheirType) {
  const SectionDef plain = classify_section("tp_btf/task_newtask");
  const SectionDef optional = classify_section("?tp_btf/task_newtask");
  EXPECT_TRUE(optional.known);
  EXPECT_EQ(optional.prog_type, plain.prog_type);
  EXPECT_EQ(optional.prog_type, static_cast<uint32_t>(BPF_PROG_TYPE_TRACING));
  EXPECT_EQ(optional.attach_target, "task_newtask");
}

}  // namespace
}  // namespace userbpf::object
