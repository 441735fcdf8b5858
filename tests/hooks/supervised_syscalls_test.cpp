// Programs on syscall hooks of real commands run under the ptrace supervisor: what they read from
// the records, from the tracee's memory and from pt_regs is checked against what the scripts do.
#include <asm/unistd_64.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "hooks/supervisor.hpp"
#include "hooks/syscall_dispatcher.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"
#include "support/supervised_run.hpp"

namespace userbpf::hooks {
namespace {

constexpr size_t kNameLen = 64;

std::string hook_object() {
  return std::string(USERBPF_HOOK_PROG_DIR) + "/syscall_hooks.bpf.o";
}

class SupervisedSyscalls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(temp_.runtime(), nullptr) << temp_.error();
    rt_ = temp_.runtime();
    auto obj = object::open(hook_object());
    ASSERT_TRUE(obj) << obj.error().to_string();
    auto loaded = rt_->load(*obj);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    for (const runtime::ProgramRecord& record : *loaded) {
      auto hook = parse_hook_point(record.section);
      if (!hook) continue;  // the kprobe
      auto instance = rt_->instantiate(record);
      ASSERT_TRUE(instance) << instance.error().to_string();
      for (const auto& map : (*instance)->maps()) maps_[map->spec().name] = map;
      dispatcher_.attach(*hook, std::move(*instance));
    }
    ASSERT_EQ(dispatcher_.attached(), 4u);
    dispatcher_.set_on_error([this](const runtime::ProgramRecord& r, const Error& e) {
      run_errors_.push_back(r.name + ": " + e.to_string());
    });
    for (const char* name : {"a", "b", "c"}) std::ofstream(temp_.path(name)) << name << "\n";
  }

  // Runs `script` under sh, with a watchdog that detaches after 30 s so a bug cannot hang.
  Result<CommandOutcome> run_script(const std::string& script) {
    CommandSpec command;
    command.argv = {"sh", "-c", script};
    bool stopped = false;
    auto outcome = userbpf::testing::with_watchdog(
        supervisor_, std::chrono::seconds(30),
        [&] { return supervisor_.run(command, dispatcher_.interest(), dispatcher_); }, &stopped);
    EXPECT_FALSE(stopped) << "the watchdog had to stop: " << script;
    EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
    return outcome;
  }

  std::string path(const char* name) const { return temp_.path(name); }

  // A name-keyed map value (the maps use char[64] keys).
  template <class T>
  std::optional<T> by_name(const std::string& map, const std::string& name) {
    char key[kNameLen] = {};
    std::strncpy(key, name.c_str(), kNameLen - 1);
    T value{};
    if (maps_.at(map)->lookup_copy(key, &value) != 0) return std::nullopt;
    return value;
  }
  uint64_t raw_entries(uint32_t nr) {
    uint64_t value = 0;
    maps_.at("raw_entries")->lookup_copy(&nr, &value);
    return value;
  }
  uint64_t total_execs() {
    uint64_t total = 0;
    uint32_t key = 0, next = 0;
    const uint32_t* prev = nullptr;
    while (maps_.at("execs")->get_next_key(prev, &next) == 0) {
      uint64_t count = 0;
      maps_.at("execs")->lookup_copy(&next, &count);
      total += count;
      key = next;
      prev = &key;
    }
    return total;
  }

  userbpf::testing::TempRuntime temp_{"userbpf-hooks"};
  runtime::Runtime* rt_ = nullptr;
  SyscallDispatcher dispatcher_;
  PtraceSupervisor supervisor_;
  std::map<std::string, std::shared_ptr<maps::Map>> maps_;
  std::vector<std::string> run_errors_;
};

