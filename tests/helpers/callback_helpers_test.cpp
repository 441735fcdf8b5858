// bpf_loop and bpf_for_each_map_elem (callbacks into BPF functions), bpf_send_signal(_thread)
// delivered to a forked child, and the load-time refusal of gpl_only helpers for non-GPL
// programs.
#include <asm/ptrace.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "oracle/kernel.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

using testing::bytes_of;
using testing::from_bytes;
using testing::load_program;

struct LoopArgs {
  uint32_t n;
  uint32_t stop_at;
  uint64_t flags;
  uint64_t sum;
  int64_t result;
};

LoopArgs run_loop(RunnableProgram& prog, LoopArgs a, bool checked, Error* error = nullptr) {
  TestRunInput in;
  in.ctx_in = bytes_of(a);
  in.checked = checked;
  auto out = test_run(prog, in);
  if (!out) {
    if (error) *error = out.error();
    return LoopArgs{};
  }
  return from_bytes<LoopArgs>(out->ctx_out);
}

TEST(CallbackHelpers, LoopCallsUntilDoneOrStopped) {
  auto loaded = load_program("helpers_syscall.bpf.o", "loop");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (bool checked : {true, false}) {
    LoopArgs a = run_loop(*loaded->prog, {10, ~0u, 0, 0, 0}, checked);
    EXPECT_EQ(a.result, 10);
    EXPECT_EQ(a.sum, 45u);
    a = run_loop(*loaded->prog, {10, 3, 0, 0, 0}, checked);
    EXPECT_EQ(a.result, 4);  // the stopping call counts
    EXPECT_EQ(a.sum, 6u);
    a = run_loop(*loaded->prog, {0, ~0u, 0, 0, 0}, checked);
    EXPECT_EQ(a.result, 0);
    a = run_loop(*loaded->prog, {(1u << 23) + 1, ~0u, 0, 0, 0}, checked);
    EXPECT_EQ(a.result, -E2BIG);
    EXPECT_EQ(a.sum, 0u);
    a = run_loop(*loaded->prog, {3, ~0u, 1, 0, 0}, checked);
    EXPECT_EQ(a.result, -EINVAL);
  }
}

TEST(CallbackHelpers, LoopAtTheLimitAndTheCheckedBudget) {
  auto loaded = load_program("helpers_syscall.bpf.o", "loop");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  const uint32_t n = 1u << 23;
  const auto start = std::chrono::steady_clock::now();
  LoopArgs a = run_loop(*loaded->prog, {n, ~0u, 0, 0, 0}, false);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(a.result, static_cast<int64_t>(n));
  EXPECT_EQ(a.sum, uint64_t{n} * (n - 1) / 2);
  std::cout << "[          ] bpf_loop of 2^23 callbacks (unchecked): " << ms << " ms\n";
  // Checked runs keep Linux's budget of 1M instructions across callbacks.
  Error error;
  run_loop(*loaded->prog, {n, ~0u, 0, 0, 0}, true, &error);
  EXPECT_EQ(error.code, Errc::budget) << error.to_string();
}

struct EachArgs {
  uint32_t stop_key;
  uint32_t delete_odd;
  uint64_t key_sum;
  uint64_t value_sum;
  int64_t visited;
};

TEST(CallbackHelpers, ForEachMapElemOverAnArray) {
  auto loaded = load_program("helpers_syscall.bpf.o", "each_array");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (bool checked : {true, false}) {
    TestRunInput in;
    in.checked = checked;
    in.ctx_in = bytes_of(EachArgs{~0u, 0, 0, 0, 0});
    auto out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto a = from_bytes<EachArgs>(out->ctx_out);
    EXPECT_EQ(a.visited, 8);
    EXPECT_EQ(a.key_sum, 28u);
    EXPECT_EQ(a.value_sum, 140u);  // sum of i*i, i < 8
    // The callback incremented the map's own values.
    maps::Map& numbers = *loaded->prog->maps().front();
    for (uint32_t i = 0; i < 8; ++i) {
      uint64_t v = 0;
      ASSERT_EQ(numbers.lookup_copy(&i, &v), 0);
      EXPECT_EQ(v, uint64_t{i} * i + 1);
    }
    in.ctx_in = bytes_of(EachArgs{3, 0, 0, 0, 0});
    out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    a = from_bytes<EachArgs>(out->ctx_out);
    EXPECT_EQ(a.visited, 4);
    EXPECT_EQ(a.key_sum, 6u);
    EXPECT_EQ(a.value_sum, 14u);
  }
}

