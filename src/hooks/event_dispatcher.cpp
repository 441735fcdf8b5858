#include "hooks/event_dispatcher.hpp"

#include <asm/unistd_64.h>
#include <sys/prctl.h>

#include <cstring>

#include "hooks/sched_records.hpp"
#include "hooks/syscall_table.hpp"

namespace userbpf::hooks {
namespace {

constexpr uint32_t kHeaderSize = 16;  // common fields (8) + __syscall_nr (4) + padding (4)
constexpr size_t kRegDi = 14;         // struct pt_regs word indexes
constexpr size_t kRegAx = 10;

// Syscalls after which a thread's comm, credentials or priority may differ from the cache.
constexpr int kIdentitySyscalls[] = {
    __NR_prctl,     __NR_setuid,    __NR_setgid,   __NR_setreuid, __NR_setregid,
    __NR_setresuid, __NR_setresgid, __NR_setfsuid, __NR_setfsgid, __NR_setpriority,
};

bool changes_identity(const SyscallEvent& event) {
  if (event.phase != SyscallPhase::exit || event.ret < 0) return false;
  if (event.nr == __NR_prctl) return event.regs.rdi == PR_SET_NAME;
  for (int nr : kIdentitySyscalls) {
    if (nr == event.nr) return true;
  }
  return false;
}

}  // namespace

size_t EventDispatcher::attach(const HookPoint& hook,
                               std::unique_ptr<runtime::RunnableProgram> program) {
  uint32_t site = 0;
  if (hook.kind == HookKind::uprobe && hook.uprobe) site = uprobe_sites_.add_uprobe(*hook.uprobe);
  attached_.push_back({hook, std::move(program), {}, site});
  return attached_.size() - 1;
}

Result<size_t> EventDispatcher::attach_uprobe(std::unique_ptr<runtime::RunnableProgram> program,
                                              std::string_view path, const UprobeFunc& func,
                                              bool retprobe, uint64_t cookie) {
  auto hook = uprobe_hook_point(path, func, retprobe);
  if (!hook) return hook.take_error();
  program->env().attach_cookie = cookie;
  return attach(*hook, std::move(program));
}

void EventDispatcher::on_uprobe(const UprobeEvent& event) {
  Current current;
  current.tid = event.tid;
  current.tgid = event.tgid;
  current.user_regs = &event.regs;
  uint64_t regs[kPtRegsSize / 8];
  static_assert(sizeof(user_regs_struct) >= kPtRegsSize);
  std::memcpy(regs, &event.regs, kPtRegsSize);
  bool ran = false;
  for (Attached& a : attached_) {
    if (a.hook.kind != HookKind::uprobe || a.site != event.site) continue;
    ran = true;
    run(a, current, regs, sizeof(regs));
  }
  if (ran && after_event_) after_event_();
}

HookInterest EventDispatcher::interest() const {
  HookInterest interest;
  for (const Attached& a : attached_) interest.add(a.hook);
  if (!attached_.empty()) {
    for (int nr : kIdentitySyscalls) interest.add_optional_exit(nr);
  }
  return interest;
}

// The host's record size and event id when tracefs tells them; otherwise the widest record
// (six arguments) and id 0.
const TracepointFormat& EventDispatcher::format_of(SyscallPhase phase, int nr) {
  const int64_t key = (static_cast<int64_t>(nr) << 1) | (phase == SyscallPhase::exit ? 1 : 0);
  auto it = formats_.find(key);
  if (it != formats_.end()) return it->second;
  const std::string name = std::string(phase == SyscallPhase::enter ? "sys_enter_" : "sys_exit_") +
                           std::string(syscall_name(nr));
  TracepointFormat format{
      0, phase == SyscallPhase::enter ? kHeaderSize + 6 * 8 : kHeaderSize + 8, {}};
  if (auto host = read_syscall_tracepoint_format(name); host && host->size >= kHeaderSize) {
    format = *host;
    format.fields.clear();
  }
  return formats_.emplace(key, format).first->second;
}

std::vector<uint8_t> EventDispatcher::tracepoint_record(const SyscallEvent& event) {
  const TracepointFormat& format = format_of(event.phase, event.nr);
  std::vector<uint8_t> record(format.size, 0);
  const int32_t pid = event.tid;
  const int32_t nr = event.nr;
  std::memcpy(record.data(), &format.id, sizeof(format.id));
  std::memcpy(record.data() + 4, &pid, sizeof(pid));
  std::memcpy(record.data() + 8, &nr, sizeof(nr));
  if (event.phase == SyscallPhase::enter) {
    const size_t args = std::min<size_t>((format.size - kHeaderSize) / 8, event.args.size());
    std::memcpy(record.data() + kHeaderSize, event.args.data(), args * 8);
  } else if (format.size >= kHeaderSize + 8) {
    std::memcpy(record.data() + kHeaderSize, &event.ret, sizeof(event.ret));
  }
  return record;
}

void EventDispatcher::resolve(Current& current) {
  if (current.resolved) return;
  current.resolved = true;
  current.task = tasks_.task(current.tid);
  current.info = tasks_.identity(current.tid);
  if (!current.info.valid) {  // the thread is already gone: report what the event knows
    current.info =
        helpers::TaskInfo{true, current.tid, current.tgid ? current.tgid : current.tid, 0, 0, ""};
  }
}

void EventDispatcher::run(Attached& a, Current& current, const void* ctx, size_t ctx_size,
                          std::span<const vm::Region> extra) {
  resolve(current);
  helpers::ProgramEnv& env = a.program->env();
  env.task = current.info;
  env.memory_pid = current.info.tgid;
  env.current_task = reinterpret_cast<uint64_t>(current.task);
  env.user_regs = current.user_regs;
  std::vector<vm::Region> regions(extra.begin(), extra.end());
  regions.push_back(tasks_.region());
  const vm::Region ctx_region{reinterpret_cast<uint64_t>(ctx), ctx_size, false, "ctx"};
  // Verified programs run without checks, in the runtime's engine (the JIT by default), as in the
  // kernel; RunnableProgram::run checks every program the verifier did not accept.
  auto out = a.program->run(reinterpret_cast<uint64_t>(ctx), ctx_region, false, 1, regions);
  ++a.stats.runs;
  if (!out) {
    ++a.stats.failures;
    if (on_error_) {
      // Which traced thread hit the fault: the program's own error says where in the program.
      Error e = out.error();
      e.message += " (traced pid " + std::to_string(current.info.tgid) + ", tid " +
                   std::to_string(current.tid) + ")";
      on_error_(a.program->record(), e);
    }
  }
}

void EventDispatcher::on_syscall(const SyscallEvent& event) {
  if (changes_identity(event)) tasks_.refresh(event.tid);
  run_syscall_programs(event);
}

void EventDispatcher::run_syscall_programs(const SyscallEvent& event) {
  Current current;
  current.tid = event.tid;
  current.tgid = event.tgid;
  std::vector<uint8_t> record;
  // The user registers (raw_tracepoint's and ksyscall's struct pt_regs) and, for kprobes, the
  // syscall wrapper's own registers pointing at them.
  uint64_t regs[kPtRegsSize / 8];
  static_assert(sizeof(user_regs_struct) >= kPtRegsSize);
  std::memcpy(regs, &event.regs, kPtRegsSize);
  const bool entry = event.phase == SyscallPhase::enter;
  if (!entry) regs[kRegAx] = static_cast<uint64_t>(event.ret);
  const vm::Region regs_region{reinterpret_cast<uint64_t>(regs), sizeof(regs), false, "pt_regs"};
  current.user_regs = &event.regs;  // as stopped: ip, sp and bp of the syscall's caller
  uint64_t wrapper[kPtRegsSize / 8] = {};
  wrapper[kRegDi] = reinterpret_cast<uint64_t>(regs);
  if (!entry) wrapper[kRegAx] = static_cast<uint64_t>(event.ret);
  const uint64_t raw_args[2] = {
      reinterpret_cast<uint64_t>(regs),
      entry ? static_cast<uint64_t>(event.nr) : static_cast<uint64_t>(event.ret)};
  bool ran = false;
  for (Attached& a : attached_) {
    if (!a.hook.matches(event.phase, event.nr)) continue;
    ran = true;
    switch (a.hook.kind) {
      case HookKind::raw_syscalls:
        run(a, current, raw_args, sizeof(raw_args), {&regs_region, 1});
        break;
      case HookKind::syscall_kprobe:
        run(a, current, wrapper, sizeof(wrapper), {&regs_region, 1});
        break;
      default:
        if (record.empty()) record = tracepoint_record(event);
        run(a, current, record.data(), record.size());
        break;
    }
  }
  if (ran && after_event_) after_event_();
}

void EventDispatcher::on_process_event(const ProcessEvent& event) {
  ProcessEventKind kind;
  if (!process_event_kind(event.kind, kind)) {
    if (event.kind == ProcessEvent::Kind::gone) tasks_.forget(event.tid);
    return;  // attach: the task model reads the process from /proc when it is first used
  }
  // Bookkeeping first where the tracepoint sees the new state (the child exists at fork, the new
  // comm at exec), last where it sees the old one (the thread still exists at exit).
  if (event.kind == ProcessEvent::Kind::fork) {
    tasks_.on_fork(event.tid, event.child_tid, event.child_is_thread);
  } else if (event.kind == ProcessEvent::Kind::exec) {
    tasks_.on_exec(event.tid, event.old_tid);
  } else if (event.kind == ProcessEvent::Kind::exit) {
    tasks_.on_exit(event.tid, event.exit_code);
  }
  Current current;
  current.tid = event.tid;
  std::vector<uint8_t> record;
  bool ran = false;
  for (Attached& a : attached_) {
    if (!a.hook.matches(kind)) continue;
    ran = true;
    if (record.empty()) {
      resolve(current);
      const std::string& comm = current.info.comm;
      switch (event.kind) {
        case ProcessEvent::Kind::exec:
          record = sched_process_exec_record(event.tid, event.filename, event.tid, event.old_tid);
          break;
        case ProcessEvent::Kind::fork: {
          const helpers::TaskInfo child = tasks_.identity(event.child_tid);
          record = sched_process_fork_record(event.tid, comm, event.tid,
                                             child.valid ? child.comm : comm, event.child_tid);
          break;
        }
        default: {
          const int prio = current.task ? current.task->prio : 120;
          record = sched_process_exit_record(event.tid, comm, event.tid, prio, event.group_dead);
          break;
        }
      }
    }
    run(a, current, record.data(), record.size());
  }
  if (ran && after_event_) after_event_();
}

}  // namespace userbpf::hooks