TEST_F(SupervisedSyscalls, OpenatNamesReadFromTheTraceeAndReturnValues) {
  const std::string script = "cat " + path("a") + " " + path("b") + " >/dev/null; cat " +
                             path("a") + " >/dev/null; cat " + path("missing") +
                             " 2>/dev/null; exit 5";
  auto outcome = run_script(script);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 5);
  EXPECT_FALSE(outcome->signaled);
  EXPECT_EQ(by_name<uint64_t>("opens", path("a")), 2u);
  EXPECT_EQ(by_name<uint64_t>("opens", path("b")), 1u);
  EXPECT_EQ(by_name<uint64_t>("opens", path("missing")), 1u);
  EXPECT_EQ(by_name<uint64_t>("opens", path("c")), std::nullopt);
  // sys_exit_openat: a descriptor for the files that exist, -ENOENT for the one that does not.
  auto ret_a = by_name<int64_t>("results", path("a"));
  ASSERT_TRUE(ret_a);
  EXPECT_GE(*ret_a, 3);
  EXPECT_EQ(by_name<int64_t>("results", path("missing")), -ENOENT);
  // One execve for sh and one per cat.
  EXPECT_EQ(total_execs(), 4u);
  // raw_tracepoint/sys_enter saw the same execves and opens, and pt_regs agreed with the id.
  EXPECT_EQ(raw_entries(__NR_execve), 4u);
  EXPECT_GE(raw_entries(__NR_openat), 4u);
  EXPECT_EQ(raw_entries(511), 0u);
}

TEST_F(SupervisedSyscalls, GrandchildrenAreFollowed) {
  const std::string script =
      "sh -c 'cat " + path("c") + " >/dev/null' & wait; (cat " + path("b") + ") >/dev/null";
  auto outcome = run_script(script);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  EXPECT_EQ(by_name<uint64_t>("opens", path("c")), 1u);
  EXPECT_EQ(by_name<uint64_t>("opens", path("b")), 1u);
  EXPECT_EQ(total_execs(), 4u);  // sh, the inner sh, two cats
  EXPECT_GE(outcome->processes, 4u);
}

TEST_F(SupervisedSyscalls, ACrashingTraceeLeavesTheSupervisorWorking) {
  auto crashed = run_script("cat " + path("a") + " >/dev/null; kill -SEGV $$");
  ASSERT_TRUE(crashed) << crashed.error().message;
  EXPECT_TRUE(crashed->signaled);
  EXPECT_EQ(crashed->exit_status, 128 + SIGSEGV);
  EXPECT_EQ(by_name<uint64_t>("opens", path("a")), 1u);

  auto next = run_script("cat " + path("a") + " >/dev/null");
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->exit_status, 0);
  EXPECT_EQ(by_name<uint64_t>("opens", path("a")), 2u);
}

TEST_F(SupervisedSyscalls, AMissingCommandFailsLikeAShell) {
  CommandSpec command;
  command.argv = {"/nonexistent/userbpf-no-such-command"};
  auto outcome = supervisor_.run(command, dispatcher_.interest(), dispatcher_);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 127);
}

TEST_F(SupervisedSyscalls, TracepointRecordHasTheKernelLayout) {
  SyscallEvent event;
  event.phase = SyscallPhase::enter;
  event.tid = 1234;
  event.nr = __NR_openat;
  event.args = {1, 2, 3, 4, 5, 6};
  const std::vector<uint8_t> record = dispatcher_.tracepoint_record(event);
  const auto host = read_syscall_tracepoint_format("sys_enter_openat");
  ASSERT_EQ(record.size(), host ? host->size : 64u);
  int32_t pid = 0, nr = 0;
  uint64_t arg0 = 0, arg3 = 0;
  std::memcpy(&pid, record.data() + 4, 4);
  std::memcpy(&nr, record.data() + 8, 4);
  std::memcpy(&arg0, record.data() + 16, 8);
  std::memcpy(&arg3, record.data() + 40, 8);
  EXPECT_EQ(pid, 1234);
  EXPECT_EQ(nr, __NR_openat);
  EXPECT_EQ(arg0, 1u);
  EXPECT_EQ(arg3, 4u);
  if (host) {
    uint16_t type = 0;
    std::memcpy(&type, record.data(), 2);
    EXPECT_EQ(type, host->id);
  }
  event.phase = SyscallPhase::exit;
  event.ret = -2;
  const std::vector<uint8_t> exit_record = dispatcher_.tracepoint_record(event);
  ASSERT_EQ(exit_record.size(), 24u);
  int64_t ret = 0;
  std::memcpy(&ret, exit_record.data() + 16, 8);
  EXPECT_EQ(ret, -2);
}

}  // namespace
}  // namespace userbpf::hooks
