// Uprobes and uretprobes in supervised processes: the target program (tests/hooks/uprobe_target)
// makes known calls with known arguments in its own code and in a shared library it links; the
// programs (tests/hooks/uprobe_progs/uprobes.bpf.c) record each call under a key naming it. The
// tests check every call was seen exactly once with its arguments and return value, for every
// section form, across a fork, and that a detach mid-run leaves the process running correctly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "hooks/event_dispatcher.hpp"
#include "hooks/supervisor.hpp"
#include "hooks/uprobe_target.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"
#include "support/supervised_run.hpp"
#include "support/uprobe_calls.hpp"

namespace userbpf::hooks {
namespace {

using namespace uprobe_test;

constexpr uint64_t kCookie = 0xC00C1E;

// The symbol's address as binutils' nm prints it: an independent check of the ELF reading.
std::optional<uint64_t> nm_address(const std::string& file, const std::string& symbol) {
  const std::string command = "nm " + file + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  char line[512];
  std::optional<uint64_t> out;
  while (std::fgets(line, sizeof(line), pipe)) {
    unsigned long long addr = 0;
    char type = 0;
    char name[256] = {};
    if (std::sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 && symbol == name) out = addr;
  }
  pclose(pipe);
  return out;
}

class Uprobes : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(temp_.runtime(), nullptr) << temp_.error();
    rt_ = temp_.runtime();
  }

  // Loads the programs and attaches those `wanted` accepts: by section, and the bare
  // SEC("uprobe") one at target_add's file offset with kCookie.
  void attach(const std::function<bool(const std::string&)>& wanted) {
    auto obj = object::open(std::string(USERBPF_UPROBE_PROG_DIR) + "/uprobes.bpf.o");
    ASSERT_TRUE(obj) << obj.error().to_string();
    auto loaded = rt_->load(*obj);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    for (const runtime::ProgramRecord& record : *loaded) {
      if (!wanted(record.name)) continue;
      auto instance = rt_->instantiate(record);
      ASSERT_TRUE(instance) << instance.error().to_string();
      for (const auto& map : (*instance)->maps()) maps_[map->spec().name] = map;
      if (record.section == "uprobe") {
        auto offset = elf_function_offset(kBin, "target_add");
        ASSERT_TRUE(offset) << offset.error().message;
        auto index = dispatcher_.attach_uprobe(std::move(*instance), kBin,
                                               UprobeFunc::at_offset(*offset), false, kCookie);
        ASSERT_TRUE(index) << index.error().message;
        continue;
      }
      auto hook = parse_hook_point(record.section);
      ASSERT_TRUE(hook) << record.section << ": " << hook.error().message;
      ASSERT_EQ(hook->kind, HookKind::uprobe);
      dispatcher_.attach(*hook, std::move(*instance));
    }
    dispatcher_.set_on_error([this](const runtime::ProgramRecord& r, const Error& e) {
      run_errors_.push_back(r.name + ": " + e.to_string());
    });
  }

  // Runs the target under supervision, with a watchdog (or an early stop after `stop_after`).
  Result<CommandOutcome> run(std::vector<std::string> argv,
                             std::chrono::milliseconds stop_after = std::chrono::seconds(60),
                             bool kill_on_exit = true) {
    CommandSpec command;
    command.argv = std::move(argv);
    command.kill_on_exit = kill_on_exit;
    auto outcome = userbpf::testing::with_watchdog(supervisor_, stop_after, [&] {
      return supervisor_.run(command, dispatcher_.interest(), dispatcher_);
    });
    EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
    return outcome;
  }

  std::map<int64_t, Call> calls(const std::string& map_name) {
    return uprobe_test::calls(*maps_.at(map_name));
  }

  // Every key in `keys` seen `times` times, and nothing else.
  void expect_keys(const std::string& map_name, const std::set<int64_t>& keys, uint64_t times = 1) {
    const auto seen = calls(map_name);
    EXPECT_EQ(seen.size(), keys.size()) << map_name;
    for (int64_t key : keys) {
      auto it = seen.find(key);
      if (it == seen.end()) {
        ADD_FAILURE() << map_name << ": call " << key << " not seen";
        continue;
      }
      EXPECT_EQ(it->second.count, times) << map_name << " key " << key;
      EXPECT_STREQ(it->second.comm, "uprobe_target") << map_name;
    }
  }

