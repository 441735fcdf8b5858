// USDT probes of a real binary (tests/hooks/usdt/usdt_probes.c) under the ptrace supervisor, with
// programs written against libbpf's <bpf/usdt.bpf.h> (tests/hooks/progs/usdt_probes.bpf.c): every
// probe hit is seen exactly once, with arguments of several sizes and signedness read from
// registers, the stack and constants, a string read through a pointer argument, the attachment's
// usdt cookie and the spec id as attach cookie; a probe behind a semaphore fires only while
// attached (its semaphore counted up in the tracee and down again).
#include <asm/unistd_64.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "hooks/supervisor.hpp"
#include "hooks/usdt_attach.hpp"
#include "object/object.hpp"
#include "object/usdt_notes.hpp"
#include "runtime/runtime.hpp"
#include "support/supervised_run.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::hooks {
namespace {

namespace fs = std::filesystem;

// tests/hooks/progs/usdt_probes.bpf.c's record.
struct UsdtEvent {
  uint32_t probe;
  uint32_t pid;
  int32_t arg_cnt;
  int32_t arg_errors;
  int32_t past_end_error;
  uint32_t pad;
  uint64_t usdt_cookie;
  uint64_t attach_cookie;
  uint64_t ip;
  int64_t args[4];
  char str[16];
};
enum { kSmall = 1, kWide, kNone, kStack, kGuarded };

constexpr int kIterations = 5;
constexpr uint64_t kCookieBase = 0x5eed0000;

std::string usdt_object() {
  return std::string(USERBPF_HOOK_PROG_DIR) + "/usdt_probes.bpf.o";
}

class Usdt : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(temp_.runtime(), nullptr) << temp_.error();
    rt_ = temp_.runtime();
    auto obj = object::open(usdt_object());
    ASSERT_TRUE(obj) << obj.error().to_string();
    auto loaded = rt_->load(*obj);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    programs_ = *loaded;
    dispatcher_.set_on_error([this](const runtime::ProgramRecord& r, const Error& e) {
      run_errors_.push_back(r.name + ": " + e.to_string());
    });
  }
  const runtime::ProgramRecord& program(const std::string& name) {
    for (const auto& p : programs_) {
      if (p.name == name) return p;
    }
    ADD_FAILURE() << "no program " << name;
    return programs_.front();
  }

  // Attaches the named programs at their own probes, in the binary named by absolute path, with
  // cookie kCookieBase + probe id.
  void attach(const std::vector<std::pair<std::string, int>>& names) {
    for (const auto& [name, probe] : names) {
      const runtime::ProgramRecord& record = program(name);
      auto target = parse_usdt_section(record.section);
      ASSERT_TRUE(target) << target.error().to_string();
      target->path = USERBPF_USDT_PROBES;
      auto sites = attacher_.attach(*rt_, record, *target, kCookieBase + probe);
      ASSERT_TRUE(sites) << sites.error().to_string();
      EXPECT_EQ(*sites, name == "on_small" ? 2u : 1u) << name;
    }
  }

  // Runs the probe binary under supervision (through sh, its output to a file), with a watchdog.
  Result<CommandOutcome> run_probes() {
    CommandSpec command;
    command.argv = {"sh", "-c",
                    std::string(USERBPF_USDT_PROBES) + " " + std::to_string(kIterations) + " >" +
                        temp_.path("out")};
    bool stopped = false;
    auto outcome = userbpf::testing::with_watchdog(
        supervisor_, std::chrono::seconds(30),
        [&] { return supervisor_.run(command, attacher_.interest(), attacher_.sink()); }, &stopped);
    attacher_.release();
    EXPECT_FALSE(stopped) << "the watchdog had to stop";
    EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
    return outcome;
  }

  std::string output() {
    std::ifstream in(temp_.path("out"));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::vector<UsdtEvent> events() {
    std::vector<UsdtEvent> out;
    std::shared_ptr<maps::Map> ring;
    for (const runtime::MapRecord& record : rt_->maps()) {
      if (record.spec.name == "usdt_events") {
        auto map = rt_->open_map(record.id);
        if (map) ring = *map;
      }
    }
    EXPECT_NE(ring, nullptr);
    if (!ring) return out;
    auto consumer = maps::RingBuffer::create(ring, [&](const void* data, size_t size) {
      EXPECT_EQ(size, sizeof(UsdtEvent));
      UsdtEvent e{};
      std::memcpy(&e, data, std::min(size, sizeof(e)));
      out.push_back(e);
      return 0;
    });
    EXPECT_TRUE(consumer);
    if (consumer) (*consumer)->consume();
    return out;
  }

  userbpf::testing::TempRuntime temp_{"userbpf-usdt"};
  runtime::Runtime* rt_ = nullptr;
  std::vector<runtime::ProgramRecord> programs_;
  EventDispatcher dispatcher_;
  UsdtAttacher attacher_{dispatcher_};
  PtraceSupervisor supervisor_;
  std::vector<std::string> run_errors_;
};

