// The cost of a hooked syscall: a child makes N getpid() calls and times them itself, run
//   1. plainly (no tracer),
//   2. under userbpf's ptrace supervisor with tracepoint/syscalls/sys_enter_getpid attached
//      (bench_getpid.bpf.o: get_current_pid_tgid, get_current_comm, a hash map update),
//   3. plainly with the same object loaded into the host kernel by libbpf and attached to the
//      kernel's tracepoint (the kernel reference; skipped when bpf() is not allowed).
// It also times the identity lookup a hooked stop needs: the /proc read the dispatcher made on
// every stop before the task table (ifstream over status + comm), the table's raw /proc read
// (first sight of a thread, exec, identity-changing syscalls) and the cached lookup (every other
// stop). Figures and method: bench/RESULTS.md, "## Hooks".
//
// The cost of a uprobe hit: a child calls its own noinline function bench_uprobe_target N times
// and times the loop, run plainly, under userbpf with a uprobe on that function
// (bench_uprobe.bpf.o: the same work as the getpid program), and plainly with the same program
// attached by libbpf to the host kernel's uprobe (bpf_program__attach_uprobe; skipped with the
// reason when the kernel refuses).
//
//   hooks_bench [N]            (default 200000 calls)
//   hooks_bench --child N FILE (internal: the measured child, writes "<ns per call>" to FILE)
//   hooks_bench --uprobe-child N FILE (internal: the same for the uprobe target's calls)
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hooks/event_dispatcher.hpp"
#include "hooks/supervisor.hpp"
#include "hooks/task_identity.hpp"
#include "hooks/uprobe_target.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"

namespace {

using namespace userbpf;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int child_main(long n, const char* out) {
  const uint64_t start = now_ns();
  for (long i = 0; i < n; ++i) syscall(SYS_getpid);
  const double per_call = static_cast<double>(now_ns() - start) / static_cast<double>(n);
  std::ofstream(out) << per_call << "\n";
  return 0;
}

}  // namespace

// The probed function: not inlined, not cloned, so the symbol is the code every call runs.
extern "C" __attribute__((noinline, noipa)) long bench_uprobe_target(long x) {
  __asm__ volatile("");
  return x + 1;
}

