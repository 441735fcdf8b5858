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
//   hooks_bench [N]            (default 200000 calls)
//   hooks_bench --child N FILE (internal: the measured child, writes "<ns per call>" to FILE)
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hooks/event_dispatcher.hpp"
#include "hooks/supervisor.hpp"
#include "hooks/task_identity.hpp"
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

std::string self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

double read_result(const std::string& file) {
  double v = -1;
  std::ifstream(file) >> v;
  return v;
}

double run_plain(long n, const std::string& file) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string count = std::to_string(n);
    execl(self_exe().c_str(), "hooks_bench", "--child", count.c_str(), file.c_str(), nullptr);
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
  return 0;
}