  userbpf::testing::TempRuntime temp_{"userbpf-uprobes"};
  runtime::Runtime* rt_ = nullptr;
  EventDispatcher dispatcher_;
  PtraceSupervisor supervisor_;
  std::map<std::string, std::shared_ptr<maps::Map>> maps_;
  std::vector<std::string> run_errors_;
};

std::set<int64_t> range(int64_t base, int64_t n, int64_t mul = 1, int64_t add = 0) {
  std::set<int64_t> out;
  for (int64_t i = base; i < base + n; ++i) out.insert(i * mul + add);
  return out;
}

TEST(UprobeSections, LibbpfForms) {
  auto plain = parse_uprobe_section("uprobe//usr/bin/bash:readline");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->retprobe);
  EXPECT_TRUE(plain->has_target);
  EXPECT_EQ(plain->path, "/usr/bin/bash");
  EXPECT_EQ(plain->func.symbol, "readline");
  EXPECT_EQ(plain->func.offset, 0u);

  auto off = parse_uprobe_section("uprobe.s/./app:main+0x1c");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_TRUE(off->sleepable);
  EXPECT_EQ(off->path, "./app");
  EXPECT_EQ(off->func.symbol, "main");
  EXPECT_EQ(off->func.offset, 0x1cu);

  auto addr = parse_uprobe_section("uprobe//lib/libc.so.6:0x1139");
  ASSERT_TRUE(addr) << addr.error().message;
  EXPECT_TRUE(addr->func.symbol.empty());
  EXPECT_EQ(addr->func.offset, 0x1139u);

  auto ret = parse_uprobe_section("uretprobe.s//bin/x:f");
  ASSERT_TRUE(ret);
  EXPECT_TRUE(ret->retprobe);
  EXPECT_TRUE(ret->sleepable);

  auto bare = parse_uprobe_section("uretprobe");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->has_target);
  EXPECT_TRUE(bare->retprobe);

  auto no_func = parse_uprobe_section("uprobe//bin/true");
  ASSERT_FALSE(no_func);
  EXPECT_NE(no_func.error().message.find("missing ':function[+offset]'"), std::string::npos);
  auto ret_off = parse_uprobe_section("uretprobe//bin/true:main+4");
  ASSERT_FALSE(ret_off);
  EXPECT_NE(ret_off.error().message.find("uretprobes do not support offset"), std::string::npos);
  EXPECT_FALSE(parse_uprobe_section("uprobe//bin/true:main+zz"));

  EXPECT_TRUE(is_uprobe_section("uprobe"));
  EXPECT_TRUE(is_uprobe_section("uretprobe.s//a:b"));
  EXPECT_FALSE(is_uprobe_section("uprobes/x"));
  EXPECT_FALSE(is_uprobe_section("usdt/a:b:c"));
  // A bare section names no hook by itself.
  auto hook = parse_hook_point("uprobe");
  ASSERT_FALSE(hook);
  EXPECT_EQ(hook.error().code, Errc::unsupported);
}

TEST(UprobeSections, SymbolsResolveToFileOffsets) {
  // The test binary is PIE with its text segment at the same file offset and address, so nm's
  // address is the file offset.
  for (const auto& [file, symbol] :
       {std::pair{kBin, "target_add"}, std::pair{kBin, "asm_add"}, std::pair{kLib, "lib_mul"}}) {
    auto offset = elf_function_offset(file, symbol);
    ASSERT_TRUE(offset) << offset.error().message;
    auto nm = nm_address(file, symbol);
    ASSERT_TRUE(nm) << "nm found no " << symbol;
    EXPECT_EQ(*offset, *nm) << symbol;
  }
  auto target = resolve_uprobe(kBin, UprobeFunc::at_symbol("asm_add", 4), false);
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->file_offset, *elf_function_offset(kBin, "asm_add") + 4);
  EXPECT_FALSE(target->library);  // an executable: mapped by exec
  auto lib = resolve_uprobe(kLib, UprobeFunc::at_symbol("lib_mul"), true);
  ASSERT_TRUE(lib) << lib.error().message;
  EXPECT_TRUE(lib->library);
  EXPECT_EQ(lib->name(), "uretprobe/" + kLib + ":lib_mul");
}

