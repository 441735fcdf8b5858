#include "hooks/syscall_dispatcher.hpp"

#include <cstring>

#include "hooks/syscall_table.hpp"
#include "hooks/task_identity.hpp"

namespace userbpf::hooks {
namespace {

constexpr uint32_t kHeaderSize = 16;  // common fields (8) + __syscall_nr (4) + padding (4)

}  // namespace

size_t SyscallDispatcher::attach(const HookPoint& hook,
                                 std::unique_ptr<runtime::RunnableProgram> program) {
  attached_.push_back({hook, std::move(program), {}});
  return attached_.size() - 1;
}

SyscallInterest SyscallDispatcher::interest() const {
  SyscallInterest interest;
  for (const Attached& a : attached_) interest.add(a.hook);
  return interest;
}

// The host's record size and event id when tracefs tells them; otherwise the widest record
// (six arguments) and id 0.
const TracepointFormat& SyscallDispatcher::format_of(SyscallPhase phase, int nr) {
  const int64_t key = (static_cast<int64_t>(nr) << 1) | (phase == SyscallPhase::exit ? 1 : 0);
  auto it = formats_.find(key);
  if (it != formats_.end()) return it->second;
  const std::string name = std::string(phase == SyscallPhase::enter ? "sys_enter_" : "sys_exit_") +
                           std::string(syscall_name(nr));
  TracepointFormat format{0, phase == SyscallPhase::enter ? kHeaderSize + 6 * 8 : kHeaderSize + 8};
  if (auto host = read_syscall_tracepoint_format(name); host && host->size >= kHeaderSize) {
    format = *host;
  }
  return formats_.emplace(key, format).first->second;
}

std::vector<uint8_t> SyscallDispatcher::tracepoint_record(const SyscallEvent& event) {
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

void SyscallDispatcher::on_syscall(const SyscallEvent& event) {
  std::optional<helpers::TaskInfo> task;
  std::vector<uint8_t> record;
  uint64_t regs[kPtRegsSize / 8];
  static_assert(sizeof(user_regs_struct) >= kPtRegsSize);
  std::memcpy(regs, &event.regs, kPtRegsSize);
  uint64_t raw_args[2] = {reinterpret_cast<uint64_t>(regs), event.phase == SyscallPhase::enter
                                                                ? static_cast<uint64_t>(event.nr)
                                                                : static_cast<uint64_t>(event.ret)};
  bool ran = false;
  for (Attached& a : attached_) {
    if (!a.hook.matches(event.phase, event.nr)) continue;
    if (!task) {
      task = read_task_identity(event.tid);
      if (!task) {  // the thread is already gone: report what the event knows
        task = helpers::TaskInfo{true, event.tid, event.tgid ? event.tgid : event.tid, 0, 0, ""};
      }
    }
    helpers::ProgramEnv& env = a.program->env();
    env.task = *task;
    env.memory_pid = task->tgid;
    Result<runtime::RunnableProgram::RunOutput> out = make_error(Errc::invalid_argument, "");
    if (a.hook.raw) {
      const vm::Region ctx{reinterpret_cast<uint64_t>(raw_args), sizeof(raw_args), false, "ctx"};
      const vm::Region pt_regs{reinterpret_cast<uint64_t>(regs), sizeof(regs), false, "pt_regs"};
      out = a.program->run(reinterpret_cast<uint64_t>(raw_args), ctx, true, 1, {&pt_regs, 1});
    } else {
      if (record.empty()) record = tracepoint_record(event);
      const vm::Region ctx{reinterpret_cast<uint64_t>(record.data()), record.size(), false, "ctx"};
      out = a.program->run(reinterpret_cast<uint64_t>(record.data()), ctx, true);
    }
    ++a.stats.runs;
    ran = true;
    if (!out) {
      ++a.stats.failures;
      if (on_error_) on_error_(a.program->record(), out.error());
    }
  }
  if (ran && after_event_) after_event_();
}

}  // namespace userbpf::hooks
