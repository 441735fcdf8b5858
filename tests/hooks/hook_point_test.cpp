// Hook point names, the generated syscall table and tracefs format parsing.
#include "hooks/hook_point.hpp"

#include <asm/unistd_64.h>
#include <gtest/gtest.h>

#include "hooks/hook_source.hpp"
#include "hooks/syscall_table.hpp"
#include "hooks/tracefs_format.hpp"

namespace userbpf::hooks {
namespace {

TEST(SyscallTable, NamesAndNumbersComeFromTheHeader) {
  EXPECT_EQ(syscall_number("read"), __NR_read);
  EXPECT_EQ(syscall_number("openat"), __NR_openat);
  EXPECT_EQ(syscall_number("execve"), __NR_execve);
  EXPECT_EQ(syscall_number("clone3"), __NR_clone3);
  EXPECT_EQ(syscall_number("no_such_call"), std::nullopt);
  EXPECT_EQ(syscall_name(__NR_execve), "execve");
  EXPECT_EQ(syscall_name(-1), "");
  EXPECT_GT(syscall_count(), __NR_clone3);
}

TEST(HookPoint, ParsesSyscallTracepointsAndRawTracepoints) {
  auto enter = parse_hook_point("tracepoint/syscalls/sys_enter_execve");
  ASSERT_TRUE(enter) << enter.error().message;
  EXPECT_EQ(enter->phase, SyscallPhase::enter);
  EXPECT_FALSE(enter->raw);
  EXPECT_EQ(enter->nr, __NR_execve);
  EXPECT_EQ(enter->name(), "tracepoint/syscalls/sys_enter_execve");

  auto exit = parse_hook_point("tp/syscalls/sys_exit_openat");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->phase, SyscallPhase::exit);
  EXPECT_EQ(exit->nr, __NR_openat);
  EXPECT_TRUE(exit->matches(SyscallPhase::exit, __NR_openat));
  EXPECT_FALSE(exit->matches(SyscallPhase::enter, __NR_openat));
  EXPECT_FALSE(exit->matches(SyscallPhase::exit, __NR_read));

  auto raw = parse_hook_point("raw_tp/sys_exit");
  ASSERT_TRUE(raw);
  EXPECT_TRUE(raw->raw);
  EXPECT_TRUE(raw->matches(SyscallPhase::exit, __NR_read));
  EXPECT_EQ(raw->name(), "raw_tracepoint/sys_exit");
}

TEST(HookPoint, RefusesOtherSectionsPrecisely) {
  EXPECT_EQ(parse_hook_point("kprobe/do_sys_open").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("tracepoint/sched/sched_switch").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("raw_tracepoint/sched_switch").error().code, Errc::unsupported);
  auto missing = parse_hook_point("tracepoint/syscalls/sys_enter_frobnicate");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("frobnicate"), std::string::npos);
}

TEST(SyscallInterest, TracksEnterExitAndRaw) {
  SyscallInterest interest;
  EXPECT_TRUE(interest.empty());
  interest.add(*parse_hook_point("tracepoint/syscalls/sys_exit_openat"));
  EXPECT_TRUE(interest.wants(SyscallPhase::exit, __NR_openat));
  EXPECT_FALSE(interest.wants(SyscallPhase::enter, __NR_openat));
  EXPECT_FALSE(interest.wants_any(__NR_read));
  interest.add(*parse_hook_point("raw_tracepoint/sys_enter"));
  EXPECT_TRUE(interest.wants(SyscallPhase::enter, __NR_read));
  EXPECT_FALSE(interest.wants(SyscallPhase::exit, __NR_read));
}

TEST(TracefsFormat, ParsesIdAndRecordSize) {
  const char* text =
      "name: sys_enter_openat\nID: 782\nformat:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
      "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
      "\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n"
      "\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\nprint fmt: \"\"\n";
  auto format = parse_tracepoint_format(text);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->id, 782);
  EXPECT_EQ(format->size, 48u);
  EXPECT_FALSE(parse_tracepoint_format("name: x\nformat:\n"));
}

}  // namespace
}  // namespace userbpf::hooks