TEST(CallbackHelpers, ForEachMapElemOverAHashWithDeletes) {
  auto loaded = load_program("helpers_syscall.bpf.o", "each_hash");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (bool checked : {true, false}) {
    TestRunInput in;
    in.checked = checked;
    in.ctx_in = bytes_of(EachArgs{~0u, 0, 0, 0, 0});
    auto out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto a = from_bytes<EachArgs>(out->ctx_out);
    EXPECT_EQ(a.visited, 10);
    EXPECT_EQ(a.key_sum, 1045u);
    EXPECT_EQ(a.value_sum, 45u);
    EXPECT_EQ(out->retval, 10u * 1000 + 45 + 10);  // every value incremented once

    in.ctx_in = bytes_of(EachArgs{~0u, 1, 0, 0, 0});
    out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    a = from_bytes<EachArgs>(out->ctx_out);
    EXPECT_EQ(a.visited, 10);
    EXPECT_EQ(out->retval, 5u * 1000 + (0 + 2 + 4 + 6 + 8) + 5);  // the even keys are left
  }
}

// Runs kprobe_signal for a task: the signal in the first argument register, the thread variant
// when the second is set.
int64_t signal_task(RunnableProgram& prog, const helpers::TaskInfo& task, int sig, bool thread) {
  prog.env().task = task;
  pt_regs regs{};
  regs.rdi = static_cast<unsigned long>(sig);
  regs.rsi = thread ? 1 : 0;
  TestRunInput in;
  in.ctx_in = bytes_of(regs);
  auto out = test_run(prog, in);
  prog.env().task = {};
  EXPECT_TRUE(out.ok()) << out.error().to_string();
  return out.ok() ? static_cast<int64_t>(out->retval) : 0;
}

TEST(CallbackHelpers, SendSignalReachesTheCurrentTask) {
  auto loaded = load_program("tracing_ctx.bpf.o", "kprobe_signal");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  RunnableProgram& prog = *loaded->prog;

  // No current task (a plain test run): refused.
  EXPECT_EQ(signal_task(prog, {}, SIGUSR1, false), -EPERM);

  for (bool thread : {false, true}) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (;;) pause();
    }
    helpers::TaskInfo task;
    task.valid = true;
    task.pid = child;
    task.tgid = child;
    const int sig = thread ? SIGTERM : SIGUSR1;
    EXPECT_EQ(signal_task(prog, task, 65, thread), -EINVAL);  // not a signal
    const int64_t sent = signal_task(prog, task, sig, thread);
    EXPECT_EQ(sent, 0);
    if (sent != 0) kill(child, SIGKILL);  // never leave the child waiting
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), sig);
    // The task is gone now: the kernel's answer for a dead target.
    EXPECT_EQ(signal_task(prog, task, sig, thread), -ESRCH);
  }

  helpers::TaskInfo init;
  init.valid = true;
  init.pid = init.tgid = 1;
  EXPECT_EQ(signal_task(prog, init, SIGUSR1, false), -EPERM);
}

TEST(CallbackHelpers, GplOnlyHelpersAreRefusedForNonGplPrograms) {
  auto prints = load_program("non_gpl.bpf.o", "prints");
  ASSERT_FALSE(prints->prog);
  // The verifier refuses it at load with Linux's message.
  EXPECT_NE(prints->error.find("cannot call GPL-restricted function from non-GPL compatible "
                               "program"),
            std::string::npos)
      << prints->error;
  EXPECT_NE(prints->error.find("insn "), std::string::npos) << prints->error;

  auto plain = load_program("non_gpl.bpf.o", "plain");
  ASSERT_TRUE(plain->prog) << plain->error;
  TestRunInput in;
  in.data_in.assign(64, 0);
  auto out = test_run(*plain->prog, in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->retval, static_cast<uint64_t>(XDP_PASS));

  // Linux agrees on both.
  if (!oracle::kernel_bpf_status().available) GTEST_SKIP() << oracle::kernel_bpf_status().reason;
  testing::KernelObject kernel_prints("non_gpl.bpf.o", "prints");
  EXPECT_NE(kernel_prints.error(), "");
  testing::KernelObject kernel_plain("non_gpl.bpf.o", "plain");
  EXPECT_EQ(kernel_plain.error(), "");
}

}  // namespace
}  // namespace userbpf::runtime
