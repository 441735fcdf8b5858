// The runtime's task model for a traced tree: one runtime::TaskModel (struct task_struct in the
// runtime BTF) and its cred per thread, in one fixed arena, so bpf_get_current_task can hand a
// program a pointer and BPF_CORE_READ(task, real_parent, tgid) follows real pointers. The table is
// also the per-thread identity cache behind get_current_pid_tgid/comm/uid_gid: a thread's /proc
// files are read once, when it is first seen (the command itself and the ancestors outside the
// tree); threads created in the tree inherit their parent's identity without any read, as fork
// does. The model is refreshed from /proc at exec and whenever the receiver knows the identity
// changed (prctl(PR_SET_NAME), the setuid family).
//
// Linux semantics kept: real_parent of a forked process is the forking thread, of a thread the
// forker's real_parent; group_leader; exit_signal (SIGCHLD or -1 for threads); PF_FORKNOEXEC
// until exec, PF_EXITING at exit; exit_code at exit; prio = 120 + nice; when a task goes its
// children are reparented (to a live thread of the same process, else to init); pid 1's
// real_parent is the idle task (pid 0, "swapper/0"), whose real_parent is itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "helpers/environment.hpp"
#include "hooks/task_identity.hpp"
#include "runtime/runtime_btf.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::hooks {

class TaskTable {
 public:
  explicit TaskTable(size_t capacity = 4096);

  // The model of thread `tid`, from /proc when it is not known yet; nullptr when the thread is
  // gone or the arena is full.
  runtime::TaskModel* task(pid_t tid);
  // What the identity helpers report for `tid` (valid = false when task(tid) is nullptr).
  helpers::TaskInfo identity(pid_t tid);

  void on_fork(pid_t parent, pid_t child, bool thread);
  void on_exec(pid_t tid, pid_t old_tid);
  void on_exit(pid_t tid, int exit_code);
  // The thread is gone: its children are reparented and its slot reused.
  void forget(pid_t tid);
  // Re-reads the thread's identity (comm, credentials, nice) from /proc.
  void refresh(pid_t tid);

  // The arena, for checked runs: programs may read any model through the pointers.
  vm::Region region() const;
  uint64_t proc_reads() const { return proc_reads_; }
  size_t live() const { return by_tid_.size(); }

 private:
  struct Slot {
    runtime::TaskModel task;
    runtime::CredModel cred;
    bool used = false;
    bool alive = false;   // forgotten leaders stay (as zombies) while their threads live
    bool pinned = false;  // ancestors outside the tree and the idle task: never reused
  };
  Slot* allocate();
  Slot* slot_of(const runtime::TaskModel* task);
  Slot* from_proc(pid_t tid, int depth);
  void fill_identity(Slot& s, const ProcTaskFacts& facts);
  void release(Slot& s);
  Slot* find_reaper(const Slot& dying);

  std::unique_ptr<Slot[]> slots_;
  size_t capacity_;
  std::vector<size_t> free_;
  std::unordered_map<pid_t, Slot*> by_tid_;
  Slot* idle_ = nullptr;
  uint64_t proc_reads_ = 0;
};

}  // namespace userbpf::hooks