TEST_F(Usdt, EveryHitOnceWithItsArguments) {
  attach({{"on_small", kSmall},
          {"on_wide", kWide},
          {"on_none", kNone},
          {"on_stack", kStack},
          {"on_guarded", kGuarded}});
  auto outcome = run_probes();
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->exit_status, 0);
  // The semaphore was counted up before main ran, so every guarded probe fired.
  EXPECT_EQ(output(), "guarded=" + std::to_string(kIterations) + "\n");

  const std::vector<UsdtEvent> all = events();
  std::map<uint32_t, std::set<int64_t>> seen;  // probe -> iterations
  std::map<uint32_t, std::set<uint64_t>> spec_ids, ips;
  std::set<uint32_t> pids;
  const char* const names[] = {"alpha", "beta", "gamma"};
  const int expected_args[] = {0, 3, 4, 0, 3, 2};
  for (const UsdtEvent& e : all) {
    ASSERT_GE(e.probe, 1u);
    ASSERT_LE(e.probe, 5u);
    SCOPED_TRACE("probe " + std::to_string(e.probe));
    EXPECT_EQ(e.arg_cnt, expected_args[e.probe]);
    EXPECT_EQ(e.arg_errors, 0);
    EXPECT_EQ(e.past_end_error, -ENOENT);
    EXPECT_EQ(e.usdt_cookie, kCookieBase + e.probe);
    EXPECT_LT(e.attach_cookie, 256u);  // a spec id of __bpf_usdt_specs
    spec_ids[e.probe].insert(e.attach_cookie);
    ips[e.probe].insert(e.ip);
    pids.insert(e.pid);
    int64_t i = -1;
    switch (e.probe) {
      case kSmall:  // (int8 -1-i, uint16 60000+i, int32 -100000*i)
        i = -1 - e.args[0];
        EXPECT_EQ(e.args[1], 60000 + i);
        EXPECT_EQ(e.args[2], -100000 * i);
        break;
      case kWide:  // (int64 -(2^40)*i-7, uint64 0xfedcba9876543210+i, name, 42)
        i = -(e.args[0] + 7) / (int64_t{1} << 40);
        EXPECT_EQ(static_cast<uint64_t>(e.args[1]), 0xfedcba9876543210ull + i);
        EXPECT_STREQ(e.str, names[i % 3]);
        EXPECT_EQ(e.args[3], 42);
        break;
      case kNone:
        i = static_cast<int64_t>(seen[kNone].size());
        EXPECT_EQ(e.args[0], 0);
        break;
      case kStack:  // (int16 -300*i, uint8 200+i, int64 -1e9*i) from the stack
        i = e.args[1] - 200;
        EXPECT_EQ(e.args[0], -300 * i);
        EXPECT_EQ(e.args[2], i * -1000000000LL);
        break;
      case kGuarded:  // (i, 7i)
        i = e.args[0];
        EXPECT_EQ(e.args[1], 7 * i);
        break;
    }
    EXPECT_TRUE(seen[e.probe].insert(i).second) << "iteration " << i << " seen twice";
  }
  std::set<int64_t> every;
  for (int i = 0; i < kIterations; ++i) every.insert(i);
  for (uint32_t probe = kSmall; probe <= kGuarded; ++probe) {
    EXPECT_EQ(seen[probe], every) << "probe " << probe;
  }
  EXPECT_EQ(all.size(), 5u * kIterations);
  EXPECT_EQ(pids.size(), 1u);
  EXPECT_EQ(pids.count(static_cast<uint32_t>(getpid())), 0u);
  // Two sites of `small` with different argument strings: two specs, two addresses.
  EXPECT_EQ(spec_ids[kSmall].size(), 2u);
  EXPECT_EQ(ips[kSmall].size(), 2u);
  std::set<uint64_t> distinct;
  size_t total = 0;
  for (const auto& [probe, ids] : spec_ids) {
    distinct.insert(ids.begin(), ids.end());
    total += ids.size();
  }
  EXPECT_EQ(distinct.size(), total) << "spec ids are shared between probes";
}

