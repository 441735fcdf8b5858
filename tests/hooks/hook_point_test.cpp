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
  EXPECT_FALSE(enter->raw());
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
  EXPECT_TRUE(raw->raw());
  EXPECT_TRUE(raw->matches(SyscallPhase::exit, __NR_read));
  EXPECT_EQ(raw->name(), "raw_tracepoint/sys_exit");
}

TEST(HookPoint, RefusesOtherSectionsPrecisely) {
  EXPECT_EQ(parse_hook_point("kprobe/do_sys_open").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("kprobe/__x64_sys_execve+4").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("kprobe/sys_execve").error().code, Errc::not_found);
  EXPECT_EQ(parse_hook_point("ksyscall/frobnicate").error().code, Errc::not_found);
  EXPECT_EQ(parse_hook_point("ksyscall").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("tracepoint/sched/sched_wakeup").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("tracepoint/sched/sched_switch").error().code, Errc::unsupported);
  EXPECT_EQ(parse_hook_point("raw_tracepoint/sched_switch").error().code, Errc::unsupported);
  auto missing = parse_hook_point("tracepoint/syscalls/sys_enter_frobnicate");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("frobnicate"), std::string::npos);
}

TEST(HookPoint, ParsesKprobesOnSyscallWrappersAndKsyscall) {
  auto kprobe = parse_hook_point("kprobe/__x64_sys_execve");
  ASSERT_TRUE(kprobe) << kprobe.error().message;
  EXPECT_EQ(kprobe->kind, HookKind::syscall_kprobe);
  EXPECT_EQ(kprobe->phase, SyscallPhase::enter);
  EXPECT_EQ(kprobe->nr, __NR_execve);
  EXPECT_TRUE(kprobe->matches(SyscallPhase::enter, __NR_execve));
  EXPECT_FALSE(kprobe->matches(SyscallPhase::exit, __NR_execve));
  EXPECT_EQ(kprobe->name(), "kprobe/__x64_sys_execve");

  auto ret = parse_hook_point("kretprobe/__x64_sys_openat");
  ASSERT_TRUE(ret);
  EXPECT_EQ(ret->phase, SyscallPhase::exit);
  EXPECT_EQ(ret->nr, __NR_openat);
  EXPECT_EQ(ret->name(), "kretprobe/__x64_sys_openat");

  // libbpf's ksyscall/kretsyscall resolve to the same wrappers.
  auto ks = parse_hook_point("ksyscall/clone");
  ASSERT_TRUE(ks);
  EXPECT_EQ(ks->kind, HookKind::syscall_kprobe);
  EXPECT_EQ(ks->nr, __NR_clone);
  EXPECT_EQ(ks->name(), "kprobe/__x64_sys_clone");
  auto kr = parse_hook_point("kretsyscall/read");
  ASSERT_TRUE(kr);
  EXPECT_EQ(kr->phase, SyscallPhase::exit);
  EXPECT_EQ(kr->nr, __NR_read);
  EXPECT_TRUE(parse_hook_point("kprobe/__x64_sys_execve+0"));
}

TEST(HookPoint, ParsesSchedProcessTracepoints) {
  const std::pair<const char*, HookKind> cases[] = {
      {"tracepoint/sched/sched_process_exec", HookKind::process_exec},
      {"tp/sched/sched_process_fork", HookKind::process_fork},
      {"tp/sched/sched_process_exit", HookKind::process_exit}};
  for (const auto& [section, kind] : cases) {
    auto hook = parse_hook_point(section);
    ASSERT_TRUE(hook) << section;
    EXPECT_EQ(hook->kind, kind);
    EXPECT_FALSE(hook->matches(SyscallPhase::enter, __NR_execve));
    EXPECT_FALSE(hook->is_syscall());
  }
  auto exec = parse_hook_point("tp/sched/sched_process_exec");
  EXPECT_TRUE(exec->matches(ProcessEventKind::exec));
  EXPECT_FALSE(exec->matches(ProcessEventKind::exit));
  EXPECT_EQ(exec->name(), "tracepoint/sched/sched_process_exec");
}

TEST(HookInterest, ProcessEventsAndExecNameCapture) {
  HookInterest interest;
  interest.add(*parse_hook_point("tp/sched/sched_process_fork"));
  EXPECT_TRUE(interest.process_fork);
  EXPECT_FALSE(interest.stops_at(__NR_execve));
  EXPECT_FALSE(interest.empty());
  interest.add(*parse_hook_point("tp/sched/sched_process_exec"));
  // The file name is captured at the execve entry: a stop, but no syscall event.
  EXPECT_TRUE(interest.stops_at(__NR_execve));
  EXPECT_TRUE(interest.stops_at(__NR_execveat));
  EXPECT_FALSE(interest.wants(SyscallPhase::enter, __NR_execve));
  interest.add(*parse_hook_point("kretsyscall/getpid"));
  EXPECT_TRUE(interest.wants(SyscallPhase::exit, __NR_getpid));
  EXPECT_FALSE(interest.wants(SyscallPhase::enter, __NR_getpid));
  EXPECT_FALSE(interest.stops_at(__NR_read));
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

TEST(TracefsFormat, ParsesFieldsIncludingDataLoc) {
  const char* text =
      "name: sched_process_exec\nID: 365\nformat:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
      "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n";
  auto format = parse_tracepoint_format(text);
  ASSERT_TRUE(format);
  ASSERT_EQ(format->fields.size(), 3u);
  EXPECT_EQ(format->fields[0].name, "common_type");
  EXPECT_EQ(format->fields[1].name, "filename");
  EXPECT_TRUE(format->fields[1].data_loc);
  EXPECT_EQ(format->fields[1].offset, 8u);
  EXPECT_EQ(format->fields[2].name, "comm");
  EXPECT_FALSE(format->fields[2].data_loc);
  EXPECT_EQ(format->fields[2].size, 16u);
  EXPECT_EQ(format->size, 28u);
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