TEST(UprobeSections, BadTargetsNameTheFileAndSymbol) {
  auto missing_file = parse_hook_point("uprobe//nonexistent/userbpf/app:main");
  ASSERT_FALSE(missing_file);
  EXPECT_EQ(missing_file.error().code, Errc::not_found);
  EXPECT_NE(missing_file.error().message.find("/nonexistent/userbpf/app"), std::string::npos);

  auto missing_symbol = parse_hook_point("uprobe/" + kBin + ":no_such_function");
  ASSERT_FALSE(missing_symbol);
  EXPECT_EQ(missing_symbol.error().code, Errc::not_found);
  EXPECT_NE(missing_symbol.error().message.find("no_such_function"), std::string::npos);
  EXPECT_NE(missing_symbol.error().message.find(kBin), std::string::npos);

  char tmpl[] = "/tmp/userbpf-not-elf-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  (void)!write(fd, "text\n", 5);
  close(fd);
  auto not_elf = resolve_uprobe(tmpl, UprobeFunc::at_symbol("main"), false);
  ASSERT_FALSE(not_elf);
  EXPECT_EQ(not_elf.error().code, Errc::invalid_argument);
  EXPECT_NE(not_elf.error().message.find("not an ELF file"), std::string::npos);
  auto past_end = resolve_uprobe(kBin, UprobeFunc::at_offset(1ull << 40), false);
  EXPECT_FALSE(past_end);
  unlink(tmpl);
}

TEST_F(Uprobes, EveryCallIsSeenOnceWithArgumentsAndReturnValues) {
  attach([](const std::string&) { return true; });
  constexpr int64_t kRounds = 40;
  auto outcome = run({kBin, std::to_string(kRounds)});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  EXPECT_FALSE(outcome->detached);

  // uprobe/BIN:target_add: a = i, b = 1000 + i, in one process whose thread is its leader.
  expect_keys("add_calls", range(0, kRounds));
  const auto adds = calls("add_calls");
  std::set<uint64_t> return_addresses;
  for (const auto& [a, call] : adds) {
    EXPECT_EQ(call.arg2, 1000 + a);
    EXPECT_EQ(call.pid, call.tgid);
    EXPECT_EQ(call.tgid, adds.begin()->second.tgid);
    EXPECT_EQ(call.cookie, 0u);
    return_addresses.insert(call.stack_word);
  }
  // bpf_probe_read_user of [sp] at the entry: the caller's return address (one call site).
  ASSERT_EQ(return_addresses.size(), 1u);
  // uretprobe/BIN:target_add: 2i + 1000, with ip the address returned to.
  expect_keys("add_returns", range(0, kRounds, 2, 1000));
  for (const auto& [ret, call] : calls("add_returns")) {
    EXPECT_EQ(static_cast<uint64_t>(call.arg2), *return_addresses.begin()) << ret;
  }
  // uprobe/BIN:asm_add+4 (inside the function): a = i, b = 7.
  expect_keys("asm_calls", range(0, kRounds));
  for (const auto& [a, call] : calls("asm_calls")) EXPECT_EQ(call.arg2, 7) << a;
  // The shared library, mapped by the loader after exec: lib_mul(i, 3) = 3i.
  expect_keys("mul_calls", range(0, kRounds));
  for (const auto& [a, call] : calls("mul_calls")) EXPECT_EQ(call.arg2, 3) << a;
  expect_keys("mul_returns", range(0, kRounds, 3));
  // Nested uretprobe frames: target_rec(4) returns 0, 1, 3, 6, 10 once per round.
  expect_keys("rec_returns", {0, 1, 3, 6, 10}, kRounds);
  // The bare SEC("uprobe") attached by file offset at target_add with a cookie.
  expect_keys("offset_calls", range(0, kRounds));
  for (const auto& [a, call] : calls("offset_calls")) {
    EXPECT_EQ(call.cookie, kCookie);
    EXPECT_EQ(call.arg2, 1000 + a);
  }
}