TEST_F(Usdt, SemaphoreStaysZeroWhenItsProbeIsNotAttached) {
  attach({{"on_small", kSmall}});
  auto outcome = run_probes();
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(output(), "guarded=0\n");
  const std::vector<UsdtEvent> all = events();
  EXPECT_EQ(all.size(), static_cast<size_t>(kIterations));
  for (const UsdtEvent& e : all) EXPECT_EQ(e.probe, static_cast<uint32_t>(kSmall));
}

TEST_F(Usdt, ExplicitTargetAndSectionForms) {
  // SEC("usdt") attaches through an explicit target only.
  auto bare = parse_usdt_section("usdt");
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code, Errc::unsupported);
  auto section = parse_usdt_section("usdt//usr/lib/libfoo.so:prov:probe");
  ASSERT_TRUE(section);
  EXPECT_EQ(section->path, "/usr/lib/libfoo.so");
  EXPECT_EQ(section->provider, "prov");
  EXPECT_EQ(section->name, "probe");
  auto sleepable = parse_usdt_section("usdt.s/bin:p:n");
  ASSERT_TRUE(sleepable);
  EXPECT_EQ(sleepable->name, "n");
  for (const char* bad : {"usdt/bin:prov", "usdt/bin::probe", "usdt/:p:n", "usdt/bin"}) {
    auto refused = parse_usdt_section(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().message, "invalid section '" + std::string(bad) +
                                           "', expected SEC(\"usdt/<path>:<provider>:<name>\")");
  }
  EXPECT_TRUE(is_usdt_section("usdt"));
  EXPECT_TRUE(is_usdt_section("usdt/x:y:z"));
  EXPECT_FALSE(is_usdt_section("uprobe/x:y"));
  EXPECT_FALSE(is_usdt_section("usdtx"));

  // The explicit attachment of the bare program: the usdt cookie comes from the attachment.
  auto sites =
      attacher_.attach(*rt_, program("on_explicit"),
                       std::string("usdt/") + USERBPF_USDT_PROBES + ":userbpf_test:stack", 77);
  ASSERT_TRUE(sites) << sites.error().to_string();
  EXPECT_EQ(*sites, 1u);
  auto outcome = run_probes();
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  const std::vector<UsdtEvent> all = events();
  ASSERT_EQ(all.size(), static_cast<size_t>(kIterations));
  for (const UsdtEvent& e : all) {
    EXPECT_EQ(e.probe, 0u);
    EXPECT_EQ(e.usdt_cookie, 77u);
    EXPECT_EQ(e.arg_cnt, 3);
  }
}

TEST_F(Usdt, PathsResolveThroughPathAsLibbpfDoes) {
  const std::string dir = fs::path(USERBPF_USDT_PROBES).parent_path().string();
  const char* old = getenv("PATH");
  const std::string saved = old ? old : "";
  setenv("PATH", (dir + ":" + saved).c_str(), 1);
  auto found = resolve_usdt_path("usdt_probes");
  setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(found) << found.error().to_string();
  EXPECT_EQ(*found, dir + "/usdt_probes");
  EXPECT_EQ(*resolve_usdt_path("./relative/x"), "./relative/x");
  auto missing = resolve_usdt_path("no-such-program-here");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto libc = resolve_usdt_path("libc.so.6");
  ASSERT_TRUE(libc) << libc.error().to_string();
  EXPECT_TRUE(fs::exists(*libc));
}