namespace {

int uprobe_child_main(long n, const char* out) {
  long sum = 0;
  const uint64_t start = now_ns();
  for (long i = 0; i < n; ++i) sum += bench_uprobe_target(i);
  const double per_call = static_cast<double>(now_ns() - start) / static_cast<double>(n);
  std::ofstream(out) << per_call << "\n";
  return sum == n * (n + 1) / 2 ? 0 : 1;
}

std::string self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

double read_result(const std::string& file) {
  double v = -1;
  std::ifstream(file) >> v;
  return v;
}

double run_plain(long n, const std::string& file, const char* mode = "--child") {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string count = std::to_string(n);
    execl(self_exe().c_str(), "hooks_bench", mode, count.c_str(), file.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return read_result(file);
}

const std::string kObject = std::string(USERBPF_HOOK_PROG_DIR) + "/bench_getpid.bpf.o";

bool old_identity(pid_t tid, helpers::TaskInfo& task);

// The dispatcher as it was before the task table: the thread's identity read from /proc at every
// event, then the programs.
class ReadEveryStop : public hooks::EventSink {
 public:
  explicit ReadEveryStop(hooks::EventDispatcher& inner) : inner_(inner) {}
  void on_syscall(const hooks::SyscallEvent& event) override {
    helpers::TaskInfo task;
    old_identity(event.tid, task);
    inner_.on_syscall(event);
  }
  void on_process_event(const hooks::ProcessEvent& event) override {
    inner_.on_process_event(event);
  }

 private:
  hooks::EventDispatcher& inner_;
};

double run_supervised(long n, const std::string& file, uint64_t& runs, bool read_every_stop) {
  const std::string state = "/tmp/userbpf-hooks-bench-" + std::to_string(getpid());
  auto rt = runtime::Runtime::open(state);
  if (!rt) return -1;
  auto obj = object::open(kObject);
  if (!obj) return -1;
  auto loaded = rt->load(*obj);
  if (!loaded) return -1;
  hooks::EventDispatcher dispatcher;
  for (const auto& record : *loaded) {
    auto instance = rt->instantiate(record);
    if (!instance) return -1;
    dispatcher.attach(*hooks::parse_hook_point(record.section), std::move(*instance));
  }
  hooks::PtraceSupervisor supervisor;
  hooks::CommandSpec spec;
  spec.argv = {self_exe(), "--child", std::to_string(n), file};
  ReadEveryStop before(dispatcher);
  auto outcome = read_every_stop ? supervisor.run(spec, dispatcher.interest(), before)
                                 : supervisor.run(spec, dispatcher.interest(), dispatcher);
  runs = dispatcher.stats(0).runs;
  std::filesystem::remove_all(state);
  if (!outcome) return -1;
  return read_result(file);
}

double run_kernel(long n, const std::string& file, std::string& why) {
  libbpf_set_print(nullptr);
  bpf_object* obj = bpf_object__open_file(kObject.c_str(), nullptr);
  if (!obj) {
    why = "open failed";
    return -1;
  }
  if (bpf_object__load(obj) != 0) {
    why = "the kernel refused the load (no bpf() here?)";
    bpf_object__close(obj);
    return -1;
  }
  bpf_program* prog = bpf_object__next_program(obj, nullptr);
  bpf_link* link = bpf_program__attach(prog);
  if (!link) {
    why = "attach failed";
    bpf_object__close(obj);
    return -1;
  }
  const double v = run_plain(n, file);
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return v;
}

const std::string kUprobeObject = std::string(USERBPF_HOOK_PROG_DIR) + "/bench_uprobe.bpf.o";

double run_uprobe_supervised(long n, const std::string& file, uint64_t& runs, std::string& why) {
  const std::string state = "/tmp/userbpf-hooks-bench-" + std::to_string(getpid());
  auto rt = runtime::Runtime::open(state);
  if (!rt) return -1;
  auto obj = object::open(kUprobeObject);
  if (!obj) return -1;
  auto loaded = rt->load(*obj);
  if (!loaded || loaded->empty()) return -1;
  auto instance = rt->instantiate(loaded->front());
  if (!instance) return -1;
  hooks::EventDispatcher dispatcher;
  auto attached =
      dispatcher.attach_uprobe(std::move(*instance), self_exe(),
                               hooks::UprobeFunc::at_symbol("bench_uprobe_target"), false, 0);
  if (!attached) {
    why = attached.error().message;
    return -1;
  }
  hooks::PtraceSupervisor supervisor;
  hooks::CommandSpec spec;
  spec.argv = {self_exe(), "--uprobe-child", std::to_string(n), file};
  auto outcome = supervisor.run(spec, dispatcher.interest(), dispatcher);
  runs = dispatcher.stats(0).runs;
  std::filesystem::remove_all(state);
  if (!outcome) return -1;
  if (outcome->exit_status != 0) why = "the child's sum was wrong";
  return read_result(file);
}

double run_uprobe_kernel(long n, const std::string& file, std::string& why) {
  auto offset = hooks::elf_function_offset(self_exe(), "bench_uprobe_target");
  if (!offset) {
    why = offset.error().message;
    return -1;
  }
  libbpf_set_print(nullptr);
  bpf_object* obj = bpf_object__open_file(kUprobeObject.c_str(), nullptr);
  if (!obj) {
    why = "open failed";
    return -1;
  }
  if (bpf_object__load(obj) != 0) {
    why = "the kernel refused the load (no bpf() here?)";
    bpf_object__close(obj);
    return -1;
  }
  bpf_program* prog = bpf_object__next_program(obj, nullptr);
  bpf_link* link = bpf_program__attach_uprobe(prog, false, -1, self_exe().c_str(), *offset);
  if (!link) {
    why = "bpf_program__attach_uprobe failed: " + std::string(std::strerror(errno));
    bpf_object__close(obj);
    return -1;
  }
  const double v = run_plain(n, file, "--uprobe-child");
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return v;
}

// The identity lookup as the dispatcher made it on every stop before the task table.
bool old_identity(pid_t tid, helpers::TaskInfo& task) {
  const std::string dir = "/proc/" + std::to_string(tid);
  std::ifstream status(dir + "/status");
  if (!status) return false;
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Tgid:") fields >> task.tgid;
    if (key == "Uid:") fields >> task.uid;
    if (key == "Gid:") fields >> task.gid;
  }
  std::ifstream comm(dir + "/comm");
  std::getline(comm, task.comm);
  return true;
}

template <class F>
double time_per_call(int n, F f) {
  const uint64_t start = now_ns();
  for (int i = 0; i < n; ++i) f();
  return static_cast<double>(now_ns() - start) / n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--child")
    return child_main(std::atol(argv[2]), argv[3]);
  if (argc == 4 && std::string(argv[1]) == "--uprobe-child")
    return uprobe_child_main(std::atol(argv[2]), argv[3]);
  const long n = argc > 1 ? std::atol(argv[1]) : 200000;
  const std::string file = "/tmp/userbpf-hooks-bench-" + std::to_string(getpid()) + ".out";

  const pid_t self = getpid();
  helpers::TaskInfo info;
  const double old_read = time_per_call(2000, [&] { old_identity(self, info); });
  const double raw_read = time_per_call(2000, [&] { (void)hooks::read_proc_task(self); });
  hooks::TaskTable table;
  table.task(self);
  const double cached = time_per_call(200000, [&] { info = table.identity(self); });
  std::printf(
      "identity per stop: /proc via ifstream (before) %.0f ns, raw /proc read %.0f ns, "
      "cached %.0f ns\n",
      old_read, raw_read, cached);

  const double plain = run_plain(n, file);
  uint64_t runs = 0;
  const double supervised = run_supervised(n, file, runs, false);
  uint64_t runs_before = 0;
  const double supervised_before = run_supervised(n / 4, file, runs_before, true);
  std::string why;
  const double kernel = run_kernel(n, file, why);
  const long un = n / 4;
  const double uprobe_plain = run_plain(un, file, "--uprobe-child");
  uint64_t uprobe_runs = 0;
  std::string uprobe_why;
  const double uprobe_userbpf = run_uprobe_supervised(un, file, uprobe_runs, uprobe_why);
  std::string uprobe_kernel_why;
  const double uprobe_kernel = run_uprobe_kernel(un, file, uprobe_kernel_why);
  std::remove(file.c_str());
  std::printf("getpid() x %ld: plain %.0f ns/call\n", n, plain);
  std::printf(
      "  userbpf supervised, program attached: %.0f ns/call (%llu program runs), "
      "%.0f ns per hooked syscall over plain\n",
      supervised, static_cast<unsigned long long>(runs), supervised - plain);
  std::printf(
      "  the same with a /proc identity read per stop (before the task table): %.0f "
      "ns/call (%ld calls)\n",
      supervised_before, n / 4);
  if (kernel >= 0) {
    std::printf("  host kernel tracepoint, same program: %.0f ns/call, %.0f ns over plain\n",
                kernel, kernel - plain);
  } else {
    std::printf("  host kernel tracepoint: not measured (%s)\n", why.c_str());
  }
  std::printf("bench_uprobe_target() x %ld: uninstrumented %.1f ns/call\n", un, uprobe_plain);
  if (uprobe_userbpf >= 0) {
    std::printf(
        "  userbpf uprobe, program attached: %.0f ns/call (%llu program runs), %.0f ns per hit "
        "over uninstrumented%s%s\n",
        uprobe_userbpf, static_cast<unsigned long long>(uprobe_runs), uprobe_userbpf - uprobe_plain,
        uprobe_why.empty() ? "" : "; ", uprobe_why.c_str());
  } else {
    std::printf("  userbpf uprobe: not measured (%s)\n", uprobe_why.c_str());
  }
  if (uprobe_kernel >= 0) {
    std::printf(
        "  host kernel uprobe, same program: %.0f ns/call, %.0f ns per hit over "
        "uninstrumented\n",
        uprobe_kernel, uprobe_kernel - uprobe_plain);
  } else {
    std::printf("  host kernel uprobe: not measured (%s)\n", uprobe_kernel_why.c_str());
  }
  return 0;
}