TEST_F(Uprobes, AForkedChildKeepsTheBreakpoints) {
  attach([](const std::string&) { return true; });
  constexpr int64_t kRounds = 15;
  auto outcome = run({kBin, std::to_string(kRounds), "fork"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  std::set<int64_t> both = range(0, kRounds);
  both.merge(range(100000, kRounds));
  expect_keys("add_calls", both);
  std::set<int64_t> mul_both = range(0, kRounds);
  mul_both.merge(range(100000, kRounds));
  expect_keys("mul_calls", mul_both);
  expect_keys("asm_calls", both);
  std::set<int64_t> rets = range(0, kRounds, 2, 1000);
  rets.merge(range(100000, kRounds, 2, 1000));
  expect_keys("add_returns", rets);
  expect_keys("rec_returns", {0, 1, 3, 6, 10}, 2 * kRounds);
  // The parent's calls and the child's come from two processes.
  const auto adds = calls("add_calls");
  EXPECT_NE(adds.at(0).tgid, adds.at(100000).tgid);
  EXPECT_EQ(adds.at(0).tgid, adds.at(kRounds - 1).tgid);
  EXPECT_EQ(adds.at(100000).tgid, adds.at(100000 + kRounds - 1).tgid);
}

// Four threads call the probed functions at once: while one thread single-steps a displaced
// instruction (its original byte back in place) the others are paused, so no call passes
// unseen.
TEST_F(Uprobes, EveryCallOfEveryThreadIsSeenOnce) {
  attach([](const std::string&) { return true; });
  constexpr int64_t kRounds = 150;
  auto outcome = run({kBin, std::to_string(kRounds), "threads"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  std::set<int64_t> args, sums;
  for (int64_t t = 1; t <= 4; ++t) {
    args.merge(range(t * 1000000, kRounds));
    sums.merge(range(t * 1000000, kRounds, 2, 1000));
  }
  expect_keys("add_calls", args);
  expect_keys("add_returns", sums);
  expect_keys("asm_calls", args);
  expect_keys("mul_calls", args);
  expect_keys("rec_returns", {0, 1, 3, 6, 10}, 4 * kRounds);
  std::set<uint32_t> tids;
  for (const auto& [a, call] : calls("add_calls")) tids.insert(call.pid);
  EXPECT_EQ(tids.size(), 4u);
}

TEST_F(Uprobes, ExecOfAShellChildGetsFreshBreakpoints) {
  attach([](const std::string& name) { return name == "add_entry" || name == "add_exit"; });
  // sh forks and execs the target twice: each new image gets its breakpoints.
  auto outcome = run({"sh", "-c", kBin + " 3 >/dev/null; " + kBin + " 3 >/dev/null"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 0);
  expect_keys("add_calls", range(0, 3), 2);
  expect_keys("add_returns", range(0, 3, 2, 1000), 2);
}

TEST_F(Uprobes, DetachMidRunRestoresCodeAndReturnAddresses) {
  // Probes in the executable only (no seccomp filter: nothing stays behind in the process).
  attach([](const std::string& name) {
    return name == "add_entry" || name == "add_exit" || name == "rec_exit" || name == "asm_inside";
  });
  constexpr long kRounds = 200000;
  auto outcome = run({kBin, std::to_string(kRounds)}, std::chrono::milliseconds(400), false);
  ASSERT_TRUE(outcome) << outcome.error().message;
  ASSERT_TRUE(outcome->detached);
  EXPECT_GT(calls("add_calls").size(), 0u);
  EXPECT_LT(calls("add_calls").size(), static_cast<size_t>(kRounds));
  // The detached process runs on untraced, past every removed breakpoint and hijacked return,
  // and finishes normally.
  int status = 0;
  ASSERT_GT(waitpid(-1, &status, 0), 0);
  EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace userbpf::hooks