TEST_F(Usdt, PreciseAttachErrors) {
  const runtime::ProgramRecord& record = program("on_explicit");
  auto missing_probe =
      attacher_.attach(*rt_, record, UsdtTarget{USERBPF_USDT_PROBES, "userbpf_test", "nosuch"}, 0);
  ASSERT_FALSE(missing_probe);
  EXPECT_EQ(missing_probe.error().code, Errc::not_found);
  EXPECT_EQ(missing_probe.error().message, "no USDT probe userbpf_test:nosuch");
  auto missing_file = attacher_.attach(*rt_, record, UsdtTarget{"/nonexistent/bin", "p", "n"}, 0);
  ASSERT_FALSE(missing_file);
  EXPECT_EQ(missing_file.error().where.file, "/nonexistent/bin");
  EXPECT_EQ(dispatcher_.attached(), 0u);

  // A program whose object lacks libbpf's USDT maps.
  auto other = object::open(std::string(USERBPF_HOOK_PROG_DIR) + "/hello_bcc.bpf.o");
  ASSERT_TRUE(other) << other.error().to_string();
  auto loaded = rt_->load(*other);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  auto no_maps = attacher_.attach(*rt_, loaded->front(),
                                  UsdtTarget{USERBPF_USDT_PROBES, "userbpf_test", "small"}, 0);
  ASSERT_FALSE(no_maps);
  EXPECT_NE(no_maps.error().message.find("did you forget to include bpf/usdt.bpf.h?"),
            std::string::npos);
  EXPECT_EQ(dispatcher_.attached(), 0u);
}

// The semaphore bookkeeping on its own: a stopped child that exec'd the probe binary is counted
// up once (however many scans), a fork copy is remembered, and release() counts it down.
TEST(UsdtSemaphores, CountsUpAtExecAndDownAtRelease) {
  auto probes = object::find_usdt_probes(USERBPF_USDT_PROBES, "userbpf_test", "guarded");
  ASSERT_TRUE(probes) << probes.error().to_string();
  const object::UsdtProbe& guarded = probes->front();
  ASSERT_NE(guarded.semaphore_offset, 0u);

  struct Nothing : EventSink {
    void on_syscall(const SyscallEvent&) override {}
  } nothing;
  UsdtSemaphores semaphores(nothing);
  ASSERT_TRUE(semaphores.add(USERBPF_USDT_PROBES, guarded.semaphore_offset));
  ASSERT_TRUE(semaphores.add(USERBPF_USDT_PROBES, guarded.semaphore_offset));  // once only
  HookInterest interest;
  semaphores.add_interest(interest);
  EXPECT_TRUE(interest.wants(SyscallPhase::exit, __NR_mmap));

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    execl(USERBPF_USDT_PROBES, "usdt_probes", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));  // the exec's SIGTRAP: the image is mapped, main not run

  ProcessEvent exec;
  exec.kind = ProcessEvent::Kind::exec;
  exec.tid = child;
  semaphores.on_process_event(exec);
  // A later writable file mmap rescans: what is counted stays counted once.
  SyscallEvent mmap_exit;
  mmap_exit.phase = SyscallPhase::exit;
  mmap_exit.tid = mmap_exit.tgid = child;
  mmap_exit.nr = __NR_mmap;
  mmap_exit.ret = 0x10000;
  mmap_exit.regs.rdx = PROT_READ | PROT_WRITE;
  mmap_exit.regs.r8 = 3;
  semaphores.on_syscall(mmap_exit);
  const std::vector<uint64_t> counted = semaphores.counted(child);
  ASSERT_EQ(counted.size(), 1u);
  auto read_u16 = [&](uint64_t address) {
    uint16_t value = 0xffff;
    iovec local{&value, sizeof(value)};
    iovec remote{reinterpret_cast<void*>(address), sizeof(value)};
    process_vm_readv(child, &local, 1, &remote, 1, 0);
    return value;
  };
  EXPECT_EQ(read_u16(counted[0]), 1);
  // The address is the semaphore symbol's: the file offset inside the data mapping.
  EXPECT_EQ(counted[0] % 4096, guarded.note.semaphore % 4096);

  EXPECT_EQ(semaphores.release(), 1u);
  EXPECT_EQ(read_u16(counted[0]), 0);
  EXPECT_TRUE(semaphores.counted(child).empty());
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

}  // namespace
}  // namespace userbpf::hooks
